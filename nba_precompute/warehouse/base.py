"""The warehouse interface every asset, the loader, checks and coverage use."""

from __future__ import annotations

import datetime as dt
from abc import abstractmethod
from contextlib import contextmanager
from typing import Iterator, Sequence

import dagster as dg
import pandas as pd

from nba_precompute.phase3.contract import PHASE3_TABLES, Table
from nba_precompute.tables import DEPENDENCY_CHECKS, FAILURES
from nba_precompute.registry import ASSET_TABLES

OUTPUT_TABLES: tuple[Table, ...] = (*ASSET_TABLES.values(), FAILURES, DEPENDENCY_CHECKS)


class WarehouseError(RuntimeError):
    """A storage problem with a message that names the table (and date) involved: an
    environment failure (full disk, read-only path, a busy file) unless `bad_input`."""

    bad_input = False


class WarehouseInputError(WarehouseError):
    """The warehouse setting itself is wrong (a folder, a file that is not a warehouse, a table
    never loaded): the user's input to fix, not the environment."""

    bad_input = True


class Warehouse(dg.ConfigurableResource):
    """Reads Phase 3 and Phase 4 tables; replaces Phase 4 partitions atomically."""

    dialect: str = "duckdb"

    @abstractmethod
    def ensure_tables(self, tables: Sequence[Table] = OUTPUT_TABLES) -> None: ...

    @abstractmethod
    def table_exists(self, table: Table) -> bool: ...

    @abstractmethod
    def read(self, table: Table, start: dt.date | None = None, end: dt.date | None = None,
             columns: list[str] | None = None) -> pd.DataFrame:
        """Rows with table.date_column in [start, end] (all rows when both are None)."""

    @abstractmethod
    def query(self, statement: str, params: list | None = None) -> pd.DataFrame:
        """Run one read-only statement in the warehouse's dialect (sensors, coverage, checks)."""

    @abstractmethod
    def write_partitions(self, asset: str, dates: Sequence[dt.date], rows: pd.DataFrame,
                         failures: pd.DataFrame, run_id: str, verdicts: pd.DataFrame | None = None) -> None:
        """In one transaction: replace partitions `dates` of the asset's table with `rows`, the
        asset's failure records of `dates` with `failures` and its dependency verdicts of `dates`
        with `verdicts` (DEPENDENCY_CHECKS columns but created_at; None = none) (§2 Writes, §5)."""

    @abstractmethod
    def replace_date_ranges(self, frames: dict[Table, pd.DataFrame],
                            ranges: Sequence[tuple[dt.date, dt.date]]) -> None:
        """In one transaction: replace every row of each table dated in any of the [start, end]
        ranges by its frame; rows dated outside them are never touched."""

    def replace_date_range(self, frames: dict[Table, pd.DataFrame], start: dt.date, end: dt.date) -> None:
        """In one transaction: replace every row of each table dated in [start, end] by its frame."""
        self.replace_date_ranges(frames, [(start, end)])

    def check_writable(self) -> None:
        """Raise a WarehouseError naming the cause when a write would fail before it starts
        (a read-only path, a file that is not a warehouse); backends without a file: nothing."""

    @contextmanager
    def session(self) -> Iterator[None]:
        """Reuse one connection for every call inside the block (where the backend has them)."""
        yield

    def read_required(self, table: Table, start=None, end=None, columns=None) -> pd.DataFrame:
        """Like read(), but a missing table is a clear error naming it."""
        if not self.table_exists(table):
            raise WarehouseInputError(
                f"table {table.fqn} does not exist in the warehouse; load Phase 3 data first "
                f"(nba-precompute load-phase3 DIR)"
            )
        return self.read(table, start, end, columns)


def stamp(frame: pd.DataFrame, table: Table, created_at: pd.Timestamp, run_id: str | None = None) -> pd.DataFrame:
    """Add created_at (and run_id) and order the columns as the table's."""
    out = frame.copy()
    out["created_at"] = created_at
    if run_id is not None and "run_id" in table.column_names:
        out["run_id"] = run_id
    missing = [c for c in table.column_names if c not in out.columns]
    if missing:
        raise WarehouseError(f"frame for {table.fqn} lacks columns {missing}")
    return out[table.column_names]


def all_tables() -> tuple[Table, ...]:
    return (*PHASE3_TABLES, *OUTPUT_TABLES)


def verdict_frame(verdicts: pd.DataFrame | None) -> pd.DataFrame:
    """The verdicts to write (DEPENDENCY_CHECKS columns but created_at), empty when None."""
    columns = [c for c in DEPENDENCY_CHECKS.column_names if c != "created_at"]
    return pd.DataFrame(columns=columns) if verdicts is None else verdicts[columns]

