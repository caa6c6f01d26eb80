"""The code location: one Definitions object with everything `dagster dev` shows."""

from __future__ import annotations

import dagster as dg

from nba_precompute.assets import build_phase4_assets
from nba_precompute.automation import build_heal_sensor
from nba_precompute.coverage.asset import build_coverage_report, build_coverage_schedule
from nba_precompute.instance import apply_performance_env
from nba_precompute.phase3.specs import phase3_specs
from nba_precompute.resources import storage_kind, warehouse_from_env
from nba_precompute.schedules import build_phase4_daily_schedule, phase4_daily_job

apply_performance_env()


def build_definitions() -> dg.Definitions:
    kind = storage_kind()
    return dg.Definitions(
        assets=[*phase3_specs(kind), build_phase4_assets(kind), build_coverage_report(kind)],
        jobs=[phase4_daily_job],
        schedules=[build_phase4_daily_schedule(), build_coverage_schedule()],
        sensors=[build_heal_sensor()],
        resources={"warehouse": warehouse_from_env()},
        # In process: one DuckDB writer at a time, and ~6 s instead of ~25 s per run here.
        executor=dg.in_process_executor,
    )


defs = build_definitions()
