"""The heal sensor: the Dagster wiring of automation.heal_requests (see automation.py)."""

import json

import dagster as dg

from nba_precompute.automation import (
    HEAL_SENSOR,
    HEALED_AFTER_TAG,
    _cursor,
    heal_interval_seconds,
    heal_requests,
    new_repairs,
)
from nba_precompute.registry import ASSET_NAMES


def build_heal_sensor() -> dg.SensorDefinition:
    @dg.sensor(
        name=HEAL_SENSOR,
        target=dg.AssetSelection.assets(*ASSET_NAMES),
        minimum_interval_seconds=heal_interval_seconds(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Re-requests the downstream Phase 4 partitions of a date that failed with "
        "MISSING_DEPENDENCY for an upstream Phase 4 asset, once that upstream is re-materialized with rows "
        "for the date. Healthy dates are never touched.",
    )
    def phase4_heal_sensor(context: dg.SensorEvaluationContext):
        after = _cursor(context.cursor)
        repairs, cursor = new_repairs(context.instance, after)
        requests = heal_requests(context.instance, repairs)
        for req in requests:
            context.log.info(f"healing {', '.join(req.assets)} on {req.partition} after {req.run_request().tags[HEALED_AFTER_TAG]}")
        if cursor != after:
            context.update_cursor(json.dumps({"after_storage_id": cursor}))
        if not requests:
            return dg.SkipReason(f"no downstream partition to heal ({len(repairs)} new upstream materialization(s))")
        return [req.run_request() for req in requests]

    return phase4_heal_sensor


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(sensors=[build_heal_sensor()])
