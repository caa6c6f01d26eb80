"""The slate of a game date, and what the three slate assets (pdc, pcf, mlfs) share.

PRECOMPUTE.md §2: the slate of D is the UPCG rows with game_date = D, one per player (the latest
processed_at). pdc, pcf and mlfs all start from it, reject the same rows for missing context
(MISSING_DATA), read Phase 4 producers at analysis_date = D, window Phase 3 games "this season
before D", and cast their rows to the output table types. Each of those rules lives here, once.

Everything is vectorised over many analysis dates: a range of dates is one frame of
(analysis_date, player) rows.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from nba_precompute.failures import (
    Category,
    empty_failures,
    failure_frame,
    missing_data_reason,
    validation_reason,
)
from nba_precompute.features.numeric import as_float, finite_or_nan
from nba_precompute.features.windows import GameIndex
from nba_precompute.season import SeasonCalendar, to_dates, to_datetime
from nba_precompute.phase3.contract import Table

KEY = ["analysis_date", "player_lookup"]
NO_SEASON = -1  # season_year of an off-season date in the season-keyed game indexes


# --- dates ------------------------------------------------------------------------------------
def analysis_dates(dates) -> pd.DatetimeIndex:
    """Dates (str, date, Timestamp, datetime64) as a sorted, unique, midnight datetime64[ns] index."""
    return to_dates(dates).as_unit("ns")


def as_dates(values) -> pd.Series:
    """A date column (datetime.date objects or datetime64 of any unit) as midnight datetime64[ns]."""
    s = to_datetime(pd.Series(values))
    if getattr(s.dt, "tz", None) is not None:
        s = s.dt.tz_localize(None)
    return s.dt.normalize().astype("datetime64[ns]")


def _days(values) -> np.ndarray:
    """Midnight datetimes as int64 days since the epoch (as season.day_numbers, without re-parsing)."""
    return np.asarray(pd.DatetimeIndex(values).to_numpy(dtype="datetime64[D]")).astype(np.int64)


# --- slate and team context -------------------------------------------------------------------
def _latest(frame: pd.DataFrame, dates, key: str) -> pd.DataFrame:
    """Rows of `frame` with game_date in dates, one per (game_date, key): the latest processed_at
    (a NULL processed_at counts as oldest; exact ties keep the later input row)."""
    wanted = analysis_dates(dates)
    f = frame.copy()
    f["game_date"] = as_dates(f["game_date"]).to_numpy()
    f = f[f["game_date"].isin(wanted)]
    order = ["game_date", key] + (["processed_at"] if "processed_at" in f.columns else [])
    f = f.sort_values(order, kind="mergesort", na_position="first")
    f = f.drop_duplicates(["game_date", key], keep="last")
    f.insert(0, "analysis_date", f["game_date"])
    return f.sort_values(["analysis_date", key], kind="mergesort").reset_index(drop=True)


def slate(upcg: pd.DataFrame, dates) -> pd.DataFrame:
    """The slate of every date in `dates`: the UPCG rows with game_date = D, one per
    (game_date, player_lookup) with the latest processed_at, plus analysis_date = game_date.
    Sorted by (analysis_date, player_lookup)."""
    return _latest(upcg, dates, "player_lookup")


def latest_team_context(utgc: pd.DataFrame, dates) -> pd.DataFrame:
    """UTGC rows with game_date in dates, one per (game_date, team_abbr) (latest processed_at),
    plus analysis_date = game_date. Sorted by (analysis_date, team_abbr)."""
    return _latest(utgc, dates, "team_abbr")


def candidates_of(slate_rows: pd.DataFrame) -> pd.DataFrame:
    """(analysis_date, player_lookup) of every slate player: what a slate asset accounts for."""
    return slate_rows[KEY].reset_index(drop=True)


def split_missing_context(slate_rows: pd.DataFrame, processor: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Slate rows with team_abbr and opponent_team_abbr, and a MISSING_DATA failure for each other
    row. The reason names the first NULL field (team_abbr before opponent_team_abbr)."""
    team_null = slate_rows["team_abbr"].isna().to_numpy()
    opp_null = slate_rows["opponent_team_abbr"].isna().to_numpy()
    bad = team_null | opp_null
    fields = np.where(team_null, "team_abbr", "opponent_team_abbr")[bad]
    failures = failure_frame(
        processor_name=processor,
        analysis_date=list(slate_rows["analysis_date"][bad]),
        entity_id=list(slate_rows["player_lookup"][bad]),
        category=Category.MISSING_DATA,
        reason=[missing_data_reason(f) for f in fields],
    )
    return slate_rows[~bad].reset_index(drop=True), failures


