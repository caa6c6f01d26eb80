"""A CLI backfill killed (SIGKILL) while it holds the "warehouse" pool slot of the production-style
instance (deploy/dagster.yaml on PostgreSQL, pool granularity op, limit 1).

Nothing in Dagster ends an in-process run whose process died: it would stay STARTED and keep its
slot, and every later backfill would wait for that slot forever. The next `nba-precompute
backfill` on the same machine marks it FAILURE and frees the slot (backfill.fail_orphaned_runs).
"""

from __future__ import annotations

import os
import signal

import dagster as dg
import pytest

from nba_precompute.resources import WAREHOUSE_POOL

pytestmark = pytest.mark.postgres

RANGE = ("2021-11-01", "2021-11-20")


def test_a_backfill_after_a_killed_one_fails_the_orphan_frees_its_slot_and_completes(deployment, tmp_path):
    killed = deployment.start_cli("backfill", "--start", RANGE[0], "--end", RANGE[1], log=tmp_path / "killed.log")
    deployment.wait_for_claimed_slot(killed)  # the Phase 4 step holds the slot
    os.kill(killed.pid, signal.SIGKILL)
    assert killed.wait(timeout=30) == -signal.SIGKILL
    orphan = deployment.claimed_slot_runs()
    assert len(orphan) == 1  # still claimed: nothing freed it

    done = deployment.cli("backfill", "--start", RANGE[0], "--end", RANGE[1], "--allow-gaps", timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (orphan_id,) = orphan
    assert f"marked run {orphan_id} FAILURE" in done.stdout

    instance = deployment.instance()
    try:
        statuses = {r.run_id: r.status for r in instance.get_runs()}
        assert statuses.pop(orphan_id) == dg.DagsterRunStatus.FAILURE
        # the new run went to its end: it wrote every date, then failed for the scenario's gaps
        # (PRECOMPUTE.md §4), which --allow-gaps accepts
        (run_id, status), = statuses.items()
        assert status == dg.DagsterRunStatus.FAILURE
        assert "nba-precompute backfill" in done.stdout and "2021-11-09" in done.stdout
        assert not instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL).claimed_slots
        assert "2021-11-08" in instance.get_materialized_partitions(dg.AssetKey("mlfs"))
    finally:
        instance.dispose()
