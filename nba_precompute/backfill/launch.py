"""Launching a backfill's runs in process against the instance, with a progress line."""

from __future__ import annotations

import os
import socket
import time
from typing import Callable, TextIO

import dagster as dg

from nba_precompute import progress
from nba_precompute.automation import LAUNCHED_BY_TAG
from nba_precompute.backfill.planning import PlannedRun
from nba_precompute.config import Config

# Which process executes a CLI run, so a later backfill can tell a live run from an orphan.
HOST_TAG, PID_TAG = "nba_precompute/host", "nba_precompute/pid"


class ProgressPrinter:
    """dates done / total, current asset, elapsed, ETA; on a terminal only."""

    def __init__(self, total_units: int, stream: TextIO):
        self.total, self.done, self.stream = total_units, 0, stream
        self.t0 = time.perf_counter()
        self.enabled = stream.isatty()

    def __call__(self, asset: str, units: int, finished: bool) -> None:
        if finished:
            self.done += units
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.t0
        eta = elapsed / self.done * (self.total - self.done) if self.done else float("nan")
        state = "done" if finished else "running"
        self.stream.write(
            f"\r{self.done}/{self.total} asset-dates  {asset} {state:7s}  elapsed {elapsed:5.1f}s  "
            f"ETA {eta:5.1f}s   "
        )
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")


def execute(runs: list[PlannedRun], instance: dg.DagsterInstance, out: TextIO,
            hook: Callable | None = None, config: Config | None = None) -> list[dg.ExecuteInProcessResult]:
    from nba_precompute.definitions import build_definitions

    # built now, from this call's configuration: the run's warehouse resource is config's (a CLI
    # --warehouse included), handed over in process, never through the environment
    job = build_definitions(config).resolve_implicit_global_asset_job_def()
    results = []
    for run in runs:
        with progress.reporting(hook):
            result = job.execute_in_process(
                instance=instance,
                asset_selection=[dg.AssetKey(a) for a in run.assets],
                # the per-date events stay in the instance (and the UI); the terminal gets INFO
                run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
                tags={
                    "dagster/asset_partition_range_start": run.start.isoformat(),
                    "dagster/asset_partition_range_end": run.end.isoformat(),
                    LAUNCHED_BY_TAG: "cli",
                    HOST_TAG: socket.gethostname(),
                    PID_TAG: str(os.getpid()),
                },
                raise_on_error=False,
            )
        results.append(result)
        if not out.isatty():
            print(f"run {result.run_id} {run}: {'success' if result.success else 'FAILURE'}", file=out)
    return results


