"""pdc — player daily cache (PRECOMPUTE.md §7.3). Pure pandas, vectorised over analysis dates.

Per slate player on D: scoring, minutes, usage and efficiency over the player's played games this
season before D (H = the most recent <= 82; L5 / L10 = its 5 / 10 most recent), the team's pace
and offensive rating over its 10 most recent TOGS games this season before D, the UPCG context
of D and a few columns copied from the player's psza row of D.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nba_precompute.failures import Category, failure_frame, insufficient_played_reason, stale_reason
from nba_precompute.features.numeric import round_half_away, safe_ratio
from nba_precompute.features.result import FeatureResult
from nba_precompute.features.slate import (
    conform,
    last_game_day,
    merge_exists,
    phase4_on,
    season_index,
    slate_inputs,
    sort_failures,
    with_season,
)
from nba_precompute.features.windows import played_games
from nba_precompute.season import SeasonCalendar
from nba_precompute.settings import SETTINGS, Settings
from nba_precompute.declaration import HISTORY, ON_DATE, AssetDeclaration
from nba_precompute.dependencies import (
    DATE_MATCH, LOOKBACK, Rule, const, distinct_on_date, players_per_team, rows_on_date, slate_players_with_games,
    slate_ratio, teams_on_date_with_games, teams_ratio,
)
from nba_precompute.phase3.contract import (
    PLAYER_GAME_SUMMARY as PGS,
    TEAM_OFFENSE_GAME_SUMMARY as TOGS,
    UPCOMING_PLAYER_GAME_CONTEXT as UPCG,
)
from nba_precompute.tables import PDC, PSZA

ASSET = "pdc"
PSZA_COLUMNS = ["universal_player_id", "primary_scoring_zone", "paint_rate_last_10", "three_pt_rate_last_10"]
COPIED_FROM_UPCG = [
    "games_in_last_7_days", "games_in_last_14_days", "back_to_backs_last_14_days", "player_age",
    "minutes_in_last_7_days", "minutes_in_last_14_days", "avg_minutes_per_game_last_7",
]
AGGREGATE_DP = 4  # "Computed aggregates are rounded to 4 dp"; copied columns are stored as read


def compute_pdc(
    pgs: pd.DataFrame,
    togs: pd.DataFrame,
    upcg: pd.DataFrame,
    psza_rows: pd.DataFrame | None,
    calendar: SeasonCalendar,
    dates,
    settings: Settings = SETTINGS,
) -> FeatureResult:
    s = settings
    candidates, u, missing = slate_inputs(upcg, dates, ASSET)

    u = with_season(u, calendar)
    u = merge_exists(u, phase4_on(psza_rows, dates, "player_lookup", PSZA_COLUMNS, "p_"),
                     ["analysis_date", "player_lookup"], ["analysis_date", "player_lookup"], "p_")

    # H: the player's most recent <= 82 played games this season before D.
    w = season_index(played_games(pgs), "player_lookup", calendar).locate(u)
    H = s.pdc_max_season_games
    n_h = w.count(H)
    since_last = w.qdays - last_game_day(w)  # days from the last game in H to D

    insufficient = n_h < s.pdc_absolute_min_games
    stale = ~insufficient & (since_last > s.pdc_stale_days)
    ok = ~insufficient & ~stale

    fail_insufficient = failure_frame(
        processor_name=ASSET,
        analysis_date=list(u["analysis_date"][insufficient]),
        entity_id=list(u["player_lookup"][insufficient]),
        category=Category.INSUFFICIENT_DATA,
        reason=[insufficient_played_reason(int(n), s.pdc_absolute_min_games) for n in n_h[insufficient]],
        expected_game_count=s.pdc_absolute_min_games,
        actual_game_count=[int(n) for n in n_h[insufficient]],
    )
    fail_stale = failure_frame(
        processor_name=ASSET,
        analysis_date=list(u["analysis_date"][stale]),
        entity_id=list(u["player_lookup"][stale]),
        category=Category.STALE_DATA,
        reason=[stale_reason(int(d), s.pdc_stale_days) for d in since_last[stale]],
        actual_game_count=[int(n) for n in n_h[stale]],
    )

    # Team pace / offensive rating: the team's 10 most recent TOGS games this season before D.
    tw = season_index(togs, "team_abbr", calendar).locate(u)

    early = n_h < s.early_season_games
    reasons = {int(n): insufficient_played_reason(int(n), s.early_season_games) for n in np.unique(n_h[early])}
    early_reason = pd.Series(np.where(early, n_h, -1)).map(reasons).to_numpy(dtype=object)

    def agg(values) -> np.ndarray:
        return round_half_away(values, AGGREGATE_DP)

    out = pd.DataFrame(
        {
            "analysis_date": u["analysis_date"],
            "cache_date": u["analysis_date"],
            "player_lookup": u["player_lookup"],
            "universal_player_id": u["p_universal_player_id"],
            "game_id": u["game_id"],
            "team_abbr": u["team_abbr"],
            "opponent_team_abbr": u["opponent_team_abbr"],
            "points_avg_last_5": agg(w.mean("points", 5)),
            "points_avg_last_10": agg(w.mean("points", 10)),
            "points_avg_season": agg(w.mean("points", H)),
            "points_std_last_10": agg(w.std("points", 10)),
            "minutes_avg_last_10": agg(w.mean("minutes_played", 10)),
            "usage_rate_last_10": agg(w.mean("usage_rate", 10)),
            "ts_pct_last_10": agg(w.mean("ts_pct", 10)),
            "games_played_season": n_h,
            "player_usage_rate_season": agg(w.mean("usage_rate", H)),
            # percent: 100 * window sums (NULL unless non-NULL in every game of L10)
            "assisted_rate_last_10": agg(
                100.0 * safe_ratio(w.sum("assisted_fg_makes", 10), w.sum("fg_makes", 10))
            ),
            "team_pace_last_10": agg(tw.mean("pace", s.team_window)),
            "team_off_rating_last_10": agg(tw.mean("offensive_rating", s.team_window)),
            **{c: u[c] for c in COPIED_FROM_UPCG},
            "primary_scoring_zone": u["p_primary_scoring_zone"],
            "paint_rate_last_10": u["p_paint_rate_last_10"],
            "three_pt_rate_last_10": u["p_three_pt_rate_last_10"],
            "shot_zone_data_available": u["p_exists"],
            "early_season_flag": early,
            "insufficient_data_reason": early_reason,
        }
    )
    rows = conform(PDC, out[ok])
    return FeatureResult(rows, sort_failures(missing, fail_insufficient, fail_stale), candidates)


# --- the declaration ----------------------------------------------------------------------------
def _compute(inputs, calendar, dates):
    return compute_pdc(inputs[PGS.fqn], inputs[TOGS.fqn], inputs[UPCG.fqn], inputs[PSZA.fqn], calendar, dates)


DECLARATION = AssetDeclaration(
    name=ASSET,
    table=PDC,
    entity="player_lookup",
    reads={PGS: HISTORY, TOGS: HISTORY, UPCG: ON_DATE, PSZA: ON_DATE},
    slate_based=True,
    compute=_compute,
    rules=(
        Rule(3, PGS, LOOKBACK, "slate players with >= 3 played games",
             slate_players_with_games("pdc_absolute_min_games"), slate_ratio("dep_ratio_pdc")),
        Rule(4, TOGS, LOOKBACK, "teams playing on D with >= 1 game", teams_on_date_with_games, teams_ratio),
        Rule(5, UPCG, DATE_MATCH, "distinct players", distinct_on_date(UPCG.fqn, "player_lookup"), players_per_team),
        Rule(6, PSZA, DATE_MATCH, "rows", rows_on_date(PSZA.fqn), const("dep_psza_min_for_pdc_pcf")),
    ),
    candidates=UPCG,
    description="Per slate player: rolling points, minutes, usage and efficiency, team pace and rating, and the day's context.",
)
