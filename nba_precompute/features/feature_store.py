"""mlfs — ML feature store (PRECOMPUTE.md §7.5). Pure pandas, vectorised over analysis dates.

Per slate player on D: 25 float features, each from the first available source of its chain
(phase4 -> phase3 -> default; nullable features -> missing; calculated features always
calculated), a per-row quality score and tier, and the JSON of the sources.

Inputs per player: pdc row c, pcf row f, psza row p (player on D), tdza row t (opponent on D),
UPCG row u; L = the player's <= 10 most recent played games dated in [D - 60, D) (any season);
S = played games this season before D; TG = TOGS games of u.team_abbr this season before D.

Decisions where the spec is silent:
- Features are stored unrounded except f21 / f24 (9 dp); phase4 values are copied as read.
- f21 falls back to 0.15 also when Σft_makes over L is NULL (a NULL ft_makes in a played game),
  since a calculated feature has no NULL.
- f10: a player_status outside the spec's list counts as available (0).
- f24 counts rows whose win_flag is TRUE (a NULL win_flag is not a win) over all TG rows.
- data_source: "≥ 90 % of the 16" means ≥ 14.4, i.e. ≥ 15 phase4 features; "≥ 50 %" means ≥ 8.
- Implausible inputs are never gold (issue 13): a row with a feature outside its §8 value range
  (thresholds.yaml), or built from a Phase 3 game outside the PHASE3.md §Integrity 6 bounds
  (phase3/integrity.yaml) in L, S or TG, has its feature_quality_score capped at
  IMPLAUSIBLE_SCORE_CAP (49, tier critical), like a row of >= 5 defaults.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from nba_precompute.features.numeric import as_float, round_half_away, safe_ratio
from nba_precompute.features.result import FeatureResult
from nba_precompute.features.slate import (
    conform,
    game_identity,
    merge_exists,
    phase4_on,
    range_guard,
    season_index,
    slate_inputs,
    sort_failures,
    with_season,
)
from nba_precompute.features.windows import GameIndex, played_games
from nba_precompute.phase3.contract import PLAYER_GAME_SUMMARY, TEAM_OFFENSE_GAME_SUMMARY
from nba_precompute.phase3.integrity import Bounds, implausible_rows, load_bounds
from nba_precompute.season import SeasonCalendar
from nba_precompute.settings import SETTINGS, Settings
from nba_precompute.declaration import HISTORY, ON_DATE, AssetDeclaration
from nba_precompute.dependencies import DATE_MATCH, Rule, const, distinct_on_date, players_per_team, rows_on_date, slate_ratio
from nba_precompute.phase3.contract import (
    PLAYER_GAME_SUMMARY as PGS,
    TEAM_OFFENSE_GAME_SUMMARY as TOGS,
    UPCOMING_PLAYER_GAME_CONTEXT as UPCG,
)
from nba_precompute.tables import FEATURE_NAMES, MLFS, PCF, PDC, PSZA, TDZA

ASSET = "mlfs"

# Source labels, as small codes in the (rows x 25) source matrix.
PHASE4, PHASE3, CALCULATED, DEFAULT, MISSING = 0, 1, 2, 3, 4
LABELS = np.array(["phase4", "phase3", "calculated", "default", "missing"], dtype=object)
WEIGHTS = np.array([100.0, 87.0, 100.0, 40.0, 40.0])
PHASE4_PRIMARY = (0, 1, 2, 3, 4, 5, 6, 7, 8, 13, 14, 18, 19, 20, 22, 23)
IMPLAUSIBLE_SCORE_CAP = 49.0
INJURY_RISK = {"available": 0.0, "probable": 1.0, "questionable": 2.0, "doubtful": 3.0, "out": 3.0}

PDC_COLUMNS = [
    "points_avg_last_5", "points_avg_last_10", "points_avg_season", "points_std_last_10",
    "games_in_last_7_days", "minutes_avg_last_10", "team_pace_last_10", "team_off_rating_last_10",
]
PCF_COLUMNS = ["fatigue_score", "shot_zone_mismatch_score", "pace_score", "usage_spike_score"]
PSZA_COLUMNS = [
    "universal_player_id", "paint_rate_last_10", "mid_range_rate_last_10", "three_pt_rate_last_10",
]
TDZA_COLUMNS = ["defensive_rating_last_15", "opponent_pace"]


def source_chain(phase4=None, default=None, phase3=None, phase3_ok=None, n: int | None = None):
    """(values, source codes) of a feature: phase4 when non-NULL and finite, else phase3 where
    `phase3_ok` holds (and the value is finite), else `default` (None: NULL, source missing)."""
    size = n if phase4 is None else len(phase4)
    values = np.full(size, np.nan)
    codes = np.full(size, MISSING if default is None else DEFAULT, dtype=np.int8)
    if default is not None:
        values[:] = default
    if phase3 is not None:
        v3 = as_float(phase3)
        ok3 = np.asarray(phase3_ok, dtype=bool) & np.isfinite(v3)
        values = np.where(ok3, v3, values)
        codes = np.where(ok3, PHASE3, codes)
    if phase4 is not None:
        v4 = as_float(phase4)
        ok4 = np.isfinite(v4)
        values = np.where(ok4, v4, values)
        codes = np.where(ok4, PHASE4, codes)
    return values, codes.astype(np.int8)


def quality_tier(score) -> np.ndarray:
    """gold >= 95, silver >= 85, bronze >= 70, poor >= 50, else critical."""
    score = np.asarray(score, dtype=float)
    return np.select(
        [score >= 95, score >= 85, score >= 70, score >= 50], ["gold", "silver", "bronze", "poor"], "critical"
    ).astype(object)


def data_source_of(codes: np.ndarray) -> np.ndarray:
    """Over the 16 Phase-4-primary features: phase4 if >= 90 % are phase4, else phase4_partial if
    >= 50 % phase4, else phase3 if >= 50 % phase3, else mixed."""
    primary = codes[:, list(PHASE4_PRIMARY)]
    k = len(PHASE4_PRIMARY)
    n4 = (primary == PHASE4).sum(axis=1)
    n3 = (primary == PHASE3).sum(axis=1)
    return np.select(
        [n4 >= 0.9 * k, n4 >= 0.5 * k, n3 >= 0.5 * k], ["phase4", "phase4_partial", "phase3"], "mixed"
    ).astype(object)


def quality(codes: np.ndarray, implausible: np.ndarray | None = None
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(feature_quality_score 2 dp, quality_tier, data_source, default_feature_count) of a
    (rows x 25) source-code matrix. The score is Σ weights / 25, capped at 49 with >= 5 default
    or missing features or an `implausible` row, else at 69 with >= 1."""
    defaults = ((codes == DEFAULT) | (codes == MISSING)).sum(axis=1)
    score = WEIGHTS[codes].sum(axis=1) / codes.shape[1] if codes.shape[0] else np.zeros(0)
    cap = np.select([defaults >= 5, defaults >= 1], [49.0, 69.0], np.inf)
    if implausible is not None:
        cap = np.where(implausible, np.minimum(cap, IMPLAUSIBLE_SCORE_CAP), cap)
    score = np.minimum(score, cap)
    score = round_half_away(score, 2)
    return score, quality_tier(score), data_source_of(codes), defaults


