"""The embedded default: one DuckDB file, schemas named like the BigQuery datasets.

Connections come from dagster-duckdb's DuckDBResource; a read of a warehouse this process cannot
write (a read-only filesystem or folder) opens it read-only instead, so coverage and check still
work there. Storage errors keep their real cause (a full disk is never masked by the failed
ROLLBACK after a failed COMMIT); a warehouse path that is a folder or not a DuckDB file is
named as such. A DuckDB file has one writing process at a
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

from nba_precompute.failures import error_cause
from nba_precompute.config import LOCK_TIMEOUT_ENV  # noqa: F401 (importable here, as before)
from nba_precompute.phase3.contract import Table
from nba_precompute.registry import ASSET_TABLES
from nba_precompute.tables import DEPENDENCY_CHECKS, FAILURES
from nba_precompute.warehouse import sql
from nba_precompute.warehouse.base import (
    OUTPUT_TABLES, Warehouse, WarehouseError, WarehouseInputError, stamp, verdict_frame,
)


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
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise WarehouseError(f"cannot write the lock file {lock_path} of the DuckDB warehouse: {_os_cause(exc)}"
                             ) from None
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
    def _connect(self, reading: bool = False):
        """A connection under the file lock. `reading`: the caller only reads, so a warehouse
        that this process cannot write (a read-only filesystem or folder) is opened read-only,
        without the lock file (no process can write it there either)."""
        if self._session is not None:
            yield self._session
            return
        if self.database == ":memory:":
            with DuckDBResource(database=self.database).get_connection() as con:
                yield con
            return
        path = Path(self.database)
        _check_path(path)
        if reading and path.is_file() and not _writable(path):
            with _open(path, read_only=True) as con:
                yield con
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WarehouseError(f"cannot create the folder of the DuckDB warehouse {path}: {_os_cause(exc)}") from None
        timeout = self.lock_timeout_seconds or DEFAULT_LOCK_TIMEOUT
        with exclusive(path, timeout):
            with _open(path, read_only=False) as con:
                yield con

    def check_writable(self) -> None:
        with self._connect():
            pass

    def ensure_tables(self, tables: Sequence[Table] = OUTPUT_TABLES) -> None:
        with self._connect() as con:
            for t in tables:
                con.execute(sql.create_schema(t.dataset, "duckdb"))
                con.execute(sql.create_table(t, "duckdb"))

    def table_exists(self, table: Table) -> bool:
        with self._connect(reading=True) as con:
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
        with self._connect(reading=True) as con:
            return con.execute(query, params).df()

    def query(self, statement: str, params: list | None = None) -> pd.DataFrame:
        """Run a statement (coverage and checks only read; a read-only warehouse serves them)."""
        with self._connect(reading=True) as con:
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
            with _transaction(con, f"writing {table.fqn} for {_span(dates)}", self.database):
                con.execute(sql.delete_dates(table, "duckdb", "_dates"))
                con.execute(sql.insert_from(table, "_rows", "duckdb"))
                con.execute(sql.delete_dates(FAILURES, "duckdb", "_dates", processor=True), [asset])
                con.execute(sql.insert_from(FAILURES, "_failures", "duckdb"))
                con.execute(sql.delete_dates(DEPENDENCY_CHECKS, "duckdb", "_dates", processor=True), [asset])
                con.execute(sql.insert_from(DEPENDENCY_CHECKS, "_verdicts", "duckdb"))

    def replace_date_ranges(self, frames, ranges) -> None:
        names = ", ".join(t.fqn for t in frames)
        spans = ", ".join(f"{a}..{b}" for a, b in ranges)
        with self._connect() as con:
            with _transaction(con, f"loading {names} for {spans}", self.database, begin=False):
                for table in frames:
                    con.execute(sql.create_schema(table.dataset, "duckdb"))
                    con.execute(sql.create_table(table, "duckdb"))
            with _transaction(con, f"loading {names} for {spans}", self.database):
                for i, (table, frame) in enumerate(frames.items()):
                    con.register(f"_frame{i}", frame[table.column_names])
                    for start, end in ranges:
                        con.execute(sql.delete_range(table, "duckdb"), [start, end])
                    con.execute(sql.insert_from(table, f"_frame{i}", "duckdb"))


# --- opening the file and reporting storage errors with their real cause ------------------------
DUCKDB_MAGIC = b"DUCK"  # bytes 8-11 of every DuckDB database file


def _check_path(path: Path) -> None:
    """A warehouse path that is a folder or a file of another kind is the user's setting to fix."""
    hint = "set NBA_PRECOMPUTE_WAREHOUSE (or --warehouse) to a DuckDB file"
    if path.is_dir():
        raise WarehouseInputError(f"the DuckDB warehouse {path} is a folder, not a file; {hint}, "
                                  f"e.g. {path / 'warehouse.duckdb'}")
    if path.exists() and not path.is_file():
        raise WarehouseInputError(f"the DuckDB warehouse {path} is not a regular file; {hint}")
    if path.is_file():
        try:
            with open(path, "rb") as f:
                head = f.read(12)
        except OSError as exc:
            raise WarehouseError(f"cannot read the DuckDB warehouse {path}: {_os_cause(exc)}") from None
        if head[8:12] != DUCKDB_MAGIC:  # an empty file too: DuckDB cannot open it
            raise WarehouseInputError(f"{path} is not a DuckDB database file (it holds other data); {hint} "
                                      f"(a new path creates an empty warehouse)")


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


