"""defs/events.py hands each group of events to Dagster as one batch (internal
DagsterEventBatchMetadata), and the result is the same as logging them one by one: these tests
fail if Dagster changes how batch metadata reaches the storage, or what it stores."""

import dagster as dg
import pytest
from dagster._core.events import DagsterEventType

from nba_precompute.defs.events import log_asset_events, report_runless_events
from nba_precompute.instance import LOCAL_INSTANCE_YAML
from nba_precompute.instance_storage import BatchingDagsterInstance, LocalEventLogStorage

PARTITIONS = dg.DailyPartitionsDefinition(start_date="2022-10-18", end_date="2022-10-25")
KEYS = PARTITIONS.get_partition_keys()
GAP = "2022-10-20"  # never materialized: the run fails at its end


def _make(batched: bool):
    @dg.multi_asset(specs=[dg.AssetSpec("a1", skippable=True), dg.AssetSpec("a2", skippable=True)],
                    can_subset=True, partitions_def=PARTITIONS, backfill_policy=dg.BackfillPolicy.single_run(),
                    name="batched" if batched else "plain")
    def step(context: dg.AssetExecutionContext):
        for asset in ("a1", "a2"):
            mats = [dg.AssetMaterialization(asset, partition=k, metadata={"rows": i})
                    for i, k in enumerate(context.partition_keys) if k != GAP]
            if batched:
                log_asset_events(context, mats)
            else:
                for m in mats:
                    context.log_event(m)
        raise dg.Failure("gap")
        yield  # noqa: unreachable; a generator without outputs

    return step


@pytest.fixture
def instance(tmp_path, monkeypatch):
    (tmp_path / "dagster.yaml").write_text(LOCAL_INSTANCE_YAML.read_text())
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    monkeypatch.delenv("DAGSTER_EVENT_BATCH_SIZE", raising=False)
    with dg.DagsterInstance.get() as inst:
        yield inst


@pytest.fixture
def batches(monkeypatch):
    seen = []
    original = LocalEventLogStorage.store_event_batch

    def spy(self, events):
        seen.append([(e.get_dagster_event().event_type, e.get_dagster_event().asset_key.to_user_string()) for e in events])
        return original(self, events)

    monkeypatch.setattr(LocalEventLogStorage, "store_event_batch", spy)
    return seen


def _run(instance, batched: bool):
    step = _make(batched)
    job = dg.Definitions(assets=[step]).resolve_implicit_global_asset_job_def()
    return job.execute_in_process(instance=instance, raise_on_error=False, tags={
        "dagster/asset_partition_range_start": KEYS[0], "dagster/asset_partition_range_end": KEYS[-1]})


def _statuses(instance, asset):
    from dagster._core.storage.partition_status_cache import AssetPartitionStatus

    by = instance.get_status_by_partition(dg.AssetKey(asset), KEYS, PARTITIONS)
    return {k: v for k, v in by.items()}, AssetPartitionStatus


def test_the_local_instance_class_batches_without_the_environment_variable(instance):
    assert isinstance(instance, BatchingDagsterInstance)
    assert instance._get_event_batch_size() == 1000  # the only place Dagster reads it (event_methods.py)
    assert instance._is_batch_writing_enabled()


def test_log_asset_events_writes_one_batch_per_asset_with_the_statuses_of_one_by_one_logging(instance, batches):
    result = _run(instance, batched=True)
    assert not result.success

    mats = [b for b in batches if b[0][0] == DagsterEventType.ASSET_MATERIALIZATION]
    assert [len(b) for b in mats] == [len(KEYS) - 1, len(KEYS) - 1]
    assert [{a for _, a in b} for b in mats] == [{"a1"}, {"a2"}]
    planned = [b for b in batches if b[0][0] == DagsterEventType.ASSET_MATERIALIZATION_PLANNED]
    assert [len(b) for b in planned] == [2 * len(KEYS)]  # Dagster's own batch: per-partition planned events

    stored = instance.get_records_for_run(result.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION).records
    assert sorted((r.event_log_entry.dagster_event.asset_key.to_user_string(), r.event_log_entry.dagster_event.partition)
                  for r in stored) == sorted((a, k) for a in ("a1", "a2") for k in KEYS if k != GAP)

    with dg.DagsterInstance.ephemeral() as plain:  # stock storage, events one by one
        plain_result = _run(plain, batched=False)
        for asset in ("a1", "a2"):
            got, status = _statuses(instance, asset)
            want, _ = _statuses(plain, asset)
            assert got == want
            assert got[GAP] == status.FAILED and got[KEYS[0]] == status.MATERIALIZED
        assert len(plain.get_records_for_run(plain_result.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION).records) == len(stored)


def test_report_runless_events_writes_one_batch_per_asset_and_materializes_every_date(instance, batches):
    events = [dg.AssetMaterialization(t, partition=k, metadata={"dagster/row_count": 3}) for t in ("t1", "t2") for k in KEYS]
    events.append(dg.AssetMaterialization("schedule", metadata={"dagster/row_count": 9}))

    report_runless_events(instance, events)

    assert sorted(len(b) for b in batches) == [len(KEYS), len(KEYS)]  # the single one goes alone
    for table in ("t1", "t2"):
        got, status = _statuses(instance, table)
        assert set(got.values()) == {status.MATERIALIZED}
        latest = instance.get_latest_materialization_event(dg.AssetKey(table))
        assert latest.dagster_event.partition == KEYS[-1]
        assert latest.asset_materialization.metadata["dagster/row_count"].value == 3
    assert instance.get_latest_materialization_event(dg.AssetKey("schedule")).asset_materialization.metadata[
        "dagster/row_count"].value == 9


def test_without_batching_the_same_events_are_written_one_by_one(instance, batches, monkeypatch):
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "0")
    report_runless_events(instance, [dg.AssetMaterialization("t1", partition=k) for k in KEYS])
    assert batches == []
    got, status = _statuses(instance, "t1")
    assert set(got.values()) == {status.MATERIALIZED}
