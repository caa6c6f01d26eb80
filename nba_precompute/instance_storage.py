"""A faster local event log: Dagster's consolidated SQLite storage with one reused engine.

The stock ConsolidatedSqliteEventLogStorage builds a new SQLAlchemy engine and opens a new
SQLite connection for every statement, several per event; a ranged Phase 4 run writes two
events per (asset, date), so that setup was most of a season backfill's orchestration cost
(docs/PERFORMANCE.md). This subclass keeps one engine with a small connection pool per process
and sets `synchronous=NORMAL` on the WAL database (durable across process crashes; a power
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
        with self._get_engine().connect() as conn:
            with conn.begin():
                yield conn

    def dispose(self):
        engine = getattr(self, "_nba_engine", None)
        if engine is not None:
            engine.dispose()
            self._nba_engine = None
        super().dispose()
