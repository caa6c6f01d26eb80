"""psza — player shot zone analysis (PRECOMPUTE.md §7.1). Pure pandas, no Dagster.

`compute_psza(pgs, calendar, dates)` computes every given analysis date at once: the
(analysis_date, player) candidate pairs are built with merges, and every window aggregate
comes from `GameIndex` prefix sums, so a range equals the concatenation of its single dates.

Decisions where the spec leaves room (also listed in the module docstring of team_defense):

- Dates outside every season window yield no candidates (the asset layer never passes them).
- "This season before D" also requires game_date >= opener(s): PGS rows of season s dated
  before its opener (none in the real data) are ignored.
- calculation_notes name the zones `paint`, `mid_range`, `three_pt` (the column prefixes),
  in that order, e.g. `paint zone data unavailable; mid_range zone data unavailable`.
- paint_rate_last_20 follows the full rate rule over L20 (Att over L20 NULL or 0, or the three
  unrounded L20 rates not summing to 100 ± 0.01 → NULL), then NULL if n20 < 15.
- assisted / unassisted rates: window sums (NULL unless non-NULL in every game) over L10,
  NULL when Σfg_makes is 0.
- universal_player_id: most recent non-NULL value among the season's played games before D
  (not limited to L10).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from nba_precompute import failures as fl
from nba_precompute.features.numeric import finite_or_nan, round_half_away, safe_ratio
from nba_precompute.features.result import FeatureResult
from nba_precompute.features.windows import GameIndex, Windows, played_games
from nba_precompute.season import SeasonCalendar, to_dates, to_datetime
from nba_precompute.settings import SETTINGS, ZONES, Settings
from nba_precompute.declaration import HISTORY, AssetDeclaration
from nba_precompute.dependencies import LOOKBACK, Rule, const, entities_with_history
from nba_precompute.phase3.contract import PLAYER_GAME_SUMMARY as PGS, Table
from nba_precompute.tables import PSZA

PROCESSOR = "psza"
ENTITY = "player_lookup"


# --- shared helpers (also used by team_defense) --------------------------------------------------
def season_candidate_windows(
    games: pd.DataFrame,
    entity: str,
    calendar: SeasonCalendar,
    dates,
    min_games,
) -> tuple[pd.DataFrame, Windows]:
    """Candidate (analysis_date, entity) pairs and their windows, for many dates at once.

    games: one row per entity game (already filtered to games that count), with `entity`,
    game_id, game_date, season_year. A candidate for D has >= 1 game with season_year = s(D)
    and opener(s(D)) <= game_date < D. The windows index is keyed by (entity, season_year), so
    k = the entity's games this season before D.

    min_games: a function days_since_opener -> minimum games (applied once per distinct day
    number, not per entity). Returns pairs with analysis_date, entity, season_year, days,
    min_games, sorted by (analysis_date, entity), and the located Windows (same order)."""
    cal = calendar.frame(to_dates(dates))
    cal = cal[cal["in_season"]].copy()
    cal["season_year"] = cal["season_year"].astype("int64")
    cal["days"] = cal["days"].astype("int64")
    day_values = pd.unique(cal["days"])
    minimum = dict(zip(day_values, (int(min_games(int(d))) for d in day_values)))
    cal["min_games"] = cal["days"].map(minimum).astype("int64")
    cal = cal[["analysis_date", "season_year", "days", "min_games"]]

    g = games.copy()
    g["game_date"] = to_datetime(g["game_date"]).dt.normalize()
    g = g[g["season_year"].notna() & g[entity].notna()]
    g["season_year"] = g["season_year"].astype("int64")
    openers = pd.DataFrame(
        {
            "season_year": [s.season_year for s in calendar.seasons],
            "_opener": [s.opener for s in calendar.seasons],
        }
    )
    openers["season_year"] = openers["season_year"].astype("int64")
    g = g.merge(openers, on="season_year", how="inner")
    g = g[g["game_date"] >= g["_opener"]].drop(columns="_opener")

    first = g.groupby([entity, "season_year"], as_index=False, sort=False)["game_date"].min()
    first = first.rename(columns={"game_date": "_first"})
    pairs = cal.merge(first, on="season_year", how="inner")
    pairs = pairs[pairs["_first"] < pairs["analysis_date"]].drop(columns="_first")
    pairs = pairs.sort_values(["analysis_date", entity], kind="mergesort").reset_index(drop=True)

    index = GameIndex(g, [entity, "season_year"])
    windows = index.locate(pairs)
    return pairs, windows


def insufficient_failures(processor: str, pairs: pd.DataFrame, entity: str, actual, need) -> pd.DataFrame:
    """INSUFFICIENT_DATA entity failures for `pairs` (reason templated once per distinct count pair)."""
    actual = np.asarray(actual, dtype=np.int64)
    need = np.asarray(need, dtype=np.int64)
    if len(pairs) == 0:
        return fl.empty_failures()
    pairs_of_counts = list(zip(actual.tolist(), need.tolist()))
    texts = {c: fl.insufficient_games_reason(*c) for c in set(pairs_of_counts)}
    reasons = [texts[c] for c in pairs_of_counts]
    return fl.failure_frame(
        processor_name=processor,
        analysis_date=list(pairs["analysis_date"]),
        entity_id=list(pairs[entity]),
        category=fl.Category.INSUFFICIENT_DATA,
        reason=reasons,
        expected_game_count=[int(x) for x in need],
        actual_game_count=[int(x) for x in actual],
    )


def stored(values, decimals: int) -> np.ndarray:
    """The storage step: NaN/Inf -> NULL, then round half away from zero."""
    return round_half_away(finite_or_nan(values), decimals)


def tiers(n: np.ndarray, bounds: Sequence[tuple[int, str]], otherwise: str) -> np.ndarray:
    """First label whose lower bound n reaches (bounds in descending order)."""
    conditions = [n >= b for b, _ in bounds]
    return np.select(conditions, [label for _, label in bounds], default=otherwise).astype(object)


def join_notes(parts: Sequence[tuple[np.ndarray, str]], n: int) -> np.ndarray:
    """`; `-joined texts whose mask is set, in the given order; None when no text applies."""
    out = np.full(n, "", dtype=object)
    for mask, text in parts:
        mask = np.asarray(mask, dtype=bool)
        empty = out == ""
        out = np.where(mask & empty, text, np.where(mask, out + "; " + text, out))
    return np.where(out == "", None, out).astype(object)


def string_column(values) -> pd.Series:
    s = pd.Series(values, dtype="object")
    return s.where(s.notna(), None)


# --- psza ----------------------------------------------------------------------------------------
def compute_psza(
    pgs: pd.DataFrame, calendar: SeasonCalendar, dates, settings: Settings = SETTINGS
) -> FeatureResult:
    """psza rows, INSUFFICIENT_DATA failures and candidates for every date of `dates`."""
    games = played_games(pgs)
    pairs, w = season_candidate_windows(games, ENTITY, calendar, dates, settings.psza_min_games)
    candidates = pairs[["analysis_date", ENTITY]].reset_index(drop=True)

    G = w.games_before()
    need = pairs["min_games"].to_numpy()
    ok = G >= need
    failures = insufficient_failures(PROCESSOR, pairs[~ok], ENTITY, G[~ok], need[~ok])
    failures = failures.sort_values(["analysis_date", "entity_id"], kind="mergesort").reset_index(drop=True)

    W10, W20 = settings.psza_sample_window, settings.psza_trend_window
    n10 = np.minimum(G, W10)
    n20 = np.minimum(G, W20)

    def zone_sums(n: int):
        att = {z: w.sum(f"{z}_attempts", n=n) for z in ZONES}
        mk = {z: w.sum(f"{z}_makes", n=n) for z in ZONES}
        return att, mk

    def zone_rates(att: dict) -> dict:
        total = att["paint"] + att["mid_range"] + att["three_pt"]  # NaN if any term is NULL
        rates = {z: 100.0 * safe_ratio(att[z], total) for z in ZONES}
        rate_sum = rates["paint"] + rates["mid_range"] + rates["three_pt"]
        valid = np.isfinite(rate_sum) & (np.abs(rate_sum - 100.0) <= settings.zone_rate_sum_tolerance + 1e-9)
        return {z: np.where(valid, rates[z], np.nan) for z in ZONES}, total

    att10, mk10 = zone_sums(W10)
    rates10, total10 = zone_rates(att10)
    att20, mk20 = zone_sums(W20)
    rates20, _ = zone_rates(att20)
    trend_ok = n20 >= settings.psza_trend_min_games

    pct10 = {z: safe_ratio(mk10[z], att10[z]) for z in ZONES}
    per_game = {z: safe_ratio(att10[z], n10) for z in ZONES}
    fg_makes = w.sum("fg_makes", n=W10)
    assisted = 100.0 * safe_ratio(w.sum("assisted_fg_makes", n=W10), fg_makes)
    unassisted = 100.0 * safe_ratio(w.sum("unassisted_fg_makes", n=W10), fg_makes)

    # primary zone from the unrounded L10 rates (the three are NULL together)
    th = settings.primary_zone_thresholds
    has_rates = np.isfinite(rates10["paint"])
    primary = np.select(
        [
            ~has_rates,
            rates10["paint"] >= th["paint"],
            rates10["three_pt"] >= th["perimeter"],
            rates10["mid_range"] >= th["mid_range"],
        ],
        [None, "paint", "perimeter", "mid_range"],
        default="balanced",
    ).astype(object)

    total_shots = np.where(np.isfinite(total10) & (total10 != 0), total10, np.nan)  # NULL if 0

    notes = join_notes([(np.isnan(att10[z]), f"{z} zone data unavailable") for z in ZONES], len(pairs))

    upid = w.last_value("universal_player_id", non_null=True)

    cols = {
        "analysis_date": pairs["analysis_date"].to_numpy(),
        ENTITY: pairs[ENTITY].to_numpy(),
        "universal_player_id": upid.to_numpy(),
        "games_in_sample_10": n10,
        "games_in_sample_20": n20,
        "sample_quality_10": _sample_quality(n10, W10),
        "sample_quality_20": _sample_quality(n20, W20),
        "paint_rate_last_10": stored(rates10["paint"], 2),
        "mid_range_rate_last_10": stored(rates10["mid_range"], 2),
        "three_pt_rate_last_10": stored(rates10["three_pt"], 2),
        "total_shots_last_10": total_shots,
        "paint_pct_last_10": stored(pct10["paint"], 3),
        "mid_range_pct_last_10": stored(pct10["mid_range"], 3),
        "three_pt_pct_last_10": stored(pct10["three_pt"], 3),
        "paint_attempts_per_game": stored(per_game["paint"], 1),
        "mid_range_attempts_per_game": stored(per_game["mid_range"], 1),
        "three_pt_attempts_per_game": stored(per_game["three_pt"], 1),
        "paint_rate_last_20": stored(np.where(trend_ok, rates20["paint"], np.nan), 2),
        "paint_pct_last_20": stored(np.where(trend_ok, safe_ratio(mk20["paint"], att20["paint"]), np.nan), 3),
        "assisted_rate_last_10": stored(assisted, 2),
        "unassisted_rate_last_10": stored(unassisted, 2),
        "primary_scoring_zone": primary,
        "data_quality_tier": tiers(n10, [(10, "high"), (7, "medium")], "low"),
        "early_season_flag": need < W10,
        "calculation_notes": notes,
    }
    rows = assemble(PSZA, cols, ints=_INT_COLUMNS, bools=_BOOL_COLUMNS, strings=_STRING_COLUMNS)
    rows = rows[ok].reset_index(drop=True)
    return FeatureResult(rows=rows, failures=failures, candidates=candidates, extras=None)


def _sample_quality(n: np.ndarray, window: int) -> np.ndarray:
    # n >= W excellent; n >= floor(0.7 W) good; n >= floor(0.5 W) limited; else insufficient
    bounds = [(window, "excellent"), ((7 * window) // 10, "good"), (window // 2, "limited")]
    return tiers(n, bounds, "insufficient")


_INT_COLUMNS = ("games_in_sample_10", "games_in_sample_20", "total_shots_last_10")
_BOOL_COLUMNS = ("early_season_flag",)
_STRING_COLUMNS = (
    ENTITY, "universal_player_id", "sample_quality_10", "sample_quality_20",
    "primary_scoring_zone", "data_quality_tier", "calculation_notes",
)


def assemble(table: Table, cols: dict, *, ints=(), bools=(), strings=()) -> pd.DataFrame:
    """The output frame: exactly the columns of `table` but created_at, in order, with the storage dtypes
    (datetime64[ns] date, Int64, boolean, object strings with None, float64 with NaN)."""
    out = {}
    columns = [c for c in table.column_names if c != "created_at"]
    for name in columns:
        v = cols[name]
        if name == "analysis_date":
            out[name] = pd.Series(np.asarray(v, dtype="datetime64[ns]"), dtype="datetime64[ns]")
        elif name in ints:
            out[name] = pd.Series(pd.array(np.asarray(v, dtype="float64"), dtype="Int64"))
        elif name in bools:
            out[name] = pd.Series(pd.array(np.asarray(v, dtype=bool), dtype="boolean"))
        elif name in strings:
            out[name] = string_column(list(v))
        else:
            out[name] = pd.Series(np.asarray(v, dtype="float64"), dtype="float64")
    return pd.DataFrame(out)[columns]


# --- the declaration ----------------------------------------------------------------------------
def _compute(inputs, calendar, dates):
    return compute_psza(inputs[PGS.fqn], calendar, dates)


DECLARATION = AssetDeclaration(
    name=PROCESSOR,
    table=PSZA,
    entity=ENTITY,
    reads={PGS: HISTORY},
    slate_based=False,
    compute=_compute,
    rules=(
        Rule(1, PGS, LOOKBACK, "players with >= m_p(D) played games",
             entities_with_history(PGS.fqn, ENTITY, Settings.psza_min_games), const("dep_psza_history_players")),
    ),
    checks=("zone_rates_sum",),
    candidates=PGS,
    description="Each player's shot mix and accuracy by zone over his last 10 and 20 played games before D.",
)
