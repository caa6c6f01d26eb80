"""Backfills from the command line: one ranged run through the real Dagster instance."""

from __future__ import annotations

import datetime as dt
import time

import dagster as dg

from nba_precompute.instance import get_instance


def run_backfill(start: dt.date, end: dt.date, assets: list[str]) -> int:
    from nba_precompute.definitions import defs

    instance = get_instance()
    job = defs.resolve_implicit_global_asset_job_def()
    t0 = time.perf_counter()
    result = job.execute_in_process(
        instance=instance,
        asset_selection=[dg.AssetKey(a) for a in assets],
        tags={
            "dagster/asset_partition_range_start": start.isoformat(),
            "dagster/asset_partition_range_end": end.isoformat(),
            "nba_precompute/launched_by": "cli",
        },
        raise_on_error=False,
    )
    elapsed = time.perf_counter() - t0
    print(f"run {result.run_id} {'succeeded' if result.success else 'FAILED'} in {elapsed:.1f}s")
    return 0 if result.success else 1
