"""`nba-precompute load-phase3 DIR`: validate a folder of Phase 3 Parquet files, then load it.

Validation reads every file first and writes nothing unless all of them pass; the load then
replaces the folder's season window (first to last schedule date) of every table in one
transaction, so loading the same folder twice leaves the warehouse identical.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from nba_precompute.phase3.contract import (
    PHASE3_TABLES,
    PLAYER_GAME_SUMMARY,
    SCHEDULE,
    TEAM_DEFENSE_GAME_SUMMARY,
    TEAM_OFFENSE_GAME_SUMMARY,
    UPCOMING_PLAYER_GAME_CONTEXT,
    UPCOMING_TEAM_GAME_CONTEXT,
    Table,
    file_name,
)
from nba_precompute.warehouse import Warehouse

_ACCEPTS = {
    "STRING": lambda t: pa.types.is_string(t) or pa.types.is_large_string(t),
    "DATE": lambda t: pa.types.is_date(t),
    "INT64": lambda t: pa.types.is_integer(t),
    "FLOAT64": lambda t: pa.types.is_floating(t) or pa.types.is_integer(t),
    "BOOL": lambda t: pa.types.is_boolean(t),
    "TIMESTAMP": lambda t: pa.types.is_timestamp(t),
}


class Phase3ValidationError(ValueError):
    """A Phase 3 file breaks the contract; the message names the file, column and rows."""


# Value rules beyond types and keys (NULL always passes: nullable columns stay NULL).
# Minutes, points, makes, attempts and the other box-score counts can never be negative.
NON_NEGATIVE: dict[str, tuple[str, ...]] = {
    PLAYER_GAME_SUMMARY.fqn: (
        "minutes_played", "points", "fg_makes", "fg_attempts", "three_pt_makes", "three_pt_attempts",
        "ft_makes", "ft_attempts", "offensive_rebounds", "defensive_rebounds", "assists", "turnovers",
        "paint_makes", "paint_attempts", "mid_range_makes", "mid_range_attempts", "assisted_fg_makes",
        "unassisted_fg_makes",
    ),
    TEAM_OFFENSE_GAME_SUMMARY.fqn: ("points", "possessions"),
    TEAM_DEFENSE_GAME_SUMMARY.fqn: (
        "points_allowed", "opp_paint_makes", "opp_paint_attempts", "opp_mid_range_makes",
        "opp_mid_range_attempts", "opp_three_pt_makes", "opp_three_pt_attempts", "points_in_paint_allowed",
        "mid_range_points_allowed", "three_pt_points_allowed",
    ),
    UPCOMING_PLAYER_GAME_CONTEXT.fqn: (
        "days_rest", "games_in_last_7_days", "games_in_last_14_days", "minutes_in_last_7_days",
        "minutes_in_last_14_days", "avg_minutes_per_game_last_7", "back_to_backs_last_14_days",
    ),
    UPCOMING_TEAM_GAME_CONTEXT.fqn: ("days_rest",),
}
# (part, whole): makes never exceed attempts, and a part of the field goals never exceeds them.
NOT_ABOVE: dict[str, tuple[tuple[str, str], ...]] = {
    PLAYER_GAME_SUMMARY.fqn: (
        ("fg_makes", "fg_attempts"), ("three_pt_makes", "three_pt_attempts"), ("ft_makes", "ft_attempts"),
        ("paint_makes", "paint_attempts"), ("mid_range_makes", "mid_range_attempts"),
        ("three_pt_makes", "fg_makes"), ("three_pt_attempts", "fg_attempts"),
        ("assisted_fg_makes", "fg_makes"), ("unassisted_fg_makes", "fg_makes"),
    ),
    TEAM_DEFENSE_GAME_SUMMARY.fqn: (
        ("opp_paint_makes", "opp_paint_attempts"), ("opp_mid_range_makes", "opp_mid_range_attempts"),
        ("opp_three_pt_makes", "opp_three_pt_attempts"),
    ),
}
# Team codes must be teams of the schedule (home or away in some game).
TEAM_COLUMNS: dict[str, tuple[str, ...]] = {
    PLAYER_GAME_SUMMARY.fqn: ("team_abbr", "opponent_team_abbr"),
    TEAM_OFFENSE_GAME_SUMMARY.fqn: ("team_abbr", "opponent_team_abbr"),
    TEAM_DEFENSE_GAME_SUMMARY.fqn: ("defending_team_abbr", "opponent_team_abbr"),
    UPCOMING_PLAYER_GAME_CONTEXT.fqn: ("team_abbr", "opponent_team_abbr"),
    UPCOMING_TEAM_GAME_CONTEXT.fqn: ("team_abbr", "opponent_team_abbr"),
}


@dataclass(frozen=True)
class LoadedFolder:
    season_years: tuple[int, ...]
    start: dt.date
    end: dt.date
    frames: dict[Table, pd.DataFrame]

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame(
            [{"table": t.fqn, "rows": len(f), "first_date": f[t.date_column].min(),
              "last_date": f[t.date_column].max()} for t, f in self.frames.items()]
        )


def _rows_preview(frame: pd.DataFrame, mask, columns) -> str:
    bad = frame.loc[mask, list(columns)].head(3)
    return bad.to_string(index=True, max_colwidth=30)


def read_table(folder: Path, table: Table) -> pd.DataFrame:
    path = folder / file_name(table)
    if not path.is_file():
        raise Phase3ValidationError(f"{path}: missing file for table {table.fqn}")
    schema = pq.read_schema(path)
    missing = [c for c in table.column_names if c not in schema.names]
    if missing:
        raise Phase3ValidationError(f"{path.name}: missing column(s) {', '.join(missing)} of {table.fqn}")
    for column, logical in table.columns:
        arrow_type = schema.field(column).type
        if not (pa.types.is_null(arrow_type) or _ACCEPTS[logical](arrow_type)):
            raise Phase3ValidationError(
                f"{path.name}: column {column} has type {arrow_type}, the contract says {logical}"
            )
    frame = pq.read_table(path, columns=table.column_names).to_pandas()
    frame[table.date_column] = pd.to_datetime(frame[table.date_column]).dt.date
    return frame


def validate(frame: pd.DataFrame, table: Table, name: str, start: dt.date, end: dt.date,
             season_years: set[int], teams: set[str] | None = None) -> None:
    for column in table.not_null:
        nulls = frame[column].isna()
        if nulls.any():
            raise Phase3ValidationError(
                f"{name}: {int(nulls.sum())} NULL value(s) in key column {column}; first rows:\n"
                + _rows_preview(frame, nulls, table.key)
            )
    dups = frame.duplicated(list(table.key), keep=False)
    if dups.any():
        raise Phase3ValidationError(
            f"{name}: {int(dups.sum())} rows share a key ({', '.join(table.key)}); first rows:\n"
            + _rows_preview(frame, dups, table.key)
        )
    dates = frame[table.date_column]
    outside = (dates < start) | (dates > end)
    if outside.any():
        raise Phase3ValidationError(
            f"{name}: {int(outside.sum())} row(s) with {table.date_column} outside the season "
            f"{start}..{end} of the schedule; first rows:\n"
            + _rows_preview(frame, outside, [*table.key, table.date_column])
        )
    if "season_year" in frame.columns:
        wrong = ~frame["season_year"].isin(season_years)
        if wrong.any():
            raise Phase3ValidationError(
                f"{name}: season_year not in the schedule's {sorted(season_years)}; first rows:\n"
                + _rows_preview(frame, wrong, [*table.key, "season_year"])
            )
    _validate_values(frame, table, name, teams)


def _numbers(frame: pd.DataFrame, column: str):
    return pd.to_numeric(frame[column], errors="coerce")


def _validate_values(frame: pd.DataFrame, table: Table, name: str, teams: set[str] | None) -> None:
    """Negative counts or minutes, makes above attempts, team codes the schedule does not know."""
    for column in NON_NEGATIVE.get(table.fqn, ()):
        negative = (_numbers(frame, column) < 0).fillna(False).to_numpy(dtype=bool)
        if negative.any():
            raise Phase3ValidationError(
                f"{name}: {int(negative.sum())} negative value(s) in column {column}; first rows:\n"
                + _rows_preview(frame, negative, [*table.key, column])
            )
    for part, whole in NOT_ABOVE.get(table.fqn, ()):
        above = (_numbers(frame, part) > _numbers(frame, whole)).fillna(False).to_numpy(dtype=bool)
        if above.any():
            raise Phase3ValidationError(
                f"{name}: {int(above.sum())} row(s) with {part} greater than {whole}; first rows:\n"
                + _rows_preview(frame, above, [*table.key, part, whole])
            )
    if teams is None:
        return
    for column in TEAM_COLUMNS.get(table.fqn, ()):
        unknown = (frame[column].notna() & ~frame[column].isin(teams)).to_numpy(dtype=bool)
        if unknown.any():
            codes = sorted(set(frame.loc[unknown, column].astype(str)))
            raise Phase3ValidationError(
                f"{name}: {int(unknown.sum())} row(s) with a team code not in the schedule in column {column} "
                f"({', '.join(codes[:5])}{', ...' if len(codes) > 5 else ''}); first rows:\n"
                + _rows_preview(frame, unknown, [*dict.fromkeys([*table.key, column])])
            )


def read_folder(folder: str | Path) -> LoadedFolder:
    """Read and validate the six tables of a Phase 3 folder; raise Phase3ValidationError."""
    folder = Path(folder)
    if not folder.is_dir():
        raise Phase3ValidationError(f"{folder}: not a folder")
    frames = {t: read_table(folder, t) for t in PHASE3_TABLES}
    schedule = frames[SCHEDULE]
    if schedule.empty:
        raise Phase3ValidationError(f"{file_name(SCHEDULE)}: the schedule is empty")
    start, end = schedule["game_date"].min(), schedule["game_date"].max()
    season_years = set(int(s) for s in schedule["season_year"].unique())
    teams = set(schedule["home_team_abbr"].dropna()) | set(schedule["away_team_abbr"].dropna())
    for table, frame in frames.items():
        validate(frame, table, file_name(table), start, end, season_years, teams)
    return LoadedFolder(tuple(sorted(season_years)), start, end, frames)


def load_phase3(folder: str | Path, warehouse: Warehouse) -> LoadedFolder:
    """Validate, then replace the folder's season window of every Phase 3 table."""
    loaded = read_folder(folder)
    warehouse.replace_date_range(loaded.frames, loaded.start, loaded.end)
    return loaded
