"""`nba-precompute backfill`: ranged runs through the real Dagster instance ($DAGSTER_HOME).

A backfill is planned as a few ranged runs (one per --chunk-days block, and with --only one per
block of dates that need the same assets), each executed in process against the instance, so
the runs appear in the Dagster UI exactly like those launched there. It ends with the coverage
table of the range and exits non-zero when a date ended with an unexpected date-level failure
(anything but BOOTSTRAP_PERIOD or MISSING_DEPENDENCY) or a run failed (a processing error or a
failing ERROR check).
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TextIO

import dagster as dg
import pandas as pd

from nba_precompute import progress
from nba_precompute.automation import LAUNCHED_BY_TAG
from nba_precompute.failures import DATE_LEVEL, categories_where
from nba_precompute.instance import get_instance, initialize_pools
from nba_precompute.registry import ASSET_NAMES

EXPECTED_CATEGORIES = categories_where(lambda c: c.expected)
# Which process executes a CLI run, so a later backfill can tell a live run from an orphan.
HOST_TAG, PID_TAG = "nba_precompute/host", "nba_precompute/pid"
RETRYABLE = categories_where(lambda c: c.date_level and c.can_retry)  # date-level failures worth a rerun


@dataclass(frozen=True)
class PlannedRun:
    start: dt.date
    end: dt.date
    assets: tuple[str, ...]

    @property
    def dates(self) -> int:
        return (self.end - self.start).days + 1

    def __str__(self) -> str:
        return f"{self.start}..{self.end} ({self.dates} dates): {','.join(self.assets)}"


# --- planning ---------------------------------------------------------------------------------
def chunks(start: dt.date, end: dt.date, chunk_days: int | None) -> list[tuple[dt.date, dt.date]]:
    if not chunk_days:
        return [(start, end)]
    out, cur = [], start
    while cur <= end:
        last = min(end, cur + dt.timedelta(days=chunk_days - 1))
        out.append((cur, last))
        cur = last + dt.timedelta(days=1)
    return out


def plan_runs(start: dt.date, end: dt.date, assets: list[str], chunk_days: int | None = None,
              needed: dict[dt.date, tuple[str, ...]] | None = None) -> list[PlannedRun]:
    """Runs covering [start, end] in chunks; with `needed` (date -> assets to redo), only those
    dates, grouped into blocks of consecutive dates that need the same assets."""
    runs = []
    for a, b in chunks(start, end, chunk_days):
        if needed is None:
            runs.append(PlannedRun(a, b, tuple(assets)))
            continue
        block: PlannedRun | None = None
        for d in pd.date_range(a, b).date:
            want = needed.get(d, ())
            if block and want == block.assets and d == block.end + dt.timedelta(days=1):
                block = PlannedRun(block.start, d, want)
                continue
            if block:
                runs.append(block)
            block = PlannedRun(d, d, want) if want else None
        if block:
            runs.append(block)
    return runs


def dates_needing_work(warehouse, start: dt.date, end: dt.date, assets: list[str],
                       only: set[str]) -> dict[dt.date, tuple[str, ...]]:
    """--only failed,missing: per date, the selected assets whose status is DATE_FAILED with a
    retryable category (failed) or MISSING (missing). Bootstrap dates are never retried: their
    outcome cannot change."""
    from nba_precompute.coverage.load import load_coverage

    frame = load_coverage(warehouse, start, end, assets, instance=None).frame
    want = pd.Series(False, index=frame.index)
    if "failed" in only:
        want |= (frame["status"] == "DATE_FAILED") & frame["category"].isin(RETRYABLE)
    if "missing" in only:
        want |= frame["status"] == "MISSING"
    picked = frame[want & frame["asset"].isin(assets)]
    needed: dict[dt.date, tuple[str, ...]] = {}
    for date, group in picked.groupby("date"):
        names = set(group["asset"])
        needed[pd.Timestamp(date).date()] = tuple(a for a in ASSET_NAMES if a in names)
    return needed


def dry_run_report(warehouse, runs: list[PlannedRun], out: TextIO) -> None:
    """The plan, and for each date and asset the outcome foreseeable from the calendar and the
    Phase 3 rules (Phase 4 inputs are produced by the run itself, so their rules are shown as
    'after upstream')."""
    from nba_precompute import dependencies
    from nba_precompute.phase3.contract import PHASE3_BY_FQN, SCHEDULE
    from nba_precompute import registry
    from nba_precompute.pipeline import plan, read_inputs
    from nba_precompute.season import SeasonCalendar

    calendar = SeasonCalendar(warehouse.read_required(SCHEDULE))
    print(f"plan: {len(runs)} run(s), {sum(r.dates for r in runs)} date(s)", file=out)
    for run in runs:
        print(f"  run {run}", file=out)
    for run in runs:
        dates = pd.date_range(run.start, run.end)
        for asset in run.assets:
            days = plan(asset, calendar, dates)
            pending = days[days["outcome"].isna()]
            counts = days["outcome"].fillna("TO_COMPUTE").value_counts().to_dict()
            line = f"  {asset} {run.start}..{run.end}: {counts}"
            if len(pending):
                inputs = read_inputs(asset, calendar, pd.DatetimeIndex(pending["analysis_date"]),
                                     warehouse.read_required)
                verdicts = dependencies.evaluate(registry.rules_for(asset), pending, inputs, calendar)
                phase3 = verdicts[verdicts["upstream"].isin(PHASE3_BY_FQN)]
                failing = phase3[~phase3["ok"]]
                line += f"; Phase 3 rules failing on {failing['analysis_date'].nunique()} date(s)"
                print(line, file=out)
                for clause in failing["clause"]:
                    print(f"      {clause}", file=out)
                if len(registry.upstream_assets(asset)):
                    print(f"      (rules on {', '.join(registry.upstream_assets(asset))}: after upstream)", file=out)
            else:
                print(line, file=out)


# --- execution --------------------------------------------------------------------------------
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
            hook: Callable | None = None) -> list[dg.ExecuteInProcessResult]:
    from nba_precompute.definitions import build_definitions

    # built now, not at import: the warehouse and target come from the environment of this call
    job = build_definitions().resolve_implicit_global_asset_job_def()
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


def unexpected_failures(warehouse, start: dt.date, end: dt.date, assets: list[str]) -> pd.DataFrame:
    from nba_precompute.coverage.load import read_failures

    failures = read_failures(warehouse, start, end)
    date_level = failures[(failures["entity_id"] == DATE_LEVEL) & failures["processor_name"].isin(assets)]
    return date_level[~date_level["failure_category"].isin(EXPECTED_CATEGORIES)]


def run_backfill(start: dt.date, end: dt.date, assets: list[str] | None = None, *, only: set[str] | None = None,
                 dry_run: bool = False, chunk_days: int | None = None, warehouse=None,
                 report: bool = True, out: TextIO | None = None) -> int:
    from nba_precompute.resources import warehouse_from_env

    assets = list(assets or ASSET_NAMES)
    out = out or sys.stdout
    if end < start:
        print(f"error: --end {end} is before --start {start}", file=sys.stderr)
        return 2
    warehouse = warehouse or warehouse_from_env()
    needed = dates_needing_work(warehouse, start, end, assets, only) if only else None
    runs = plan_runs(start, end, assets, chunk_days, needed)
    if dry_run:
        dry_run_report(warehouse, runs, out)
        return 0
    if not runs:
        print("nothing to do: no date in the range needs work", file=out)
        return 0
    instance = get_instance()
    initialize_pools(instance)
    for run_id in fail_orphaned_runs(instance):
        print(f"marked run {run_id} FAILURE: the backfill process that ran it is gone", file=out)
    t0 = time.perf_counter()
    printer = ProgressPrinter(sum(r.dates * len(r.assets) for r in runs), sys.stderr)
    results = execute(runs, instance, out, printer)
    printer.close()
    elapsed = time.perf_counter() - t0
    failed_runs = [r.run_id for r in results if not r.success]
    print(f"backfill {start}..{end}: {len(results)} run(s) in {elapsed:.1f}s"
          + (f", {len(failed_runs)} FAILED: {', '.join(failed_runs)}" if failed_runs else ""), file=out)
    if report:
        from nba_precompute.coverage import report as coverage_report
        from nba_precompute.coverage.load import load_coverage

        cov = load_coverage(warehouse, start, end, assets, instance=instance)
        out.write(coverage_report.render(cov, "table", False, False))
    unexpected = unexpected_failures(warehouse, start, end, assets)
    if len(unexpected):
        print(f"{len(unexpected)} unexpected date-level failure(s):", file=out)
        for r in unexpected.head(20).itertuples():
            print(f"  {r.processor_name} {pd.Timestamp(r.analysis_date).date()} {r.failure_category}: "
                  f"{r.failure_reason}", file=out)
    return 1 if failed_runs or len(unexpected) else 0
