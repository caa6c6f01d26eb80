"""A partition range launched from the UI's launchpad as one run (the range as the tags
dagster/asset_partition_range_start / _end): the run goes through the run queue, not the backfill
daemon, and records the same per-date outcomes as a backfill.

Its own deployment (module-scoped dagster_stack), so the counts of test_ui_backfill.py stay put.
"""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pytest

from nba_precompute_demo.season import NOV_2021_GAP_DATES
from nba_precompute.registry import ASSET_NAMES as ASSETS
from nba_precompute_tests.e2e.conftest import failing
from nba_precompute_tests.e2e.stack import launch_single_run, wait_run
from nba_precompute.automation import latest_gaps

pytestmark = pytest.mark.webserver

KEYS = [d.strftime("%Y-%m-%d") for d in pd.date_range("2021-11-05", "2021-11-12", freq="D")]
GAP_KEYS = sorted(k for k in KEYS if pd.Timestamp(k) in {pd.Timestamp(d) for d in NOV_2021_GAP_DATES})


def test_a_single_ranged_run_from_the_ui_records_every_date_through_the_run_queue(dagster_stack):
    assert GAP_KEYS  # the range holds gap dates of the scenario
    with failing():
        run_id = launch_single_run(dagster_stack, ASSETS, KEYS[0], KEYS[-1])
        run = wait_run(dagster_stack, run_id, timeout=300)
    assert run["status"] == "FAILURE", dagster_stack.log_tails()  # fails at its end: the scenario's gaps
    tags = {t["key"]: t["value"] for t in run["tags"]}
    assert (tags["dagster/asset_partition_range_start"], tags["dagster/asset_partition_range_end"]) == (
        KEYS[0], KEYS[-1])
    assert "dagster/backfill" not in tags

    with dagster_stack.instance() as instance:
        # queued, then launched by the daemon's run coordinator
        assert instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_ENQUEUED)
        assert instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_STARTING)
        for asset in ASSETS:
            gaps = set(GAP_KEYS) if asset in ("pcf", "mlfs") else set()
            # every other date materialized by this run; the gap dates observed by it, not materialized
            records = instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=KEYS), limit=1000).records
            assert {r.asset_materialization.partition for r in records if r.run_id == run_id} == set(KEYS) - gaps
            observed = {k for k in KEYS if latest_gaps(instance, [asset], k)}
            assert observed == gaps, asset
