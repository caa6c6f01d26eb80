"""`nba-precompute backfill`: ranged runs through the real Dagster instance (the configured DAGSTER_HOME).

A backfill is planned as a few ranged runs (one per --chunk-days block, and with --only one per
block of dates that need the same assets), each executed in process against the instance, so
the runs appear in the Dagster UI exactly like those launched there. It ends with the coverage
table of the range, then each failed run's message (its gaps with category, reason and root-cause
chains, and the `--only failed` command to run after the upstream repair). Exit status:

    0  EXIT_OK     every (asset, date) ended with data or an expected outcome (also with
                   --allow-gaps when the only failures are genuine gaps)
    3  EXIT_GAPS   the range completed but holds genuine gaps (MISSING_DEPENDENCY, dates
                   blocked by a failing ERROR check)
    1  EXIT_ERROR  a date failed an ERROR check or with PROCESSING_ERROR (an exception of the
                   compute: never accepted by --allow-gaps), or a run failed for another reason
    2              bad arguments or an unreadable warehouse (main CLI)

Modules: planning.py (runs, --only, what the dry run foresees), launch.py (in-process runs,
progress), housekeeping.py (pool row, orphaned runs), report.py (what is printed).
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from typing import TextIO

from nba_precompute.backfill.housekeeping import fail_orphaned_runs, prepare_instance
from nba_precompute.backfill.launch import HOST_TAG, PID_TAG, ProgressPrinter, execute
from nba_precompute.backfill.planning import PlannedRun, dates_needing_work, foresee, plan_runs
from nba_precompute.backfill.report import dry_run_report, print_run_ends, run_end
from nba_precompute.config import Config
from nba_precompute.instance import get_instance
from nba_precompute.registry import ASSET_NAMES

__all__ = [
    "HOST_TAG", "PID_TAG", "PlannedRun", "ProgressPrinter", "execute", "fail_orphaned_runs", "plan_runs",
    "run_backfill", "EXIT_OK", "EXIT_ERROR", "EXIT_GAPS",
]

EXIT_OK, EXIT_ERROR, EXIT_GAPS = 0, 1, 3


def run_backfill(start: dt.date, end: dt.date, assets: list[str] | None = None, *, only: set[str] | None = None,
                 dry_run: bool = False, chunk_days: int | None = None, warehouse=None,
                 report: bool = True, out: TextIO | None = None, allow_gaps: bool = False,
                 config: Config | None = None) -> int:
    from nba_precompute.resources import warehouse_from_config

    assets = list(assets or ASSET_NAMES)
    out = out or sys.stdout
    if end < start:
        print(f"error: --end {end} is before --start {start}", file=sys.stderr)
        return 2
    warehouse = warehouse or warehouse_from_config(config)
    needed = dates_needing_work(warehouse, start, end, assets, only, get_instance(config)) if only else None
    runs = plan_runs(start, end, assets, chunk_days, needed)
    if dry_run:
        dry_run_report(runs, foresee(warehouse, runs), out)
        return 0
    if not runs:
        print("nothing to do: no date in the range needs work", file=out)
        return 0
    instance = get_instance(config)
    for run_id in prepare_instance(instance):
        print(f"marked run {run_id} FAILURE: the backfill process that ran it is gone", file=out)
    t0 = time.perf_counter()
    printer = ProgressPrinter(sum(r.dates * len(r.assets) for r in runs), sys.stderr)
    results = execute(runs, instance, out, printer, config=config)
    printer.close()
    elapsed = time.perf_counter() - t0
    ends = [run_end(r) for r in results]
    failed_runs = [e.run_id for e in ends if not e.success]
    print(f"backfill {start}..{end}: {len(results)} run(s) in {elapsed:.1f}s"
          + (f", {len(failed_runs)} FAILED: {', '.join(failed_runs)}" if failed_runs else ""), file=out)
    if report:
        from nba_precompute.coverage import report as coverage_report
        from nba_precompute.coverage.load import load_coverage

        cov = load_coverage(warehouse, start, end, assets, instance=instance)
        out.write(coverage_report.render(cov, "table", False, False))
    print_run_ends(ends, out)
    if any(e.crashed or e.check_errors or e.processing_errors for e in ends):
        return EXIT_ERROR
    gaps = sum(e.gaps for e in ends)
    if gaps and not allow_gaps:
        print(f"{gaps} genuine gap(s): exit {EXIT_GAPS} (--allow-gaps accepts them)", file=out)
        return EXIT_GAPS
    return EXIT_OK
