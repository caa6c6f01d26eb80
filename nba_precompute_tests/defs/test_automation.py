"""The heal sensor's decisions on an ephemeral instance (no daemon, no runs): which downstream
partitions it re-requests after which upstream materializations. The daemon-driven version is
test_ui_backfill.test_upstream_repair_heals_the_downstream_gap."""

from __future__ import annotations

import datetime as dt
import json

import dagster as dg
import pandas as pd
import pytest

from nba_precompute.automation import HEAL_SENSOR, LAUNCHED_BY_TAG
from nba_precompute.defs.automation import build_heal_sensor
from nba_precompute.failures import missing_dependency_clause
from nba_precompute import outcomes
from nba_precompute.registry import ASSET_TABLES


def d(day: int) -> str:
    return dt.date(2021, 11, day).isoformat()


def missing(*assets: str, day: int) -> dict:
    """What the step records for a dependency failure: the prose reason and the failing verdicts' tables."""
    tables = [ASSET_TABLES[a].fqn for a in assets]
    return {"reason": "; ".join(missing_dependency_clause(t, dt.date(2021, 11, day), 0, 10) for t in tables),
            "failed": tables}


def outcome(inst, asset: str, day: int, passed: bool, category: str | None = None, reason: str | dict | None = None):
    """What the step records for (asset, day): a materialization for data or an expected outcome,
    the gap observation (outcomes.gap_observation) for a genuine gap."""
    if passed or not outcomes.is_gap(category):
        materialize(inst, asset, day, rows=10 if passed else 0)
        return
    failed = reason["failed"] if isinstance(reason, dict) else []
    text = reason["reason"] if isinstance(reason, dict) else reason or ""
    gap = outcomes.Gap(asset, pd.Timestamp(d(day)), category, text, tuple(failed))
    meta = outcomes.gap_observation(gap, [], "nba-precompute backfill ... --only failed")
    inst.report_runless_asset_event(dg.AssetObservation(
        asset_key=asset, partition=d(day),
        metadata={k: dg.MetadataValue.json(v) if isinstance(v, list) else v for k, v in meta.items()}))


def materialize(inst, asset: str, day: int, rows: int = 10):
    inst.report_runless_asset_event(
        dg.AssetMaterialization(asset_key=asset, partition=d(day),
                                metadata={"dagster/row_count": dg.MetadataValue.int(rows)})
    )


def evaluate(inst, cursor=None):
    sensor = build_heal_sensor()
    context = dg.build_sensor_context(instance=inst, cursor=cursor)
    result = sensor(context)
    requests = result if isinstance(result, list) else []
    return {(r.partition_key, tuple(a.path[-1] for a in r.asset_selection)): r for r in requests}, context.cursor


@pytest.fixture
def inst():
    instance = dg.DagsterInstance.ephemeral()
    yield instance
    instance.dispose()


def test_sensor_definition():
    sensor = build_heal_sensor()
    assert sensor.name == HEAL_SENSOR
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING


def test_heals_only_what_failed_for_the_repaired_upstream(inst):
    mdep = "MISSING_DEPENDENCY"
    # 9: mlfs failed for pcf, then pcf repaired with rows -> heal mlfs
    outcome(inst, "mlfs", 9, False, mdep, missing("pcf", day=9))
    # 10: mlfs failed for pcf, pcf re-materialized without rows -> nothing
    outcome(inst, "mlfs", 10, False, mdep, missing("pcf", day=10))
    # 11: mlfs had an expected outcome (materialized, 0 rows) -> nothing
    outcome(inst, "mlfs", 11, False, "BOOTSTRAP_PERIOD", "Bootstrap period: day 3 of 14")
    # 12: mlfs healthy -> nothing
    outcome(inst, "mlfs", 12, True)
    # 14: mlfs failed for tdza only -> a pcf repair heals nothing
    outcome(inst, "mlfs", 14, False, mdep, missing("tdza", day=14))
    # 15: psza repaired after pdc, pcf and (through them) mlfs failed -> one run, producers first
    outcome(inst, "pdc", 15, False, mdep, missing("psza", day=15))
    outcome(inst, "pcf", 15, False, mdep, missing("psza", day=15))
    outcome(inst, "mlfs", 15, False, mdep, missing("pdc", "pcf", day=15))
    for day in (9, 11, 12, 14):
        materialize(inst, "pcf", day)
    materialize(inst, "pcf", 10, rows=0)
    materialize(inst, "psza", 15)
    # 16: the failure was recorded after the materialization -> nothing
    materialize(inst, "pcf", 16)
    outcome(inst, "mlfs", 16, False, mdep, missing("pcf", day=16))

    requests, cursor = evaluate(inst)
    assert set(requests) == {(d(9), ("mlfs",)), (d(15), ("pdc", "pcf", "mlfs"))}
    r = requests[(d(9), ("mlfs",))]
    assert r.tags[LAUNCHED_BY_TAG] == HEAL_SENSOR and r.run_key.startswith(f"heal:{d(9)}:mlfs:")
    assert json.loads(cursor)["after_storage_id"] > 0

    # The cursor moved past them: nothing is requested twice.
    again, cursor2 = evaluate(inst, cursor)
    assert again == {} and cursor2 == cursor

    # A later repair of date 10 (now with rows) heals it.
    materialize(inst, "pcf", 10, rows=12)
    later, _ = evaluate(inst, cursor)
    assert set(later) == {(d(10), ("mlfs",))}


def test_healed_downstream_is_not_requested_again(inst):
    outcome(inst, "mlfs", 9, False, "MISSING_DEPENDENCY", missing("pcf", day=9))
    materialize(inst, "pcf", 9)
    materialize(inst, "mlfs", 9)  # healed (e.g. by a run that selected both) before the sensor looked
    requests, _ = evaluate(inst)
    assert requests == {}


def test_healing_reads_the_verdicts_not_the_reason_text(inst):
    """A reworded (or truncated) reason changes nothing: the failing verdicts' tables decide."""
    reworded = {"reason": "upstream composite factors were not ready", "failed": [ASSET_TABLES["pcf"].fqn]}
    outcome(inst, "mlfs", 9, False, "MISSING_DEPENDENCY", reworded)
    # the prose names pcf's table, the verdicts name tdza's only: a pcf repair heals nothing
    misleading = {"reason": missing("pcf", day=10)["reason"], "failed": [ASSET_TABLES["tdza"].fqn]}
    outcome(inst, "mlfs", 10, False, "MISSING_DEPENDENCY", misleading)
    materialize(inst, "pcf", 9)
    materialize(inst, "pcf", 10)

    requests, _ = evaluate(inst)

    assert set(requests) == {(d(9), ("mlfs",))}