# --- Phase 4 producers at analysis_date = D ----------------------------------------------------
def phase4_on(
    rows: pd.DataFrame | None, dates, key: str, columns: Sequence[str], prefix: str
) -> pd.DataFrame:
    """A producer's rows for the dates, one per (analysis_date, key), reduced to `columns`
    renamed `<prefix><column>`, plus `<prefix>exists` = True (for left merges).

    `rows` may be None or empty (no producer rows): the result is then empty, with the columns."""
    out_cols = ["analysis_date", key] + [prefix + c for c in columns] + [prefix + "exists"]
    if rows is None or len(rows) == 0:
        empty = pd.DataFrame({c: pd.Series(dtype="object") for c in out_cols})
        empty["analysis_date"] = pd.Series(dtype="datetime64[ns]")
        for c in columns:
            if rows is not None and c in rows.columns and rows[c].dtype != object:
                empty[prefix + c] = pd.Series(dtype=rows[c].dtype)
        return empty
    f = rows[["analysis_date", key] + list(columns)].copy()
    f["analysis_date"] = as_dates(f["analysis_date"]).to_numpy()
    f = f[f["analysis_date"].isin(analysis_dates(dates))]
    f = f.drop_duplicates(["analysis_date", key], keep="last")
    f = f.rename(columns={c: prefix + c for c in columns})
    f[prefix + "exists"] = True
    return f.reset_index(drop=True)


