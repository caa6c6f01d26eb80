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

from nba_precompute.phase3.contract import PHASE3_TABLES, SCHEDULE, Table, file_name
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
             season_years: set[int]) -> None:
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
    for table, frame in frames.items():
        validate(frame, table, file_name(table), start, end, season_years)
    return LoadedFolder(tuple(sorted(season_years)), start, end, frames)


def load_phase3(folder: str | Path, warehouse: Warehouse) -> LoadedFolder:
    """Validate, then replace the folder's season window of every Phase 3 table."""
    loaded = read_folder(folder)
    warehouse.replace_date_range(loaded.frames, loaded.start, loaded.end)
    return loaded
