"""tdza — team defense zone analysis (PRECOMPUTE.md §7.2). Pure pandas, no Dagster.

`compute_tdza(tdgs, calendar, dates)` computes every given analysis date at once: candidate
(analysis_date, team) pairs come from merges, L15 and the [D - 30, D) league-average windows
from `GameIndex` prefix sums, and the league means are one groupby over analysis_date.

Decisions where the spec leaves room:

- Zone names: output values of strongest_zone / weakest_zone are paint, mid_range, perimeter
  (as the spec says); calculation_notes name the zones paint, mid_range, three_pt (the column
  prefixes), in that order, e.g. `No mid_range attempts; three_pt zone data unavailable`.
- strongest / weakest compare the unrounded `*_defense_vs_league_avg`; values within 1e-9 pp
  of each other count as a tie (absorbing binary representation error, e.g. 0.68 − 0.58 vs
  0.51 − 0.41), and a tie goes to the first zone in the order paint, mid_range, perimeter.
- League averages: the qualifying teams are every team with >= 10 TDGS games of season s(D)
  dated in [D − 30, D) (whether or not the team gets a row on D); games dated before opener(s)
  are ignored. A team's zone fraction with 0 attempts (or a NULL sum) does not contribute.
- `extras`: one row per in-season analysis date given (sorted), with the unrounded league
  fraction per zone, whether it is the default, the contributing team count per zone, and the
  qualifying team count.
- Means (defensive_rating_last_15, opponent_pace) skip NULL values (SQL AVG); sums
  (points_allowed, zone columns) are window sums, NULL unless non-NULL in every game.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from nba_precompute.features.numeric import safe_ratio
from nba_precompute.features.result import FeatureResult
from nba_precompute.features.shot_zones import (
    assemble,
    insufficient_failures,
    join_notes,
    season_candidate_windows,
    stored,
    tiers,
)
from nba_precompute.features.windows import Windows
from nba_precompute.season import SeasonCalendar, to_dates
from nba_precompute.settings import SETTINGS, ZONES, Settings
from nba_precompute.declaration import HISTORY, AssetDeclaration
from nba_precompute.dependencies import LOOKBACK, Rule, const, entities_with_history
from nba_precompute.phase3.contract import TEAM_DEFENSE_GAME_SUMMARY as TDGS
from nba_precompute.tables import TDZA

PROCESSOR = "tdza"
ENTITY = "team_abbr"
# output zone label of each zone for strongest_zone / weakest_zone
ZONE_LABELS = {"paint": "paint", "mid_range": "mid_range", "three_pt": "perimeter"}
TIE_EPSILON = 1e-9  # percentage points

_INT_COLUMNS = ("games_in_sample",)
_BOOL_COLUMNS = ("early_season_flag",)
_STRING_COLUMNS = (ENTITY, "strongest_zone", "weakest_zone", "data_quality_tier", "calculation_notes")

EXTRAS_COLUMNS = (
    ["analysis_date"]
    + [f"league_{z}" for z in ZONES]
    + [f"league_{z}_is_default" for z in ZONES]
    + [f"league_{z}_teams" for z in ZONES]
    + ["qualifying_teams"]
)


def compute_tdza(
    tdgs: pd.DataFrame, calendar: SeasonCalendar, dates, settings: Settings = SETTINGS
) -> FeatureResult:
    """tdza rows, INSUFFICIENT_DATA failures, candidates and per-date league averages."""
    games = tdgs.rename(columns={"defending_team_abbr": ENTITY})
    pairs, w = season_candidate_windows(games, ENTITY, calendar, dates, settings.tdza_min_games)
    candidates = pairs[["analysis_date", ENTITY]].reset_index(drop=True)

    window = settings.tdza_window
    g = w.count(n=window)
    need = pairs["min_games"].to_numpy()
    ok = g >= need
    failures = insufficient_failures(PROCESSOR, pairs[~ok], ENTITY, g[~ok], need[~ok])
    failures = failures.sort_values(["analysis_date", "entity_id"], kind="mergesort").reset_index(drop=True)

    extras = _league_averages(pairs, w, calendar, dates, settings)
    league = pairs[["analysis_date"]].merge(extras, on="analysis_date", how="left")

    att = {z: w.sum(f"opp_{z}_attempts", n=window) for z in ZONES}
    mk = {z: w.sum(f"opp_{z}_makes", n=window) for z in ZONES}
    pct = {z: safe_ratio(mk[z], att[z]) for z in ZONES}
    vs = {z: (pct[z] - league[f"league_{z}"].to_numpy()) * 100.0 for z in ZONES}
    per_game = {z: safe_ratio(att[z], g) for z in ZONES}

    strongest, weakest = _extreme_zones(vs)
    notes = join_notes(
        [
            part
            for z in ZONES
            for part in (
                (att[z] == 0, f"No {z} attempts"),
                (np.isnan(att[z]), f"{z} zone data unavailable"),
            )
        ],
        len(pairs),
    )

    cols = {
        "analysis_date": pairs["analysis_date"].to_numpy(),
        ENTITY: pairs[ENTITY].to_numpy(),
        "paint_pct_allowed_last_15": stored(pct["paint"], 3),
        "paint_attempts_allowed_per_game": stored(per_game["paint"], 1),
        "paint_points_allowed_per_game": stored(safe_ratio(w.sum("points_in_paint_allowed", n=window), g), 1),
        "paint_defense_vs_league_avg": stored(vs["paint"], 2),
        "mid_range_pct_allowed_last_15": stored(pct["mid_range"], 3),
        "mid_range_attempts_allowed_per_game": stored(per_game["mid_range"], 1),
        "mid_range_defense_vs_league_avg": stored(vs["mid_range"], 2),
        "three_pt_pct_allowed_last_15": stored(pct["three_pt"], 3),
        "three_pt_attempts_allowed_per_game": stored(per_game["three_pt"], 1),
        "three_pt_defense_vs_league_avg": stored(vs["three_pt"], 2),
        "defensive_rating_last_15": stored(w.mean("defensive_rating", n=window), 2),
        "opponent_points_per_game": stored(safe_ratio(w.sum("points_allowed", n=window), g), 1),
        "opponent_pace": stored(w.mean("opponent_pace", n=window), 1),
        "games_in_sample": g,
        "strongest_zone": strongest,
        "weakest_zone": weakest,
        "data_quality_tier": tiers(g, [(15, "high"), (10, "medium")], "low"),
        "early_season_flag": need < window,
        "calculation_notes": notes,
    }
    rows = assemble(TDZA, cols, ints=_INT_COLUMNS, bools=_BOOL_COLUMNS, strings=_STRING_COLUMNS)
    rows = rows[ok].reset_index(drop=True)
    return FeatureResult(rows=rows, failures=failures, candidates=candidates, extras=extras)


def _extreme_zones(vs: dict) -> tuple[np.ndarray, np.ndarray]:
    """Zone label with the lowest (strongest) / highest (weakest) unrounded vs-league value;
    NULL unless all three are non-NULL; near-ties (TIE_EPSILON) go to the first zone in order."""
    labels = np.array([ZONE_LABELS[z] for z in ZONES], dtype=object)
    n = len(vs[ZONES[0]])
    if n == 0:
        return np.array([], dtype=object), np.array([], dtype=object)
    values = np.column_stack([vs[z] for z in ZONES])
    complete = np.all(np.isfinite(values), axis=1)
    safe = np.where(np.isfinite(values), values, 0.0)
    # first column within epsilon of the min / max (argmax of a boolean returns the first True)
    lo = np.argmax(safe <= safe.min(axis=1, keepdims=True) + TIE_EPSILON, axis=1)
    hi = np.argmax(safe >= safe.max(axis=1, keepdims=True) - TIE_EPSILON, axis=1)
    strongest = np.where(complete, labels[lo], None).astype(object)
    weakest = np.where(complete, labels[hi], None).astype(object)
    return strongest, weakest


def _exact_mean(values: pd.Series) -> float:
    """Mean of the non-NULL values with a correctly rounded sum (math.fsum): independent of the
    order of the teams, so of how the dates were batched."""
    present = values.dropna()
    return math.fsum(present) / len(present) if len(present) else np.nan


def _league_averages(
    pairs: pd.DataFrame, w: Windows, calendar: SeasonCalendar, dates, settings: Settings
) -> pd.DataFrame:
    """One row per in-season analysis date: league fraction per zone over the qualifying teams
    (>= LEAGUE_AVG_MIN_TEAM_GAMES games of s(D) in [D - LEAGUE_AVG_DAYS, D)), or the default when
    fewer than LEAGUE_AVG_MIN_TEAMS teams contribute to the zone."""
    days = settings.league_avg_days
    n_recent = w.count(since_days=days)
    qualifies = n_recent >= settings.league_avg_min_team_games
    team = pd.DataFrame({"analysis_date": pairs["analysis_date"].to_numpy(), "q": qualifies})
    for z in ZONES:
        makes = w.sum(f"opp_{z}_makes", since_days=days)
        frac = safe_ratio(makes, w.sum(f"opp_{z}_attempts", since_days=days))
        team[z] = np.where(qualifies, frac, np.nan)
    by_date = team.groupby("analysis_date")
    agg = pd.DataFrame({"qualifying_teams": by_date["q"].sum()})
    for z in ZONES:
        agg[f"_mean_{z}"] = by_date[z].agg(_exact_mean)
        agg[f"league_{z}_teams"] = by_date[z].count()

    cal = calendar.frame(to_dates(dates))
    out = pd.DataFrame({"analysis_date": cal.loc[cal["in_season"], "analysis_date"].to_numpy()})
    out = out.merge(agg.reset_index(), on="analysis_date", how="left")
    for z in ZONES:
        teams = out[f"league_{z}_teams"].fillna(0).astype("int64")
        default = teams < settings.league_avg_min_teams
        out[f"league_{z}_teams"] = teams
        out[f"league_{z}_is_default"] = default
        out[f"league_{z}"] = np.where(default, settings.league_avg_defaults[z], out[f"_mean_{z}"])
    out["qualifying_teams"] = out["qualifying_teams"].fillna(0).astype("int64")
    out["analysis_date"] = out["analysis_date"].astype("datetime64[ns]")
    return out[EXTRAS_COLUMNS].sort_values("analysis_date").reset_index(drop=True)


# --- the declaration ----------------------------------------------------------------------------
def _compute(inputs, calendar, dates):
    return compute_tdza(inputs[TDGS.fqn], calendar, dates)


DECLARATION = AssetDeclaration(
    name=PROCESSOR,
    table=TDZA,
    entity=ENTITY,
    reads={TDGS: HISTORY},
    slate_based=False,
    compute=_compute,
    rules=(
        Rule(2, TDGS, LOOKBACK, "teams with >= m_t(D) games",
             entities_with_history(TDGS.fqn, "defending_team_abbr", Settings.tdza_min_games),
             const("dep_tdza_history_teams")),
    ),
    candidates=TDGS,
    description="Each team's defense by zone over its last 15 games before D, in percentage points against the league.",
)
