"""The embedded default: one DuckDB file, schemas named like the BigQuery datasets.

Connections come from dagster-duckdb's DuckDBResource. A DuckDB file has one writing process at a
time, so processes that share the file (concurrent backfills, `dagster dev`, the CLI) take
turns: every connection is opened under an exclusive lock on `<file>.lock` (fcntl.flock; waits up
to `lock_timeout_seconds`, then fails with a WarehouseError that says who holds it) and closed
before the lock is released. A partition write is one transaction over the asset table and the
failure table, so readers never see half a partition.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

import duckdb
import pandas as pd
from dagster_duckdb import DuckDBResource
from pydantic import Field, PrivateAttr

from nba_precompute.config import LOCK_TIMEOUT_ENV
from nba_precompute.phase3.contract import Table
from nba_precompute.registry import ASSET_TABLES
from nba_precompute.tables import DEPENDENCY_CHECKS, FAILURES
from nba_precompute.warehouse import sql
from nba_precompute.warehouse.base import OUTPUT_TABLES, Warehouse, WarehouseError, stamp, verdict_frame


DEFAULT_LOCK_TIMEOUT = 600.0
_held = threading.local()  # lock files this thread holds (nested connections do not re-lock)


@contextmanager
def exclusive(database: Path, timeout: float, poll: float = 0.05) -> Iterator[None]:
    """Hold the exclusive lock of a DuckDB file across processes; a WarehouseError after
    `timeout` seconds of waiting."""
    key = str(database.resolve())
    held = _held.__dict__.setdefault("paths", set())
    if key in held:
        yield
        return
    lock_path = database.with_name(database.name + ".lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "unknown"
                    raise WarehouseError(
                        f"the DuckDB warehouse {database} stayed busy for {timeout:g} s (held by {holder}); "
                        f"it has one writing process at a time. Let the other run finish, or raise "
                        f"{LOCK_TIMEOUT_ENV}; see docs/DEPLOY.md (concurrency)"
                    ) from None
                time.sleep(poll)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()} since {time.strftime('%H:%M:%S')}".encode(), 0)
        held.add(key)
        try:
            yield
        finally:
            held.discard(key)
    finally:
        os.close(fd)  # releases the lock


class DuckDBWarehouse(Warehouse):
    """The embedded warehouse: a DuckDB file."""

    database: str = Field(description="Path of the DuckDB file (created on first use).")
    lock_timeout_seconds: float | None = Field(
        default=None,
        description=f"How long to wait for another process's use of the file ({LOCK_TIMEOUT_ENV}, default "
        f"{DEFAULT_LOCK_TIMEOUT:g} s).",
    )
    dialect: str = "duckdb"
    _session: object = PrivateAttr(default=None)

    @contextmanager
    def session(self) -> Iterator[None]:
        """One connection (and one hold of the file lock) for every call inside the block: a
        Phase 4 step makes ~100 warehouse calls, each of which would otherwise reconnect."""
        if self._session is not None:
            yield
            return
        with self._connect() as con:
            self._session = con
            try:
                yield
            finally:
                self._session = None

    @contextmanager
    def _connect(self):
        if self._session is not None:
            yield self._session
            return
        if self.database == ":memory:":
            with DuckDBResource(database=self.database).get_connection() as con:
                yield con
            return
        path = Path(self.database)
        path.parent.mkdir(parents=True, exist_ok=True)
        timeout = self.lock_timeout_seconds or DEFAULT_LOCK_TIMEOUT
        with exclusive(path, timeout):
            connected = False
            try:
                with DuckDBResource(database=self.database).get_connection() as con:
                    connected = True
                    try:
                        yield con
                    finally:
                        con.close()  # before the lock is released
            except duckdb.IOException as exc:
                if connected:
                    raise
                raise WarehouseError(
                    f"cannot open the DuckDB warehouse {path}: another program holds it without taking "
                    f"{path.name}.lock (a duckdb shell or notebook?); close it and run again ({exc})"
                ) from exc

    def ensure_tables(self, tables: Sequence[Table] = OUTPUT_TABLES) -> None:
        with self._connect() as con:
            for t in tables:
                con.execute(sql.create_schema(t.dataset, "duckdb"))
                con.execute(sql.create_table(t, "duckdb"))

    def table_exists(self, table: Table) -> bool:
        with self._connect() as con:
            return bool(
                con.execute(
                    "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                    [table.dataset, table.name],
                ).fetchone()[0]
            )

    def read(self, table, start=None, end=None, columns=None) -> pd.DataFrame:
        bounded = start is not None or end is not None
        query = sql.select_range(table, "duckdb", columns, bounded=bounded)
        params = [start or dt.date(1900, 1, 1), end or dt.date(2999, 12, 31)] if bounded else []
        with self._connect() as con:
            return con.execute(query, params).df()

    def query(self, statement: str, params: list | None = None) -> pd.DataFrame:
        """Run a read-only statement (coverage, checks)."""
        with self._connect() as con:
            return con.execute(statement, params or []).df()

    def write_partitions(self, asset, dates, rows, failures, run_id, verdicts=None) -> None:
        table = ASSET_TABLES[asset]
        created_at = pd.Timestamp.now(tz="UTC")
        rows = stamp(rows, table, created_at)
        failures = stamp(failures, FAILURES, created_at, run_id=run_id)
        verdicts = stamp(verdict_frame(verdicts), DEPENDENCY_CHECKS, created_at)
        date_frame = pd.DataFrame({"d": pd.to_datetime(list(dates)).date})
        with self._connect() as con:
            con.register("_dates", date_frame)
            con.register("_rows", rows)
            con.register("_failures", failures)
            con.register("_verdicts", verdicts)
            try:
                con.execute("BEGIN TRANSACTION")
                con.execute(sql.delete_dates(table, "duckdb", "_dates"))
                con.execute(sql.insert_from(table, "_rows", "duckdb"))
                con.execute(sql.delete_dates(FAILURES, "duckdb", "_dates", processor=True), [asset])
                con.execute(sql.insert_from(FAILURES, "_failures", "duckdb"))
                con.execute(sql.delete_dates(DEPENDENCY_CHECKS, "duckdb", "_dates", processor=True), [asset])
                con.execute(sql.insert_from(DEPENDENCY_CHECKS, "_verdicts", "duckdb"))
                con.execute("COMMIT")
            except Exception as exc:
                con.execute("ROLLBACK")
                raise WarehouseError(f"writing {table.fqn} for {_span(dates)} failed: {exc}") from exc

    def replace_date_range(self, frames, start, end) -> None:
        with self._connect() as con:
            for table in frames:
                con.execute(sql.create_schema(table.dataset, "duckdb"))
                con.execute(sql.create_table(table, "duckdb"))
            try:
                con.execute("BEGIN TRANSACTION")
                for i, (table, frame) in enumerate(frames.items()):
                    con.register(f"_frame{i}", frame[table.column_names])
                    con.execute(sql.delete_range(table, "duckdb"), [start, end])
                    con.execute(sql.insert_from(table, f"_frame{i}", "duckdb"))
                con.execute("COMMIT")
            except Exception as exc:
                con.execute("ROLLBACK")
                names = ", ".join(t.fqn for t in frames)
                raise WarehouseError(f"loading {names} for {start}..{end} failed: {exc}") from exc

def _span(dates) -> str:
    d = sorted(pd.to_datetime(list(dates)).date)
    return f"{d[0]}..{d[-1]}" if d else "no dates"