def _sources_json(codes: np.ndarray) -> list[str]:
    cache: dict[bytes, str] = {}
    out = []
    for row in codes:
        key = row.tobytes()
        if key not in cache:
            cache[key] = json.dumps({str(i): LABELS[c] for i, c in enumerate(row)}, sort_keys=False)
        out.append(cache[key])
    return out


def _bucket(x: np.ndarray, hi2: float, hi1: float) -> np.ndarray:
    """x >= hi2 -> 2, >= hi1 -> 1, <= -hi2 -> -2, <= -hi1 -> -1, else 0 (NaN -> 0)."""
    return np.select([x >= hi2, x >= hi1, x <= -hi2, x <= -hi1], [2.0, 1.0, -2.0, -1.0], 0.0)


def compute_mlfs(
    pdc_rows: pd.DataFrame | None,
    pcf_rows: pd.DataFrame | None,
    psza_rows: pd.DataFrame | None,
    tdza_rows: pd.DataFrame | None,
    pgs: pd.DataFrame,
    upcg: pd.DataFrame,
    togs: pd.DataFrame,
    calendar: SeasonCalendar,
    dates,
    settings: Settings = SETTINGS,
    input_bounds: Bounds | None = None,
    feature_ranges: dict | None = None,
) -> FeatureResult:
    """`input_bounds`: the Phase 3 plausibility bounds (default: phase3/integrity.yaml and its
    override); `feature_ranges`: column -> ValueRange of the mlfs value_ranges check (default:
    the checks configuration)."""
    s = settings
    candidates, u, missing = slate_inputs(upcg, dates, ASSET)
    input_bounds = load_bounds() if input_bounds is None else input_bounds
    if feature_ranges is None:
        from nba_precompute.checks.config import load_config

        feature_ranges = load_config(settings=settings).value_ranges.ranges_for(ASSET)

    key = ["analysis_date", "player_lookup"]
    u = merge_exists(u, phase4_on(pdc_rows, dates, "player_lookup", PDC_COLUMNS, "c_"), key, key, "c_")
    u = merge_exists(u, phase4_on(pcf_rows, dates, "player_lookup", PCF_COLUMNS, "f_"), key, key, "f_")
    u = merge_exists(u, phase4_on(psza_rows, dates, "player_lookup", PSZA_COLUMNS, "p_"), key, key, "p_")
    u = merge_exists(u, phase4_on(tdza_rows, dates, "team_abbr", TDZA_COLUMNS, "t_"),
                     ["analysis_date", "opponent_team_abbr"], ["analysis_date", "team_abbr"], "t_")
    u = with_season(u, calendar)
    n = len(u)

    played = played_games(pgs)
    played = played.assign(_implausible=implausible_rows(played, PLAYER_GAME_SUMMARY, input_bounds).astype(float))
    togs = togs.assign(_implausible=implausible_rows(togs, TEAM_OFFENSE_GAME_SUMMARY, input_bounds).astype(float))
    # L: <= 10 most recent played games in [D - 60, D), any season.
    wl = GameIndex(played, "player_lookup").locate(u)
    recent, days = s.mlfs_recent_games, s.mlfs_recent_days
    n_l = wl.count(recent, since_days=days)
    # S: played games this season before D; TG: the team's TOGS games this season before D.
    ws = season_index(played, "player_lookup", calendar).locate(u)
    n_s = ws.count()
    wt = season_index(togs, "team_abbr", calendar).locate(u)
    n_tg = wt.count()

    features: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    calc = np.full(n, CALCULATED, dtype=np.int8)
    p3 = np.full(n, PHASE3, dtype=np.int8)

    # 0-4: recent scoring and load
    features[0] = source_chain(u["c_points_avg_last_5"], 10.0,
                               wl.mean("points", 5, since_days=days), n_l >= 5)
    features[1] = source_chain(u["c_points_avg_last_10"], 10.0,
                               wl.mean("points", recent, since_days=days), n_l >= 1)
    features[2] = source_chain(u["c_points_avg_season"], 10.0, ws.mean("points"), n_s >= 1)
    features[3] = source_chain(u["c_points_std_last_10"], 5.0)
    features[4] = source_chain(u["c_games_in_last_7_days"], 3.0,
                               u["games_in_last_7_days"], u["games_in_last_7_days"].notna().to_numpy())
    # 5-8: composite factors
    features[5] = source_chain(u["f_fatigue_score"], 50.0)
    features[6] = source_chain(u["f_shot_zone_mismatch_score"], 0.0)
    features[7] = source_chain(u["f_pace_score"], 0.0)
    features[8] = source_chain(u["f_usage_spike_score"], 0.0)

    # 9: rest advantage
    rest = as_float(u["days_rest"]) - as_float(u["opponent_days_rest"])
    features[9] = (np.where(np.isnan(rest), 0.0, np.clip(rest, -2.0, 2.0)), calc)
    # 10: injury risk
    features[10] = (u["player_status"].map(INJURY_RISK).fillna(0.0).to_numpy(dtype=float), calc)
    # 11: recent trend: mean of L[1..2] - mean of L[3..5] (most recent first)
    last2 = wl.sum("points", 2, since_days=days)
    last5 = wl.sum("points", 5, since_days=days)
    with np.errstate(invalid="ignore"):
        x = last2 / 2.0 - (last5 - last2) / 3.0
    features[11] = (np.where(n_l >= 5, _bucket(np.nan_to_num(x, nan=0.0), 5.0, 2.0), 0.0), calc)
    # 12: minutes change: recent (pdc, else mean minutes of L) vs mean minutes of S
    recent_min = np.where(u["c_exists"].to_numpy(), as_float(u["c_minutes_avg_last_10"]),
                          wl.mean("minutes_played", recent, since_days=days))
    base_min = ws.mean("minutes_played")
    q = safe_ratio(recent_min - base_min, base_min)
    q = np.where(np.isnan(recent_min) | (recent_min == 0), np.nan, q)
    features[12] = (_bucket(np.nan_to_num(q, nan=0.0), 0.20, 0.10), calc)

    # 13-14: opponent defense
    features[13] = source_chain(u["t_defensive_rating_last_15"], 112.0)
    features[14] = source_chain(u["t_opponent_pace"], 100.0)
    # 15-17: game context, always phase3
    features[15] = (_flag01(u["home_game"]), p3)
    features[16] = (_flag01(u["back_to_back"]), p3)
    features[17] = ((u["season_phase"].astype("object") == "playoffs").to_numpy(dtype=float), p3)
    # 18-20: shot mix, fractions (psza rates are percent)
    features[18] = source_chain(as_float(u["p_paint_rate_last_10"]) / 100.0)
    features[19] = source_chain(as_float(u["p_mid_range_rate_last_10"]) / 100.0)
    features[20] = source_chain(as_float(u["p_three_pt_rate_last_10"]) / 100.0)
    # 21: free-throw share of points over L
    ft_share = np.clip(safe_ratio(wl.sum("ft_makes", recent, since_days=days),
                                  wl.sum("points", recent, since_days=days)), 0.0, 0.5)
    f21 = np.where((n_l < 5) | np.isnan(ft_share), 0.15, ft_share)
    features[21] = (round_half_away(f21, 9), calc)
    # 22-23: team pace and offense
    features[22] = source_chain(u["c_team_pace_last_10"], 100.0)
    features[23] = source_chain(u["c_team_off_rating_last_10"], 112.0)
    # 24: team win pct over TG
    wins = wt.sum("win_flag", strict=False)
    f24 = np.where(n_tg < s.mlfs_min_team_games, 0.5, safe_ratio(wins, n_tg))
    features[24] = (round_half_away(f24, 9), calc)

    codes = np.column_stack([features[i][1] for i in range(25)]) if n else np.zeros((0, 25), dtype=np.int8)
    # never gold from implausible data: a feature outside its range, or an implausible input game
    implausible = (wl.sum("_implausible", recent, since_days=days, strict=False) > 0) | (
        ws.sum("_implausible", strict=False) > 0) | (wt.sum("_implausible", strict=False) > 0)
    for i, name in enumerate(FEATURE_NAMES):
        if name in feature_ranges:
            implausible |= feature_ranges[name].violations(features[i][0])
    score, tier, data_source, defaults = quality(codes, implausible)

    out = pd.DataFrame(
        {
            **game_identity(u),
            **{name: features[i][0] for i, name in enumerate(FEATURE_NAMES)},
            "feature_quality_score": score,
            "quality_tier": tier,
            "data_source": data_source,
            "default_feature_count": defaults,
            "feature_sources": _sources_json(codes),
            "early_season_flag": n_s < s.early_season_games,
        }
    )
    rows, invalid = range_guard(conform(MLFS, out), FEATURE_NAMES[5], 0, 100, ASSET)
    return FeatureResult(rows, sort_failures(missing, invalid), candidates)


