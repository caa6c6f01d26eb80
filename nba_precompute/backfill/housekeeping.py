"""Instance housekeeping before a CLI backfill: the warehouse pool's row, and runs of CLI
processes that died on this host (the dead-process reaper)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import dagster as dg

from nba_precompute.automation import LAUNCHED_BY_TAG
from nba_precompute.backfill.launch import HOST_TAG, PID_TAG
from nba_precompute.instance import initialize_pools


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    try:  # a killed child its parent has not reaped yet is a zombie: gone too
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def fail_orphaned_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark FAILURE the runs a CLI backfill on this machine started and never finished because
    its process is gone (SIGKILL, OOM kill, power loss); free their pool slots.

    Nothing else would: an in-process run has no run worker for the daemon's run monitoring to
    check, so it would stay STARTED, its partitions "in progress" in the UI and, with a pool of
    granularity op (deploy/dagster.yaml), its slot claimed, blocking every later backfill."""
    statuses = [dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]
    runs = instance.get_runs(filters=dg.RunsFilter(
        statuses=statuses, tags={LAUNCHED_BY_TAG: "cli", HOST_TAG: socket.gethostname()}))
    failed = []
    for run in runs:
        pid = int(run.tags.get(PID_TAG, "0") or 0)
        if pid <= 0 or pid == os.getpid() or not _process_gone(pid):
            continue
        instance.report_run_failed(run, message=f"the nba-precompute backfill process (pid {pid} on "
                                                f"{run.tags[HOST_TAG]}) ended without finishing this run")
        if instance.event_log_storage.supports_global_concurrency_limits:
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        failed.append(run.run_id)
    return failed


def prepare_instance(instance: dg.DagsterInstance) -> list[str]:
    """Create the warehouse pool's row and fail the orphaned runs; returns their run ids."""
    initialize_pools(instance)
    return fail_orphaned_runs(instance)