@contextmanager
def _open(path: Path, read_only: bool):
    """A connection (dagster-duckdb's DuckDBResource for writing, which retries a file another
    program holds; duckdb.connect(read_only=True) for reading, which the resource cannot do),
    with the cause of a failure to open named, never a guess."""
    connected = False
    try:
        if read_only:
            con = duckdb.connect(str(path), read_only=True)
            connected = True
            try:
                yield con
            finally:
                con.close()
            return
        with DuckDBResource(database=str(path)).get_connection() as con:
            connected = True
            try:
                yield con
            finally:
                con.close()  # before the lock is released
    except duckdb.Error as exc:
        if connected:
            raise
        cause = error_cause(exc)
        if "could not set lock" in cause.lower() or "conflicting lock" in cause.lower():
            raise WarehouseError(
                f"cannot open the DuckDB warehouse {path}: another program holds it without taking "
                f"{path.name}.lock (a duckdb shell or notebook?); close it and run again ({cause})"
            ) from None
        if "not a valid duckdb database file" in cause.lower():
            raise WarehouseInputError(f"{path} is not a DuckDB database file ({cause})") from None
        raise WarehouseError(f"cannot open the DuckDB warehouse {path}"
                             f"{' read-only' if read_only else ''}: {_storage_cause(exc, str(path))}") from None


@contextmanager
def _transaction(con, what: str, database: str, begin: bool = True):
    """BEGIN ... COMMIT; on failure a ROLLBACK whose own error never masks the real cause (after
    a failed COMMIT, e.g. on a full disk, DuckDB has no transaction left to roll back)."""
    try:
        if begin:
            con.execute("BEGIN TRANSACTION")
        yield
        if begin:
            con.execute("COMMIT")
    except Exception as exc:
        if begin:
            try:
                con.execute("ROLLBACK")
            except duckdb.Error:
                pass  # the transaction is already gone; the cause below is what matters
        raise WarehouseError(f"{what} failed: {_storage_cause(exc, database)}; nothing of it was written") from exc


def _os_cause(exc: OSError) -> str:
    return f"{exc.strerror or exc} (errno {exc.errno})" if exc.errno else str(exc)


def _storage_cause(exc: BaseException, database: str) -> str:
    """The error's first line, with the common storage causes named plainly."""
    text = str(exc)
    low = text.lower()
    if "no space left" in low or "disk is full" in low or "disk full" in low:
        return f"the disk holding {database} is full ({error_cause(exc)})"
    if "file too large" in low:
        return f"{database} reached the file-size limit of this process ({error_cause(exc)})"
    if "read-only file system" in low or "permission denied" in low:
        return f"{database} cannot be written ({error_cause(exc)})"
    return error_cause(exc)


def _span(dates) -> str:
    d = sorted(pd.to_datetime(list(dates)).date)
    return f"{d[0]}..{d[-1]}" if d else "no dates"
