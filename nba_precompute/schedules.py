"""The daily production run: today's partition of the five Phase 4 assets.

Rows for D describe the state before D's games, from Phase 3 data that lands in the morning, so
the job runs at 10:00 UTC for partition D (the partitions end tomorrow, `end_offset=1`).
Off by default: a deployment turns it on once Phase 3 lands daily (docs/DEPLOY.md).
"""

from __future__ import annotations

import dagster as dg

from nba_precompute.partitions import daily_partitions
from nba_precompute.settings import ASSETS

phase4_daily_job = dg.define_asset_job(
    "phase4_daily",
    selection=dg.AssetSelection.assets(*ASSETS),
    partitions_def=daily_partitions,
    description="The five Phase 4 assets for one date (their date_outcome checks included).",
)


def build_phase4_daily_schedule() -> dg.ScheduleDefinition:
    return dg.build_schedule_from_partitioned_job(
        phase4_daily_job, hour_of_day=10, minute_of_hour=0, default_status=dg.DefaultScheduleStatus.STOPPED,
        name="phase4_daily_schedule",
    )
