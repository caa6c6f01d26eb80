"""A faster local event log: Dagster's consolidated SQLite storage with one reused engine.

The stock ConsolidatedSqliteEventLogStorage builds a new SQLAlchemy engine and opens a new
SQLite connection for every statement, several per event; a ranged Phase 4 run writes two
events per (asset, date), so that setup was most of a season backfill's orchestration cost
(docs/PERFORMANCE.md). This subclass keeps one engine with a small connection pool per process,
remembers the schema introspection the stock code repeats for every event, and sets
`synchronous=NORMAL` on the WAL database (durable across process crashes; a power
loss may drop the last few events, acceptable for a local instance; production uses Postgres).
Schema, migrations and queries are Dagster's own.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

import sqlalchemy as db
from dagster._core.storage.event_log.sqlite.consolidated_sqlite_event_log import (
    ConsolidatedSqliteEventLogStorage,
)
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS


class LocalEventLogStorage(ConsolidatedSqliteEventLogStorage):
    _engine_lock = threading.Lock()

    @property
    def _nba_local(self) -> threading.local:
        """Per storage object and thread: the connection of the store_event in progress."""
        return self.__dict__.setdefault("_nba_thread_state", threading.local())

    def _get_engine(self):
        engine = getattr(self, "_nba_engine", None)
        if engine is None:
            with self._engine_lock:
                engine = getattr(self, "_nba_engine", None)
                if engine is None:
                    engine = db.create_engine(
                        self._conn_string,
                        poolclass=db.pool.QueuePool,
                        pool_size=2,
                        max_overflow=8,
                        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
                    )

                    @db.event.listens_for(engine, "connect")
                    def _pragmas(dbapi_connection, _record):
                        cursor = dbapi_connection.cursor()
                        cursor.execute("PRAGMA synchronous=NORMAL")
                        cursor.close()

                    self._nba_engine = engine
        return engine

    @contextmanager
    def _connect(self):
        joined = getattr(self._nba_local, "conn", None)
        if joined is not None:  # inside store_event: its statements share one transaction
            yield joined
            return
        with self._get_engine().connect() as conn:
            with conn.begin():
                yield conn

    # The stock store_event opens a connection and commits for each of its 2-4 statements (the
    # event row, the asset index, the tags, the check execution). One transaction per event
    # halves the commits and makes the event and its index rows atomic. A failed statement
    # inside it (the asset index's INSERT-then-UPDATE on IntegrityError) does not abort a
    # SQLite transaction, so Dagster's own fallbacks keep working.
    def store_event(self, event):
        with self._get_engine().connect() as conn, conn.begin():
            self._nba_local.conn = conn
            try:
                super().store_event(event)
            finally:
                self._nba_local.conn = None

    # Schema introspection, which the stock storage repeats for every event. The schema only
    # changes through `dagster instance migrate`, which starts a new process; a table or column
    # that is absent is looked up again next time.
    def has_table(self, table_name: str) -> bool:
        cache = self.__dict__.setdefault("_nba_tables", set())
        if table_name in cache:
            return True
        with self._get_engine().connect() as conn:
            present = bool(self._get_engine().dialect.has_table(conn, table_name))
        if present:
            cache.add(table_name)
        return present

    def _has_asset_key_col_on_connection(self, conn, column_name: str) -> bool:
        cache = self.__dict__.setdefault("_nba_columns", set())
        if column_name not in cache and super()._has_asset_key_col_on_connection(conn, column_name):
            cache.add(column_name)
        return column_name in cache

    def dispose(self):
        engine = getattr(self, "_nba_engine", None)
        if engine is not None:
            engine.dispose()
            self._nba_engine = None
        super().dispose()
