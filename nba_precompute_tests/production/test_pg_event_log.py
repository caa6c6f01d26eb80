"""PooledPostgresEventLogStorage (deploy/dagster.yaml) on a real PostgreSQL server: the same rows
and partition statuses as dagster-postgres's stock storage for the same run, in fewer statements;
and the dagster-postgres internals it relies on (NullPool engine, the loop for planned batches,
the batch invariant, the tables an event is written to)."""

import shutil

import dagster as dg
import pytest
import sqlalchemy.pool as db_pool
from dagster._core.events import DagsterEventType
from dagster._core.storage.partition_status_cache import AssetPartitionStatus
from dagster_postgres.event_log.event_log import PostgresEventLogStorage

from nba_precompute.defs.events import log_asset_events
from nba_precompute_tests.conftest import REPO_ROOT

pytestmark = pytest.mark.postgres

PARTITIONS = dg.DailyPartitionsDefinition(start_date="2022-10-18", end_date="2022-10-28")
KEYS = PARTITIONS.get_partition_keys()
GAP = "2022-10-21"
ASSETS = ("a1", "a2", "a3")
# every table a run's asset events are written to (dagster's event log schema)
TABLES = ("event_logs", "asset_keys", "asset_event_tags", "asset_check_executions")


@dg.multi_asset(specs=[dg.AssetSpec(a, skippable=True) for a in ASSETS], can_subset=True, partitions_def=PARTITIONS,
                backfill_policy=dg.BackfillPolicy.single_run(),
                check_specs=[dg.AssetCheckSpec("rows", asset="a1")])
def step(context: dg.AssetExecutionContext):
    for asset in ASSETS:
        log_asset_events(context, [dg.AssetMaterialization(asset, partition=k, metadata={"n": i})
                                   for i, k in enumerate(context.partition_keys) if k != GAP])
    yield dg.AssetCheckResult(asset_key="a1", check_name="rows", passed=True)
    raise dg.Failure("gap")


def _instance(postgres_server, tmp_path, monkeypatch, name: str, stock: bool):
    db = postgres_server.create_database(name)
    for key, value in postgres_server.env(db).items():
        monkeypatch.setenv(key, value)
    home = tmp_path / name
    home.mkdir()
    yaml_text = (REPO_ROOT / "deploy" / "dagster.yaml").read_text()
    if stock:
        yaml_text = yaml_text.replace("module: nba_precompute.instance_storage\n  class: PooledPostgresEventLogStorage",
                                      "module: dagster_postgres.event_log\n  class: PostgresEventLogStorage")
    (home / "dagster.yaml").write_text(yaml_text)
    return dg.DagsterInstance.from_config(str(home))


def _run(instance):
    job = dg.Definitions(assets=[step]).resolve_implicit_global_asset_job_def()
    return job.execute_in_process(instance=instance, raise_on_error=False, tags={
        "dagster/asset_partition_range_start": KEYS[0], "dagster/asset_partition_range_end": KEYS[-1]})


def _rows(postgres_server, db: str) -> dict[str, int]:
    con = postgres_server.connect(db)
    try:
        with con.cursor() as cur:
            out = {}
            for table in TABLES:
                cur.execute(f"SELECT count(*) FROM {table}")
                out[table] = cur.fetchone()[0]
            cur.execute("SELECT dagster_event_type, count(*) FROM event_logs WHERE dagster_event_type IS NOT NULL "
                        "GROUP BY 1")
            out.update({f"events:{t}": n for t, n in cur.fetchall()})
            return out
    finally:
        con.close()


def test_the_pooled_storage_writes_what_the_stock_storage_writes_with_the_same_statuses(
        postgres_server, tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_EVENT_BATCH_SIZE", raising=False)
    calls = {"stock_planned_store_event": 0}
    original = PostgresEventLogStorage.store_event

    def counting(self, event):
        if event.dagster_event_type == DagsterEventType.ASSET_MATERIALIZATION_PLANNED:
            calls["stock_planned_store_event"] += 1
        return original(self, event)

    monkeypatch.setattr(PostgresEventLogStorage, "store_event", counting)
    results = {}
    for name, stock in (("pooled", False), ("stock", True)):
        with _instance(postgres_server, tmp_path, monkeypatch, name, stock) as instance:
            assert type(instance.event_log_storage).__name__ == ("PostgresEventLogStorage" if stock
                                                                 else "PooledPostgresEventLogStorage")
            before = calls["stock_planned_store_event"]
            result = _run(instance)
            assert not result.success
            planned_one_by_one = calls["stock_planned_store_event"] - before
            statuses = {a: instance.get_status_by_partition(dg.AssetKey(a), KEYS, PARTITIONS) for a in ASSETS}
            results[name] = (statuses, _rows(postgres_server, name), planned_one_by_one)

    (pooled, pooled_rows, pooled_loop), (stock, stock_rows, stock_loop) = results["pooled"], results["stock"]
    assert pooled == stock
    for asset in ASSETS:
        assert pooled[asset][GAP] == AssetPartitionStatus.FAILED
        assert sum(s == AssetPartitionStatus.MATERIALIZED for s in pooled[asset].values()) == len(KEYS) - 1
    # the same rows, but for the PLANNED check rows the stock storage leaves per partition of the
    # run for the unpartitioned check (instance_storage.RunLevelCheckResolution resolves them)
    checks = "asset_check_executions"
    assert {k: v for k, v in pooled_rows.items() if k != checks} == {k: v for k, v in stock_rows.items() if k != checks}
    assert (pooled_rows[checks], stock_rows[checks]) == (1, len(KEYS) + 1)
    assert pooled_rows["events:ASSET_MATERIALIZATION_PLANNED"] == len(ASSETS) * len(KEYS)  # per partition
    # Dagster handed the planned events over as one batch; the stock storage loops them, ours does not
    assert stock_loop == len(ASSETS) * len(KEYS)
    assert pooled_loop == 0


def test_dagster_postgres_internals_the_subclass_relies_on(postgres_server, tmp_path, monkeypatch):
    with _instance(postgres_server, tmp_path, monkeypatch, "internals", stock=True) as stock:
        # stock: a new connection per statement (what the subclass replaces)
        assert isinstance(stock.event_log_storage._engine.pool, db_pool.NullPool)
    with _instance(postgres_server, tmp_path, monkeypatch, "internals2", stock=False) as instance:
        storage = instance.event_log_storage
        pool = storage._engine.pool
        assert isinstance(pool, db_pool.QueuePool) and pool._pre_ping and pool._recycle == 3600
        # the helpers the one-INSERT path calls exist with these names
        for name in ("prepare_insert_event_batch", "_store_asset_event_tags", "_store_asset_event", "index_transaction"):
            assert callable(getattr(storage, name))
        # Dagster's invariant: only batch-writable events in a batch (check evaluations are not)
        from dagster._core.events import BATCH_WRITABLE_EVENTS

        assert DagsterEventType.ASSET_CHECK_EVALUATION not in BATCH_WRITABLE_EVENTS
        assert {DagsterEventType.ASSET_MATERIALIZATION, DagsterEventType.ASSET_MATERIALIZATION_PLANNED} <= set(
            BATCH_WRITABLE_EVENTS)
