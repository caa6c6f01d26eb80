"""How the project hands events to Dagster: one place, so that how they are written (one by
one or batched) is decided once for the Phase 4 step, load-phase3 and the sensors.

Both functions give Dagster each group of events as ONE batch (`DagsterEventBatchMetadata`, the
mechanism Dagster itself uses for a partitioned output's materializations and a run's planned
events). The instance then hands the group to `EventLogStorage.store_event_batch`: one INSERT on
PostgreSQL, one transaction on the project's SQLite storage (instance_storage.py). Batching is in
force when the instance's batch size is > 0: the project's instance class
(`instance_storage.BatchingDagsterInstance`, named in dagster_local.yaml and deploy/dagster.yaml)
makes it so without any environment variable; a stock instance needs DAGSTER_EVENT_BATCH_SIZE
(docs/PERFORMANCE.md). Without either, the same events are written one by one: same statuses.

There is no public API for either (a step's `context.log_event` and
`instance.report_runless_asset_event` never attach batch metadata); the internals used here are
pinned by nba_precompute_tests/defs/test_events.py.
"""

from __future__ import annotations

from typing import Sequence

import dagster as dg
from dagster._core.events import (
    AssetObservationData,
    DagsterEvent,
    DagsterEventBatchMetadata,
    DagsterEventType,
    StepMaterializationData,
    generate_event_batch_id,
)
from dagster._core.instance.utils import RUNLESS_JOB_NAME, RUNLESS_RUN_ID


_STEP_EVENT = {
    dg.AssetMaterialization: DagsterEvent.asset_materialization,
    dg.AssetObservation: DagsterEvent.asset_observation,
}


def log_asset_events(context: dg.AssetExecutionContext,
                     events: Sequence[dg.AssetMaterialization | dg.AssetObservation]) -> None:
    """Log the step's materializations (or observations) of one asset as one batch: one call per
    asset and kind per run, all events of one type."""
    if not events:
        return
    build = _STEP_EVENT[type(events[0])]
    assert all(type(e) is type(events[0]) for e in events), "one batch holds one kind of event"
    op_context = context.op_execution_context
    step = op_context._step_execution_context
    batch_id = generate_event_batch_id()
    last = len(events) - 1
    for i, event in enumerate(events):
        # Building the DagsterEvent logs it (to the instance, with its batch metadata); appending
        # it is what context.log_event does so that the step's outputs know about it.
        op_context._events.append(build(step, event, DagsterEventBatchMetadata(batch_id, i == last)))


_RUNLESS_DATA = {
    dg.AssetMaterialization: (DagsterEventType.ASSET_MATERIALIZATION, StepMaterializationData),
    dg.AssetObservation: (DagsterEventType.ASSET_OBSERVATION, AssetObservationData),
}


def report_runless_events(instance: dg.DagsterInstance, events: Sequence) -> None:
    """Report runless AssetMaterialization / AssetObservation / AssetCheckEvaluation events.

    Materializations and observations go as one batch per (event type, asset) in their order;
    check evaluations cannot be batched by Dagster (not batch-writable) and go one by one.
    """
    groups: dict[tuple, list] = {}
    for event in events:
        kind = _RUNLESS_DATA.get(type(event))
        if kind is None:
            instance.report_runless_asset_event(event)
            continue
        groups.setdefault((type(event), event.asset_key), []).append(event)
    for (event_type, _asset), group in groups.items():
        dagster_type, data = _RUNLESS_DATA[event_type]
        batch_id = generate_event_batch_id()
        last = len(group) - 1
        for i, event in enumerate(group):
            instance.report_dagster_event(
                DagsterEvent(event_type_value=dagster_type.value, event_specific_data=data(event),
                             job_name=RUNLESS_JOB_NAME),
                run_id=RUNLESS_RUN_ID,
                batch_metadata=DagsterEventBatchMetadata(batch_id, i == last),
            )
