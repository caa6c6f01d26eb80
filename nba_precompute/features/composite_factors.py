"""pcf — player composite factors (PRECOMPUTE.md §7.4). Pure pandas, vectorised over analysis dates.

Per slate player on D: four factors from the UPCG row u, the player's psza row p, the opponent's
tdza row t and the team's UTGC row (context only), each with the spec's bracketed defaults
(`x[v]` = x, or v when x is NULL), their total, completeness, warnings and a JSON context.

Decisions where the spec is silent:
- The three float scores are stored at 1 dp and the total at 2 dp; the total is computed from the
  unrounded scores (§2 Rounding).
- mismatch_type and the EXTREME_MATCHUP / EXTREME_ADJUSTMENT warnings test and print the stored
  (rounded) scores, so a warning always agrees with the row it is attached to.
- factor_context.shot_zone.zone_used / player_zone_rate / opponent_defense_vs_league_avg are null
  unless both p and t exist (the mismatch is not computed otherwise); player_zone_rate and
  opponent_defense_vs_league_avg are the raw values before the [50] / [0] defaults.
- factor_context.pace.environment uses pace_differential[0] (NULL -> normal).
- missing_data_fields joins the absent items with ", ".
- data_completeness_pct = count / 5 (exact fifths: 0.6, not 0.6000000000000001).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from nba_precompute.features.numeric import as_float, round_half_away
from nba_precompute.features.result import FeatureResult
from nba_precompute.features.slate import (
    conform,
    game_identity,
    latest_team_context,
    merge_exists,
    phase4_on,
    range_guard,
    slate_inputs,
    sort_failures,
)
from nba_precompute.season import SeasonCalendar
from nba_precompute.settings import SETTINGS, Settings
from nba_precompute.declaration import ON_DATE, AssetDeclaration
from nba_precompute.dependencies import DATE_MATCH, Rule, const, distinct_on_date, players_per_team, rows_on_date, teams_ratio
from nba_precompute.phase3.contract import UPCOMING_PLAYER_GAME_CONTEXT as UPCG, UPCOMING_TEAM_GAME_CONTEXT as UTGC
from nba_precompute.tables import PCF, PSZA, TDZA

ASSET = "pcf"
PSZA_COLUMNS = [
    "universal_player_id", "primary_scoring_zone",
    "paint_rate_last_10", "mid_range_rate_last_10", "three_pt_rate_last_10",
]
TDZA_COLUMNS = [
    "paint_defense_vs_league_avg", "mid_range_defense_vs_league_avg", "three_pt_defense_vs_league_avg",
    "weakest_zone",
]
UTGC_COLUMNS = ["game_total", "game_spread"]
ZONES = ("paint", "mid_range", "perimeter")  # perimeter reads the three_pt_* columns
ZONE_COLUMN = {"paint": "paint", "mid_range": "mid_range", "perimeter": "three_pt"}
COMPLETENESS_ITEMS = (
    "days_rest", "projected_usage_rate", "pace_differential", "player_shot_zone", "opponent_team_defense",
)


def _fill(values, default) -> np.ndarray:
    """x[v]: the value, or `default` where NULL."""
    x = as_float(values)
    return np.where(np.isnan(x), default, x)


def _flag(values) -> np.ndarray:
    """A nullable BOOL as plain bool, NULL -> False."""
    return pd.Series(values, dtype="object").astype("boolean").fillna(False).to_numpy(dtype=bool)


# --- the four factors (numpy, one array per column) --------------------------------------------
def fatigue(u: pd.DataFrame) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """fatigue_score (int 0-100) and the points of each rule (0 where it did not fire)."""
    b2b = _flag(u["back_to_back"])
    days_rest = _fill(u["days_rest"], 1)
    g7 = _fill(u["games_in_last_7_days"], 3)
    m7 = _fill(u["minutes_in_last_7_days"], 200)
    avg7 = _fill(u["avg_minutes_per_game_last_7"], 30)
    b2b14 = _fill(u["back_to_backs_last_14_days"], 0)
    age = _fill(u["player_age"], 25)
    rules = {
        "back_to_back": np.where(b2b, -15, 0),
        "extended_rest": np.where(~b2b & (days_rest >= 3), 5, 0),
        "games_in_last_7_days": np.where(g7 >= 4, -10, 0),
        "minutes_in_last_7_days": np.where(m7 > 240, -10, 0),
        "avg_minutes_per_game_last_7": np.where(avg7 > 35, -8, 0),
        "back_to_backs_last_14_days": np.select([b2b14 >= 2, b2b14 == 1], [-12, -5], 0),
        "player_age": np.select([age >= 35, age >= 30], [-10, -5], 0),
    }
    score = np.clip(100 + sum(rules.values()), 0, 100).astype(np.int64)
    return score, rules


def zone_selection(primary_zone) -> np.ndarray:
    """p.primary_scoring_zone if paint, mid_range or perimeter; else (balanced, NULL) paint."""
    z = pd.Series(primary_zone, dtype="object")
    return np.where(z.isin(ZONES).to_numpy(), z.to_numpy(dtype=object), "paint")


def shot_zone_mismatch(both: np.ndarray, zone: np.ndarray, rates: dict, defense: dict) -> tuple:
    """(score, r raw, d raw). rates / defense map each zone to the raw p / t column values."""
    conds = [zone == z for z in ZONES]
    r_raw = np.select(conds, [as_float(rates[z]) for z in ZONES], np.nan)
    d_raw = np.select(conds, [as_float(defense[z]) for z in ZONES], np.nan)
    r = np.where(np.isnan(r_raw), 50.0, r_raw)
    d = np.where(np.isnan(d_raw), 0.0, d_raw)
    m = d * np.minimum(r / 50.0, 1.0)
    m = np.where(np.abs(m) > 5, m * 1.2, m)
    m = np.clip(m, -10.0, 10.0)
    return np.where(both, m, 0.0), r_raw, d_raw


def pace_factor(pace_differential) -> np.ndarray:
    return np.clip(_fill(pace_differential, 0) / 2.0, -3.0, 3.0)


def usage_spike(projected, baseline, star_teammates_out) -> np.ndarray:
    b = _fill(baseline, 25)
    proj = _fill(projected, 25)
    stars = _fill(star_teammates_out, 0)
    s = 0.3 * (proj - b)
    boost = np.select([(s > 0) & (stars >= 2), (s > 0) & (stars == 1)], [1.30, 1.15], 1.0)
    s = np.where(b == 0, 0.0, s * boost)
    return np.clip(s, -3.0, 3.0)


# --- text helpers (vectorised) ---------------------------------------------------------------
def _text(values) -> np.ndarray:
    """Numbers as text, element-wise: ints as 35, floats as their shortest repr (10.0, 12.75)."""
    return np.asarray(values).astype(str).astype(object)


def _join(items, sep: str, n: int) -> np.ndarray:
    """Per row, the texts of the (mask, text) items whose mask holds, joined by sep; None if none."""
    out = np.full(n, "", dtype=object)
    for mask, text in items:
        text = np.broadcast_to(np.asarray(text, dtype=object), (n,))
        out = np.where(mask, np.where(out == "", text, out + sep + text), out)
    return np.where(out == "", None, out)


# --- JSON helpers ------------------------------------------------------------------------------
def _py_float(values) -> list:
    return [None if v != v else v for v in as_float(values).tolist()]  # v != v: NaN


def _py_int(values) -> list:
    return [None if v != v else int(v) for v in as_float(values).tolist()]


def _py_bool(values) -> list:
    b = pd.Series(values, dtype="object").astype("boolean")
    return [None if v is pd.NA else bool(v) for v in b]


def _py_str(values) -> list:
    s = pd.Series(values, dtype="object")
    return [None if pd.isna(v) else str(v) for v in s]


def compute_pcf(
    upcg: pd.DataFrame,
    utgc: pd.DataFrame,
    psza_rows: pd.DataFrame | None,
    tdza_rows: pd.DataFrame | None,
    calendar: SeasonCalendar,
    dates,
    settings: Settings = SETTINGS,
) -> FeatureResult:
    """pcf rows, entity failures and candidates for every date of `dates`. `calendar` and
    `settings` are accepted for a uniform signature: pcf reads only rows dated D, and its factor
    rules are formulas of the spec, not configuration."""
    del calendar, settings
    candidates, u, missing = slate_inputs(upcg, dates, ASSET)

    key = ["analysis_date", "player_lookup"]
    u = merge_exists(u, phase4_on(psza_rows, dates, "player_lookup", PSZA_COLUMNS, "p_"), key, key, "p_")
    t = phase4_on(tdza_rows, dates, "team_abbr", TDZA_COLUMNS, "t_")
    u = merge_exists(u, t, ["analysis_date", "opponent_team_abbr"], ["analysis_date", "team_abbr"], "t_")
    g = latest_team_context(utgc, dates)[["analysis_date", "team_abbr"] + UTGC_COLUMNS]
    g = g.rename(columns={c: "g_" + c for c in UTGC_COLUMNS}).assign(g_exists=True)
    u = merge_exists(u, g, ["analysis_date", "team_abbr"], ["analysis_date", "team_abbr"], "g_")

    p_exists = u["p_exists"].to_numpy()
    t_exists = u["t_exists"].to_numpy()
    both = p_exists & t_exists

    fatigue_score, rules = fatigue(u)
    zone = zone_selection(u["p_primary_scoring_zone"])
    mismatch, r_raw, d_raw = shot_zone_mismatch(
        both, zone,
        {z: u[f"p_{ZONE_COLUMN[z]}_rate_last_10"] for z in ZONES},
        {z: u[f"t_{ZONE_COLUMN[z]}_defense_vs_league_avg"] for z in ZONES},
    )
    pace = pace_factor(u["pace_differential"])
    usage = usage_spike(u["projected_usage_rate"], u["avg_usage_rate_last_7_games"], u["star_teammates_out"])
    total = (fatigue_score - 100) / 20.0 + mismatch + pace + usage  # from unrounded scores

    mismatch_s = round_half_away(mismatch, 1)
    pace_s = round_half_away(pace, 1)
    usage_s = round_half_away(usage, 1)
    total_s = round_half_away(total, 2)

    # completeness
    present = [
        u["days_rest"].notna().to_numpy(),
        u["projected_usage_rate"].notna().to_numpy(),
        u["pace_differential"].notna().to_numpy(),
        p_exists,
        t_exists,
    ]
    completeness = np.sum(present, axis=0) / 5.0 if len(u) else np.zeros(0)
    missing_fields = _join([(~ok, name) for ok, name in zip(present, COMPLETENESS_ITEMS)], ", ", len(u))

    # warnings (on the stored values)
    warnings = _join(
        [
            (fatigue_score < 50, "EXTREME_FATIGUE: " + _text(fatigue_score)),
            (np.abs(mismatch_s) > 8, "EXTREME_MATCHUP: " + _text(mismatch_s)),
            (np.abs(total_s) > 12, "EXTREME_ADJUSTMENT: " + _text(total_s)),
        ],
        "; ", len(u),
    )

    # factor_context (JSON, keys in the spec's order; raw inputs before defaults, NULL -> null)
    mismatch_type = np.select([mismatch_s > 2, mismatch_s < -2], ["favorable", "unfavorable"], "neutral")
    pdiff = _fill(u["pace_differential"], 0)
    environment = np.select([pdiff > 2, pdiff < -2], ["fast", "slow"], "normal")
    proj_raw = as_float(u["projected_usage_rate"])
    base_raw = as_float(u["avg_usage_rate_last_7_games"])
    change = proj_raw - base_raw
    trend = np.where(np.isnan(change), None,
                     np.select([change > 2, change < -2], ["spike", "drop"], "stable").astype(object))
    rule_names = list(rules)
    rule_points = (
        np.column_stack([rules[r] for r in rule_names]) if len(u) else np.zeros((0, len(rules)), int)
    )
    adjustments = [[f"{name}: {int(pts):+d}" for name, pts in zip(rule_names, row) if pts != 0]
                   for row in rule_points]
    zone_used = np.where(both, zone, None)
    context = [
        json.dumps(
            {
                "fatigue": {
                    "back_to_back": b2b, "days_rest": dr, "games_in_last_7_days": g7,
                    "minutes_in_last_7_days": m7, "avg_minutes_per_game_last_7": a7,
                    "back_to_backs_last_14_days": b14, "player_age": age,
                    "adjustments": adj, "final_score": int(fs),
                },
                "shot_zone": {
                    "primary_scoring_zone": pz, "zone_used": zu,
                    "player_zone_rate": pr if ok else None,
                    "opponent_defense_vs_league_avg": od if ok else None,
                    "opponent_weakest_zone": wz, "mismatch_type": str(mt),
                },
                "pace": {
                    "pace_differential": pdf, "opponent_pace_last_10": opl,
                    "game_total": gt, "game_spread": gs, "environment": str(env),
                },
                "usage": {
                    "projected_usage_rate": pu, "avg_usage_rate_last_7_games": bu,
                    "star_teammates_out": st, "trend": tr,
                },
            },
            sort_keys=False,
        )
        for (b2b, dr, g7, m7, a7, b14, age, adj, fs, pz, zu, pr, od, ok, wz, mt, pdf, opl, gt, gs, env,
             pu, bu, st, tr) in zip(
            _py_bool(u["back_to_back"]), _py_int(u["days_rest"]), _py_int(u["games_in_last_7_days"]),
            _py_float(u["minutes_in_last_7_days"]), _py_float(u["avg_minutes_per_game_last_7"]),
            _py_int(u["back_to_backs_last_14_days"]), _py_int(u["player_age"]), adjustments, fatigue_score,
            _py_str(u["p_primary_scoring_zone"]), list(zone_used), _py_float(r_raw), _py_float(d_raw),
            both, _py_str(u["t_weakest_zone"]), mismatch_type,
            _py_float(u["pace_differential"]), _py_float(u["opponent_pace_last_10"]),
            _py_float(u["g_game_total"]), _py_float(u["g_game_spread"]), environment,
            _py_float(u["projected_usage_rate"]), _py_float(u["avg_usage_rate_last_7_games"]),
            _py_int(u["star_teammates_out"]), list(trend),
        )
    ]

    out = pd.DataFrame(
        {
            **game_identity(u),
            "fatigue_score": fatigue_score,
            "shot_zone_mismatch_score": mismatch_s,
            "pace_score": pace_s,
            "usage_spike_score": usage_s,
            "total_composite_adjustment": total_s,
            "data_completeness_pct": completeness,
            "missing_data_fields": missing_fields,
            "has_warnings": pd.notna(warnings),
            "warning_details": warnings,
            "factor_context": context,
        }
    )
    rows, invalid = range_guard(conform(PCF, out), "fatigue_score", 0, 100, ASSET)
    return FeatureResult(rows, sort_failures(missing, invalid), candidates)


# --- the declaration ----------------------------------------------------------------------------
def _compute(inputs, calendar, dates):
    return compute_pcf(inputs[UPCG.fqn], inputs[UTGC.fqn], inputs[PSZA.fqn], inputs[TDZA.fqn], calendar, dates)


DECLARATION = AssetDeclaration(
    name=ASSET,
    table=PCF,
    entity="player_lookup",
    reads={UPCG: ON_DATE, UTGC: ON_DATE, PSZA: ON_DATE, TDZA: ON_DATE},
    slate_based=True,
    compute=_compute,
    rules=(
        Rule(7, UPCG, DATE_MATCH, "distinct players", distinct_on_date(UPCG.fqn, "player_lookup"), players_per_team),
        Rule(8, UTGC, DATE_MATCH, "distinct teams", distinct_on_date(UTGC.fqn, "team_abbr"), teams_ratio),
        Rule(9, PSZA, DATE_MATCH, "rows", rows_on_date(PSZA.fqn), const("dep_psza_min_for_pdc_pcf")),
        Rule(10, TDZA, DATE_MATCH, "rows", rows_on_date(TDZA.fqn), const("dep_tdza_min_rows")),
    ),
    checks=("non_constant_features",),
    candidates=UPCG,
    description="Per slate player: fatigue, shot-zone mismatch, pace and usage-spike factors and their total adjustment.",
)
