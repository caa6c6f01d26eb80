"""How the project hands events to Dagster: one place, so that how they are written (one by
one or batched) is decided once for the Phase 4 step, load-phase3 and the sensors."""

from __future__ import annotations

from typing import Sequence

import dagster as dg


def log_asset_events(context: dg.AssetExecutionContext, events: Sequence[dg.AssetMaterialization]) -> None:
    """Log the step's materializations of one asset (one call per asset per run)."""
    for event in events:
        context.log_event(event)


def report_runless_events(instance: dg.DagsterInstance, events: Sequence) -> None:
    """Report runless AssetMaterialization / AssetObservation / AssetCheckEvaluation events."""
    for event in events:
        instance.report_runless_asset_event(event)
