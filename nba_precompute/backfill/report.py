"""What a backfill prints: the dry run's plan, the summary, and how each run ended (its gaps)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TextIO

from nba_precompute.backfill.planning import Foreseen, PlannedRun


def dry_run_report(runs: list[PlannedRun], foreseen: list[Foreseen], out: TextIO) -> None:
    """The plan, and for each date and asset the outcome foreseeable from the calendar and the
    Phase 3 rules (Phase 4 inputs are produced by the run itself, so their rules are shown as
    'after upstream')."""
    print(f"plan: {len(runs)} run(s), {sum(r.dates for r in runs)} date(s)", file=out)
    for run in runs:
        print(f"  run {run}", file=out)
    for f in foreseen:
        line = f"  {f.asset} {f.run.start}..{f.run.end}: {f.counts}"
        if f.failing_phase3 is None:
            print(line, file=out)
            continue
        line += f"; Phase 3 rules failing on {f.failing_phase3['analysis_date'].nunique()} date(s)"
        print(line, file=out)
        for clause in f.failing_phase3["clause"]:
            print(f"      {clause}", file=out)
        if f.upstream:
            print(f"      (rules on {', '.join(f.upstream)}: after upstream)", file=out)


@dataclass(frozen=True)
class RunEnd:
    """How one run of the backfill ended, from the Phase 4 step's dg.Failure (defs/phase4.py):
    `gaps` genuine gaps (not materialized), `check_errors` materialized dates with a failing ERROR
    check, `description` the failure message (gaps, root-cause chains, the --only failed command);
    `crashed` when the run failed without that structured failure (an error, not a data outcome)."""

    run_id: str
    success: bool
    gaps: int = 0
    check_errors: tuple[str, ...] = ()
    description: str | None = None
    crashed: bool = False
    processing_errors: int = 0  # gaps that are exceptions of the compute (PROCESSING_ERROR)


def run_end(result) -> RunEnd:
    if result.success:
        return RunEnd(result.run_id, True)
    for event in result.get_step_failure_events():
        data = event.step_failure_data.user_failure_data
        if data is not None and "gaps" in data.metadata:
            return RunEnd(result.run_id, False, int(data.metadata["gaps"].value),
                          tuple(data.metadata["check_errors"].value or ()), data.description,
                          processing_errors=int(data.metadata["processing_errors"].value))
    return RunEnd(result.run_id, False, crashed=True)


def print_run_ends(ends: list[RunEnd], out: TextIO) -> None:
    for end in ends:
        if end.description:
            print(f"run {end.run_id}:", file=out)
            print(end.description, file=out)
