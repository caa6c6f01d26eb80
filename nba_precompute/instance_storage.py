"""The project's Dagster instance pieces: an instance class that turns on Dagster's batched event
writes, a faster local SQLite event log, and a pooled PostgreSQL event log.

Local event log: Dagster's consolidated SQLite storage with one reused engine.

The stock ConsolidatedSqliteEventLogStorage builds a new SQLAlchemy engine and opens a new
SQLite connection for every statement, several per event; a ranged Phase 4 run writes two
events per (asset, date), so that setup was most of a season backfill's orchestration cost
(docs/PERFORMANCE.md). This subclass keeps one engine with a small connection pool per process,
remembers the schema introspection the stock code repeats for every event, and sets
`synchronous=NORMAL` on the WAL database (durable across process crashes; a power
loss may drop the last few events, acceptable for a local instance; production uses Postgres).
Schema, migrations and queries are Dagster's own.

PostgreSQL event log (PooledPostgresEventLogStorage): dagster-postgres opens a new connection
(TCP + password authentication) for every statement (NullPool), about two per event, and writes a
run's planned events one by one although Dagster hands them over as one batch. This subclass
keeps a small QueuePool and writes planned events as one INSERT (docs/PERFORMANCE.md).

Both resolve a run's per-partition PLANNED check rows when the run evaluates that check once,
unpartitioned (`RunLevelCheckResolution`): Dagster plans every check of a partitioned run for each
of the run's partitions, even a check whose spec has no partitions_def, and nothing ever resolves
those rows, so a season run would leave 174 "planned" executions per check in its history that
the UI shows as skipped or execution failed.

The internals relied on are pinned by nba_precompute_tests/test_instance_storage.py and
nba_precompute_tests/production/test_pg_event_log.py.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

import os

import dagster as dg
import sqlalchemy as db
import sqlalchemy.pool as db_pool
from dagster._core.events import DagsterEventType
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable
from dagster._serdes import serialize_value
from dagster._core.storage.event_log.schema import SqlEventLogStorageTable
from dagster._core.storage.event_log.sqlite.consolidated_sqlite_event_log import (
    ConsolidatedSqliteEventLogStorage,
)
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster_postgres.event_log.event_log import PostgresEventLogStorage
from dagster_postgres.utils import create_pg_engine, get_token_provider_from_config, pg_url_from_config

# Events Dagster hands over as one batch are buffered up to this many, then written with one
# store_event_batch. >= the largest batch of a season run (5 assets x 174 planned events = 870).
EVENT_BATCH_SIZE = 1000


class BatchingDagsterInstance(dg.DagsterInstance):
    """A DagsterInstance whose batched event writes are on without DAGSTER_EVENT_BATCH_SIZE.

    Named in dagster.yaml (`instance_class`), so the CLI, the webserver, the daemon and every run
    worker that load that instance batch alike, with no environment variable to keep in step
    across processes. An explicit DAGSTER_EVENT_BATCH_SIZE still wins (0 turns batching off).
    Dagster reads the size only through this method (pinned by a test).
    """

    @classmethod
    def config_schema(cls):  # required of an instance_class; no settings of its own
        return {}

    @staticmethod
    def config_defaults(base_dir):
        from dagster._core.instance.ref import InstanceRef

        return InstanceRef.config_defaults(base_dir)

    def _get_event_batch_size(self) -> int:
        value = os.getenv("DAGSTER_EVENT_BATCH_SIZE")
        return int(value) if value not in (None, "") else EVENT_BATCH_SIZE


class RunLevelCheckResolution:
    """An unpartitioned evaluation of a check resolves the PLANNED rows its run left for the
    check's partitions (see the module docstring): they are deleted in the same connection,
    before the evaluation is stored as the stock storage stores it. Partitioned checks always
    evaluate with a partition, so nothing changes for them. The planned rows themselves are the
    stock ones, written cheaper."""

    def _store_asset_check_evaluation_planned(self, event, event_id):
        """The stock rows (one per partition of the plan), with the event serialized once instead
        of once per row: a season run plans 40 checks x 174 partitions, and serializing those
        6,960 copies was a tenth of its time."""
        planned = event.get_dagster_event().event_specific_data
        keys = planned.partitions_subset.get_partition_keys() if planned.partitions_subset else [None]
        serialized, timestamp = serialize_value(event), self._event_insert_timestamp(event)
        with self.index_connection() as conn:
            conn.execute(AssetCheckExecutionsTable.insert().values([
                dict(asset_key=planned.asset_key.to_string(), check_name=planned.check_name, partition=key,
                     run_id=event.run_id, execution_status=AssetCheckExecutionRecordStatus.PLANNED.value,
                     evaluation_event=serialized, evaluation_event_timestamp=timestamp,
                     evaluation_event_storage_id=event_id)
                for key in keys
            ]))

    def _update_asset_check_evaluation(self, event, event_id):
        evaluation = event.get_dagster_event().event_specific_data
        if evaluation.partition is None and event.run_id:
            t = AssetCheckExecutionsTable
            with self.index_connection() as conn:
                conn.execute(t.delete().where(db.and_(
                    t.c.asset_key == evaluation.asset_key.to_string(), t.c.check_name == evaluation.check_name,
                    t.c.run_id == event.run_id, t.c.partition.isnot(None),
                    t.c.execution_status == AssetCheckExecutionRecordStatus.PLANNED.value,
                )))
        return super()._update_asset_check_evaluation(event, event_id)


class LocalEventLogStorage(RunLevelCheckResolution, ConsolidatedSqliteEventLogStorage):
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

    # Dagster's base store_event_batch is a loop of store_event (one transaction each). One
    # transaction for the whole batch: a run's planned events, one asset's materializations.
    def store_event_batch(self, events):
        if getattr(self._nba_local, "conn", None) is not None:
            return super().store_event_batch(events)
        with self._get_engine().connect() as conn, conn.begin():
            self._nba_local.conn = conn
            try:
                for event in events:
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


class PooledPostgresEventLogStorage(RunLevelCheckResolution, PostgresEventLogStorage):
    """dagster-postgres's event log with a reused connection pool and one-INSERT planned events.

    Configured exactly like PostgresEventLogStorage (`postgres_db` or `postgres_url`).
    """

    def __init__(self, postgres_url, should_autocreate_tables=True, inst_data=None, token_provider=None):
        super().__init__(postgres_url, should_autocreate_tables, inst_data, token_provider)
        self._engine.dispose()
        # pool_size 1 (+4 overflow) per process: store_event nests a second connection for the
        # asset index. pre_ping replaces a connection the server or a proxy dropped; recycle
        # keeps none older than an hour (managed databases close idle ones).
        self._engine = create_pg_engine(
            self.postgres_url, self._token_provider, isolation_level="AUTOCOMMIT",
            poolclass=db_pool.QueuePool, pool_size=1, max_overflow=4, pool_recycle=3600, pool_pre_ping=True,
        )

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        # the stock one constructs PostgresEventLogStorage by name
        return cls(
            inst_data=inst_data,
            postgres_url=pg_url_from_config(config_value),
            should_autocreate_tables=config_value.get("should_autocreate_tables", True),
            token_provider=get_token_provider_from_config(config_value),
        )

    def store_event_batch(self, events):
        """Planned events as one INSERT (the stock storage loops them); the rest as the stock does."""
        planned = [e for e in events if e.get_dagster_event().event_type == DagsterEventType.ASSET_MATERIALIZATION_PLANNED]
        rest = [e for e in events if e.get_dagster_event().event_type != DagsterEventType.ASSET_MATERIALIZATION_PLANNED]
        if planned:
            with self._connect() as conn:
                result = conn.execute(self.prepare_insert_event_batch(planned).returning(SqlEventLogStorageTable.c.id))
                ids = [int(row[0]) for row in result.fetchall()]
            with self.index_transaction() as conn:
                self._store_asset_event_tags(conn, planned, ids)
                # the asset row keeps the latest planned event of each asset key
                latest = {e.get_dagster_event().asset_key: (e, i) for e, i in zip(planned, ids)}
                for event, event_id in latest.values():
                    self._store_asset_event(conn, event, event_id)
        if rest:
            super().store_event_batch(rest)