def _flag01(values) -> np.ndarray:
    """A nullable BOOL as 0.0 / 1.0, NULL -> 0."""
    return pd.Series(values, dtype="object").astype("boolean").fillna(False).to_numpy(dtype=float)


# --- the declaration ----------------------------------------------------------------------------
def _compute(inputs, calendar, dates):
    return compute_mlfs(
        inputs[PDC.fqn], inputs[PCF.fqn], inputs[PSZA.fqn], inputs[TDZA.fqn],
        inputs[PGS.fqn], inputs[UPCG.fqn], inputs[TOGS.fqn], calendar, dates,
    )


DECLARATION = AssetDeclaration(
    name=ASSET,
    table=MLFS,
    entity="player_lookup",
    reads={PDC: ON_DATE, PCF: ON_DATE, PSZA: ON_DATE, TDZA: ON_DATE, PGS: HISTORY, UPCG: ON_DATE, TOGS: HISTORY},
    slate_based=True,
    compute=_compute,
    rules=(
        Rule(11, UPCG, DATE_MATCH, "distinct players", distinct_on_date(UPCG.fqn, "player_lookup"), players_per_team),
        Rule(12, PDC, DATE_MATCH, "rows", rows_on_date(PDC.fqn), slate_ratio("dep_ratio_pdc")),
        Rule(13, PCF, DATE_MATCH, "rows", rows_on_date(PCF.fqn), slate_ratio("dep_ratio")),
        Rule(14, PSZA, DATE_MATCH, "rows", rows_on_date(PSZA.fqn), const("dep_psza_min_for_mlfs")),
        Rule(15, TDZA, DATE_MATCH, "rows", rows_on_date(TDZA.fqn), const("dep_tdza_min_rows")),
    ),
    checks=("non_constant_features",),
    candidates=UPCG,
    description="The 25-feature vector per slate player-game, with each feature's source and a quality score and tier.",
)
