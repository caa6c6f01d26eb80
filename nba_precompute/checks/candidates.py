"""Candidates of an asset on D (PRECOMPUTE.md §7), re-derived from Phase 3 for audits.

The entity_accounting check compares rows + entity failures with the candidates. After a
materialization the feature function reports its own candidates; an audit of stored tables
derives them here, independently of the feature modules, from the rule text:

- psza: players with >= 1 played game (§2) this season before D;
- tdza: teams (defending_team_abbr) with >= 1 TDGS game this season before D;
- pdc, pcf, mlfs: the slate of D (UPCG players on D, features.slate.slate).

"This season before D" = season_year = s(D) and opener(s(D)) <= game_date < D. Dates outside
every season window (and, for the slate assets, dates without games) have no candidates.
"""

from __future__ import annotations

import datetime as dt
from typing import Callable

import numpy as np
import pandas as pd

from nba_precompute.checks.partition import slate_based
from nba_precompute.dependencies import slate_sizes as _slate_sizes
from nba_precompute.features.slate import slate
from nba_precompute.features.windows import played_games
from nba_precompute.phase3.contract import (
    PLAYER_GAME_SUMMARY as PGS,
    TEAM_DEFENSE_GAME_SUMMARY as TDGS,
    UPCOMING_PLAYER_GAME_CONTEXT as UPCG,
    Table,
)
from nba_precompute.season import SeasonCalendar, to_dates, to_datetime
from nba_precompute.declaration import HISTORY, ON_DATE
from nba_precompute.registry import DECLARATIONS, ENTITY_COLUMN

# What each asset's candidates are derived from (its declaration's `candidates`), and whether
# that table is read as history (this season before D) or on D (the slate).
CANDIDATE_INPUTS: dict[str, tuple[Table, str]] = {
    d.name: (d.candidates, ON_DATE if d.slate_based else HISTORY) for d in DECLARATIONS.values()
}

Reader = Callable[[Table, dt.date, dt.date], pd.DataFrame]


def candidates_for(asset: str, inputs: dict[str, pd.DataFrame], calendar: SeasonCalendar, dates) -> pd.DataFrame:
    """(analysis_date, ENTITY_COLUMN[asset]) of every candidate of `asset` on each date of `dates`,
    sorted. `inputs` maps table fqn to frame (as pipeline.read_inputs returns them); only the
    table of CANDIDATE_INPUTS[asset] is used."""
    entity = ENTITY_COLUMN[asset]
    dates = to_dates(dates)
    table, _ = CANDIDATE_INPUTS[asset]
    frame = inputs[table.fqn]
    if slate_based(asset):
        cal = calendar.frame(dates)
        game_dates = cal.loc[cal["is_game_date"], "analysis_date"]
        if not len(game_dates) or not len(frame):
            return _empty(entity)
        out = slate(frame, game_dates)[["analysis_date", "player_lookup"]]
        return _sorted(out, entity)
    if table is PGS:
        games = played_games(frame)[["player_lookup", "season_year", "game_date"]]
    else:
        games = frame[["defending_team_abbr", "season_year", "game_date"]].rename(
            columns={"defending_team_abbr": entity})
    return _history_candidates(games, entity, calendar, dates)


def _history_candidates(games: pd.DataFrame, entity: str, calendar: SeasonCalendar,
                        dates: pd.DatetimeIndex) -> pd.DataFrame:
    cal = calendar.frame(dates)
    cal = cal.loc[cal["in_season"], ["analysis_date", "season_year", "opener"]]
    if not len(cal) or not len(games):
        return _empty(entity)
    cal = cal.assign(season_year=cal["season_year"].astype("int64"))
    g = games[games[entity].notna() & games["season_year"].notna()].copy()
    g["game_date"] = to_datetime(g["game_date"]).dt.normalize()
    g["season_year"] = pd.to_numeric(g["season_year"]).astype("int64")
    openers = pd.DataFrame({"season_year": np.array([s.season_year for s in calendar.seasons], dtype="int64"),
                            "opener": [s.opener for s in calendar.seasons]})
    g = g.merge(openers, on="season_year", how="inner")
    g = g[g["game_date"] >= g["opener"]]
    first = g.groupby([entity, "season_year"], as_index=False)["game_date"].min()
    pairs = cal.merge(first, on="season_year", how="inner")
    pairs = pairs[pairs["game_date"] < pairs["analysis_date"]]
    return _sorted(pairs[["analysis_date", entity]], entity)


def slate_sizes_for(upcg: pd.DataFrame, dates) -> pd.Series:
    """N(D) per date (distinct UPCG players on D), the same count the dependency rules use."""
    dates = to_dates(dates)
    return pd.Series(_slate_sizes(upcg, dates), index=dates, dtype="float64")


def read_candidate_inputs(assets, calendar: SeasonCalendar, dates, read: Reader) -> dict[str, pd.DataFrame]:
    """Read, once, every table the candidates of `assets` need: history tables from the opener of
    the first date's season (or the first date) to the day before the last date, UPCG over the
    range. Keyed by table fqn."""
    dates = to_dates(dates)
    if not len(dates):
        return {}
    first, last = dates.min(), dates.max()
    season = calendar.season_of(first)
    history_start = (season.opener if season is not None else first).date()
    out: dict[str, pd.DataFrame] = {}
    for asset in assets:
        table, mode = CANDIDATE_INPUTS[asset]
        if table.fqn in out:
            continue
        if mode == HISTORY:
            out[table.fqn] = read(table, history_start, (last - pd.Timedelta(days=1)).date())
        else:
            out[table.fqn] = read(table, first.date(), last.date())
    return out


def _empty(entity: str) -> pd.DataFrame:
    return pd.DataFrame({"analysis_date": pd.Series(dtype="datetime64[ns]"), entity: pd.Series(dtype="object")})


def _sorted(frame: pd.DataFrame, entity: str) -> pd.DataFrame:
    out = frame.drop_duplicates().copy()
    out["analysis_date"] = to_datetime(out["analysis_date"]).dt.normalize().astype("datetime64[ns]")
    return out.sort_values(["analysis_date", entity], kind="mergesort").reset_index(drop=True)
