"""The project-local Dagster instance (dagster_local.yaml) and its event log storage."""

import dagster as dg
import pytest

from nba_precompute.instance import LOCAL_INSTANCE_YAML, initialize_pools
from nba_precompute.instance_storage import LocalEventLogStorage
from nba_precompute.resources import WAREHOUSE_POOL

PARTITIONS = dg.DailyPartitionsDefinition(start_date="2022-10-18")


@dg.multi_asset(
    specs=[dg.AssetSpec("tiny", skippable=True)], can_subset=True, partitions_def=PARTITIONS,
    check_specs=[dg.AssetCheckSpec("rows", asset="tiny", partitions_def=PARTITIONS)],
)
def tiny(context: dg.AssetExecutionContext):
    # as the Phase 4 step does (assets.py): per date, a materialization and a check evaluation,
    # and no output
    from dagster._core.definitions.asset_checks.asset_check_evaluation import AssetCheckEvaluation

    for key in context.partition_keys:
        context.log_event(dg.AssetMaterialization("tiny", partition=key, metadata={"day": key}))
        context.log_event(AssetCheckEvaluation(asset_key=dg.AssetKey("tiny"), check_name="rows", passed=key != "2022-10-19",
                                               partition=key))
    yield from ()  # a generator without outputs: nothing else is marked materialized


@dg.multi_asset(
    specs=[dg.AssetSpec("per_run", skippable=True)], can_subset=True, partitions_def=PARTITIONS,
    check_specs=[dg.AssetCheckSpec("summary", asset="per_run")],
)
def per_run(context: dg.AssetExecutionContext):
    # as the Phase 4 step does for its named checks: one unpartitioned result per ranged run
    for key in context.partition_keys:
        context.log_event(dg.AssetMaterialization("per_run", partition=key))
    yield dg.AssetCheckResult(asset_key="per_run", check_name="summary", passed=True)


def check_rows(instance, asset: str, check: str) -> list[tuple]:
    history = instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(dg.AssetKey(asset), check), limit=100)
    return sorted(((r.partition or ""), r.status.value) for r in history)


def run_per_run(instance) -> None:
    job = dg.Definitions(assets=[per_run]).resolve_implicit_global_asset_job_def()
    assert job.execute_in_process(
        instance=instance, tags={"dagster/asset_partition_range_start": "2022-10-18",
                                 "dagster/asset_partition_range_end": "2022-10-20"}).success


def test_stock_storage_leaves_a_planned_row_per_partition_for_an_unpartitioned_check():
    """Pins the Dagster behaviour RunLevelCheckResolution works around: if this fails, Dagster
    stopped planning unpartitioned checks per partition and the workaround can go."""
    with dg.DagsterInstance.ephemeral() as stock:
        run_per_run(stock)
        assert check_rows(stock, "per_run", "summary") == [
            ("", "SUCCEEDED"), ("2022-10-18", "PLANNED"), ("2022-10-19", "PLANNED"), ("2022-10-20", "PLANNED")]


def test_an_unpartitioned_check_evaluation_resolves_its_runs_planned_partitions(instance):
    run_per_run(instance)
    run_per_run(instance)
    assert check_rows(instance, "per_run", "summary") == [("", "SUCCEEDED"), ("", "SUCCEEDED")]


@pytest.fixture
def instance(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(LOCAL_INSTANCE_YAML.read_text())
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as inst:
        yield inst


def run_tiny(instance, start: str, end: str) -> dg.ExecuteInProcessResult:
    job = dg.Definitions(assets=[tiny]).resolve_implicit_global_asset_job_def()
    return job.execute_in_process(
        instance=instance, raise_on_error=False,
        tags={"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end},
    )


def test_the_local_instance_uses_the_project_storage_a_fast_run_queue_and_one_warehouse_run(instance):
    assert isinstance(instance.event_log_storage, LocalEventLogStorage)
    assert instance.run_coordinator.dequeue_interval_seconds == 1
    assert instance.global_op_concurrency_default_limit == 1


def test_events_logged_in_a_ranged_run_are_all_indexed(instance):
    # two runs over overlapping ranges: the asset index takes Dagster's insert-then-update path
    assert run_tiny(instance, "2022-10-18", "2022-10-20").success
    assert run_tiny(instance, "2022-10-20", "2022-10-21").success
    key = dg.AssetKey("tiny")
    assert instance.get_materialized_partitions(key) == {"2022-10-18", "2022-10-19", "2022-10-20", "2022-10-21"}
    latest = instance.get_latest_materialization_event(key)
    assert latest.asset_materialization.partition == "2022-10-21"
    check_key = dg.AssetCheckKey(key, "rows")
    infos = {i.partition_key: i.latest_execution_status.value
             for i in instance.event_log_storage.get_asset_check_partition_info([check_key])}
    assert infos == {"2022-10-18": "SUCCEEDED", "2022-10-19": "FAILED", "2022-10-20": "SUCCEEDED",
                     "2022-10-21": "SUCCEEDED"}


def test_an_event_and_its_index_rows_are_stored_together_or_not_at_all(instance, monkeypatch):
    assert run_tiny(instance, "2022-10-18", "2022-10-18").success
    storage = instance.event_log_storage
    before = len(storage.get_event_records(dg.EventRecordsFilter(dg.DagsterEventType.ASSET_MATERIALIZATION)))

    real_index = storage._store_asset_event

    def broken_index(conn, event, event_id):
        if event.dagster_event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            raise RuntimeError("index write failed")
        return real_index(conn, event, event_id)

    monkeypatch.setattr(storage, "_store_asset_event", broken_index)
    result = run_tiny(instance, "2022-10-19", "2022-10-19")
    assert not result.success
    # the materialization's event row went with its failed index write (the stock storage keeps it)
    after = storage.get_event_records(dg.EventRecordsFilter(dg.DagsterEventType.ASSET_MATERIALIZATION))
    assert len(after) == before
    assert instance.get_materialized_partitions(dg.AssetKey("tiny")) == {"2022-10-18"}


def test_initialize_pools_creates_the_warehouse_pool_once_on_the_local_instance(instance):
    initialize_pools(instance)
    initialize_pools(instance)
    assert {p.name: p.limit for p in instance.event_log_storage.get_pool_limits()} == {WAREHOUSE_POOL: 1}


def test_a_new_home_gets_its_dagster_yaml_and_databases_before_any_server_starts(tmp_path, monkeypatch):
    import sqlite3

    from nba_precompute.instance import dagster_home

    home = tmp_path / "new_home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    assert dagster_home() == home
    # the shipped settings, with the home's own path as the event log's base_dir (no env needed)
    assert (home / "dagster.yaml").read_text() == LOCAL_INSTANCE_YAML.read_text().replace(
        "base_dir:\n      env: DAGSTER_HOME", f'base_dir: "{home}"')
    assert (home / "event_log.db").is_file()
    for db in ("history/runs.db", "schedules/schedules.db"):
        with sqlite3.connect(home / db) as con:  # created once: one alembic revision each
            assert len(con.execute("SELECT version_num FROM alembic_version").fetchall()) == 1, db


def test_the_sql_storage_methods_the_check_rows_override_replace_exist():
    """RunLevelCheckResolution overrides these two of Dagster's SqlEventLogStorage: if one is
    renamed, the override would silently stop working."""
    import inspect

    from dagster._core.storage.event_log.sql_event_log import SqlEventLogStorage

    for name in ("_store_asset_check_evaluation_planned", "_update_asset_check_evaluation"):
        assert list(inspect.signature(getattr(SqlEventLogStorage, name)).parameters) == ["self", "event", "event_id"]
