"""`nba-precompute load-phase3 DIR`: check a folder of Phase 3 Parquet files against the
integrity contract (shared/spec/PHASE3.md §Integrity, rules in phase3/integrity.py), then load it.

Every file is read and every rule checked before anything is written; a folder that breaks any
rule is refused whole with the list of violations (one per file, column and rule). A load
replaces exactly the seasons its schedule declares (their 1 October - 30 June windows) in one
transaction, so loading a folder twice leaves the warehouse identical and a season already loaded
from another folder is never touched.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from nba_precompute.failures import error_cause
from nba_precompute.phase3.contract import PHASE3_BY_FQN, PHASE3_TABLES, SCHEDULE, Table, file_name
from nba_precompute.phase3.integrity import (
    Bounds,
    Violation,
    check_folder,
    load_bounds,
    season_window,
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
    """A Phase 3 folder breaks the contract. `violations` lists every violation found; the
    message is the first one (and how many more there are), on one line."""

    def __init__(self, violations: "list[Violation] | str"):
        self.violations = [violations] if isinstance(violations, str) else list(violations)
        first = str(self.violations[0])
        more = len(self.violations) - 1
        super().__init__(first + (f" (and {more} more violation(s); load-phase3 --report lists them all)"
                                  if more else ""))


@dataclass(frozen=True)
class LoadedFolder:
    season_years: tuple[int, ...]
    start: dt.date
    end: dt.date
    frames: dict[Table, pd.DataFrame]

    @property
    def windows(self) -> list[tuple[dt.date, dt.date]]:
        """The date windows this folder replaces: one per declared season."""
        return [season_window(y) for y in self.season_years]

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame(
            [{"table": t.fqn, "rows": len(f), "first_date": f[t.date_column].min(),
              "last_date": f[t.date_column].max()} for t, f in self.frames.items()]
        )


def read_table(folder: Path, table: Table) -> pd.DataFrame:
    """One table's file, with the contract's columns; a Phase3ValidationError naming the file
    when it is missing, unreadable, or lacks a column or has a wrong type."""
    path = folder / file_name(table)
    if not path.is_file():
        what = "a folder, not a file" if path.is_dir() else "missing file"
        raise Phase3ValidationError(f"{path}: {what} for table {table.fqn}")
    try:
        schema = pq.read_schema(path)
    except (pa.ArrowException, OSError) as exc:
        raise Phase3ValidationError(f"{path}: not a readable Parquet file ({error_cause(exc)})") from None
    missing = [c for c in table.column_names if c not in schema.names]
    if missing:
        raise Phase3ValidationError(f"{path.name}: missing column(s) {', '.join(missing)} of {table.fqn}")
    for column, logical in table.columns:
        arrow_type = schema.field(column).type
        if not (pa.types.is_null(arrow_type) or _ACCEPTS[logical](arrow_type)):
            raise Phase3ValidationError(
                f"{path.name}: column {column} has type {arrow_type}, the contract says {logical}"
            )
    try:
        frame = pq.read_table(path, columns=table.column_names).to_pandas()
        frame[table.date_column] = pd.to_datetime(frame[table.date_column]).dt.date
    except (pa.ArrowException, OSError, ValueError) as exc:  # truncated, corrupt pages, bad codec
        raise Phase3ValidationError(f"{path}: not a readable Parquet file ({error_cause(exc)})") from None
    return frame


def _table_names(names: Iterable[str]) -> set[Table]:
    """Tables named by fqn or by table name (`upcoming_team_game_context`)."""
    by_name = {**PHASE3_BY_FQN, **{t.name: t for t in PHASE3_TABLES}}
    out = set()
    for n in names:
        if n not in by_name:
            raise Phase3ValidationError(f"--allow-empty {n}: not a Phase 3 table ({', '.join(t.name for t in PHASE3_TABLES)})")
        out.add(by_name[n])
    return out


def check_folder_files(folder: str | Path, allow_empty: Iterable[str] = (),
                       bounds: Bounds | None = None) -> tuple[dict[Table, pd.DataFrame], list[Violation]]:
    """Read every file of a folder and check every rule: (the readable frames, every violation)."""
    folder = Path(folder)
    if not folder.is_dir():
        what = "not a folder" if folder.exists() else "no such folder"
        raise Phase3ValidationError(f"{folder}: {what}")
    allowed = _table_names(allow_empty)
    if SCHEDULE in allowed:
        raise Phase3ValidationError("--allow-empty schedule: the schedule declares the seasons; it cannot be empty")
    frames: dict[Table, pd.DataFrame] = {}
    violations: list[Violation] = []
    for table in PHASE3_TABLES:
        try:
            frames[table] = read_table(folder, table)
        except Phase3ValidationError as exc:
            violations += exc.violations
    for table, frame in frames.items():
        if frame.empty and table not in allowed:
            hint = ("the schedule declares the seasons a folder replaces" if table is SCHEDULE
                    else f"pass --allow-empty {table.name} to replace the season's rows with none")
            violations.append(Violation(file_name(table), "", f"the file has 0 rows; {hint}", 0))
    bounds = load_bounds() if bounds is None else bounds
    violations += check_folder(frames, {t: file_name(t) for t in frames}, bounds)
    return frames, violations


def read_folder(folder: str | Path, allow_empty: Iterable[str] = (), bounds: Bounds | None = None) -> LoadedFolder:
    """Read and check the six tables of a Phase 3 folder; raise Phase3ValidationError listing
    every violation."""
    frames, violations = check_folder_files(folder, allow_empty, bounds)
    if violations:
        raise Phase3ValidationError(violations)
    schedule = frames[SCHEDULE]
    season_years = tuple(sorted(int(s) for s in schedule["season_year"].unique()))
    return LoadedFolder(season_years, schedule["game_date"].min(), schedule["game_date"].max(), frames)


def load_phase3(folder: str | Path, warehouse: Warehouse, allow_empty: Iterable[str] = (),
                bounds: Bounds | None = None) -> LoadedFolder:
    """Check the folder, then replace its declared seasons of every Phase 3 table."""
    loaded = read_folder(folder, allow_empty, bounds)
    warehouse.replace_date_ranges(loaded.frames, loaded.windows)
    return loaded