def slate_inputs(upcg: pd.DataFrame, dates, processor: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """What every slate asset starts from: its candidates (every slate player), the usable slate
    rows, and a MISSING_DATA failure for each row without team context."""
    rows = slate(upcg, dates)
    usable, missing = split_missing_context(rows, processor)
    return candidates_of(rows), usable, missing


def game_identity(u: pd.DataFrame) -> dict[str, pd.Series]:
    """The leading columns of pcf and mlfs rows: keys, game_date (= analysis_date) and game context."""
    return {
        "analysis_date": u["analysis_date"],
        "game_date": u["analysis_date"],
        "player_lookup": u["player_lookup"],
        "universal_player_id": u["p_universal_player_id"],
        "game_id": u["game_id"],
        "team_abbr": u["team_abbr"],
        "opponent_team_abbr": u["opponent_team_abbr"],
    }


def merge_exists(left: pd.DataFrame, right: pd.DataFrame, left_on: list[str], right_on: list[str],
                 prefix: str) -> pd.DataFrame:
    """Left-merge a `phase4_on` frame (or any prefixed frame with `<prefix>exists`); the row order
    of `left` is kept and `<prefix>exists` is a plain bool."""
    extra = [c for c in right.columns if c not in right_on]
    r = right[right_on + extra].rename(columns=dict(zip(right_on, left_on)))
    merged = left.merge(r, how="left", on=left_on, validate="many_to_one")
    merged[prefix + "exists"] = merged[prefix + "exists"].astype("boolean").fillna(False).astype(bool)
    return merged


# --- "this season before D" --------------------------------------------------------------------
def with_season(
    frame: pd.DataFrame, calendar: SeasonCalendar, date_column: str = "analysis_date"
) -> pd.DataFrame:
    """`frame` plus season_year = s(D) as int64 (NO_SEASON off-season), for season-keyed windows."""
    cal = calendar.frame(frame[date_column].unique())[["analysis_date", "season_year"]]
    season = dict(zip(cal["analysis_date"], cal["season_year"].fillna(NO_SEASON).astype("int64")))
    out = frame.copy()
    out["season_year"] = out[date_column].map(season).fillna(NO_SEASON).astype("int64").to_numpy()
    return out


def season_index(games: pd.DataFrame, entity: str, calendar: SeasonCalendar) -> GameIndex:
    """Games keyed by (entity, season_year), keeping only games on or after their season's opener,
    so a window located at (entity, s(D), D) holds exactly the games "this season before D"
    (season_year = s(D) and opener(s(D)) <= game_date < D)."""
    g = games.copy()
    g["game_date"] = as_dates(g["game_date"]).to_numpy()
    opener_day = {s.season_year: int(_days([s.opener])[0]) for s in calendar.seasons}
    season = pd.Series(pd.to_numeric(g["season_year"], errors="coerce").to_numpy(dtype=float))
    opens = season.map(opener_day).to_numpy(dtype=float)  # NaN: a season the calendar does not know
    keep = ~np.isnan(opens) & (_days(g["game_date"]) >= np.nan_to_num(opens, nan=np.inf))
    g = g[keep].copy()
    g["season_year"] = season[keep].astype("int64").to_numpy()
    return GameIndex(g, [entity, "season_year"])


def last_game_day(windows) -> np.ndarray:
    """Day number (days since the epoch) of the most recent game before D; -1 if none."""
    days = windows.index.days
    if len(days) == 0:
        return np.full(len(windows.k), -1, dtype=np.int64)
    pos = np.clip(windows.start + windows.k - 1, 0, len(days) - 1)
    return np.where(windows.k >= 1, days[pos], -1)


# --- validation and output typing --------------------------------------------------------------
def range_guard(rows: pd.DataFrame, column: str, low, high, processor: str,
                entity: str = "player_lookup") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows whose `column` lies in [low, high] (a NULL passes), and a VALIDATION_ERROR failure for
    every other row (which is dropped)."""
    values = as_float(rows[column])
    bad = ~np.isnan(values) & ((values < low) | (values > high))
    if not bad.any():
        return rows, empty_failures()
    shown = [int(v) if float(v).is_integer() else float(v) for v in values[bad]]
    failures = failure_frame(
        processor_name=processor,
        analysis_date=list(rows["analysis_date"][bad]),
        entity_id=list(rows[entity][bad]),
        category=Category.VALIDATION_ERROR,
        reason=[validation_reason(column, v, low, high) for v in shown],
    )
    return rows[~bad].reset_index(drop=True), failures


def conform(table: Table, frame: pd.DataFrame, entity: str = "player_lookup") -> pd.DataFrame:
    """Exactly the columns of `table` but created_at, typed (DATE datetime64[ns], INT64 Int64, FLOAT64 float64 with
    NaN for NULL/NaN/Inf, BOOL boolean, STRING object with None), sorted by (analysis_date, entity)."""
    types = table.types
    n = len(frame)
    out = {}
    for col in (c for c in table.column_names if c != "created_at"):
        typ = types[col]
        if col in frame.columns:
            v = frame[col].reset_index(drop=True)
        else:
            v = pd.Series([None] * n, dtype="object")
        if typ == "DATE":
            out[col] = as_dates(v)
        elif typ == "INT64":
            out[col] = pd.Series(np.round(as_float(v)), dtype="float64").astype("Int64")
        elif typ == "FLOAT64":
            out[col] = pd.Series(finite_or_nan(as_float(v)), dtype="float64")
        elif typ == "BOOL":
            o = v.astype("object")
            out[col] = o.where(o.notna(), None).astype("boolean")
        else:
            o = v.astype("object")
            out[col] = o.where(o.notna(), None)
    result = pd.DataFrame(out)
    key = ["analysis_date", entity]
    return result.sort_values(key, kind="mergesort").reset_index(drop=True)


def sort_failures(*frames: pd.DataFrame) -> pd.DataFrame:
    """Concatenate failure frames, sorted by (analysis_date, entity_id)."""
    parts = [f for f in frames if f is not None and len(f)]
    if not parts:
        return empty_failures()
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["analysis_date", "entity_id"], kind="mergesort").reset_index(drop=True)
