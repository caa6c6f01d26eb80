"""What a backfill prints: the dry run's plan, the summary, and the unexpected failures."""

from __future__ import annotations

import datetime as dt
from typing import TextIO

import pandas as pd

from nba_precompute.backfill.planning import Foreseen, PlannedRun
from nba_precompute.failures import DATE_LEVEL, categories_where

EXPECTED_CATEGORIES = categories_where(lambda c: c.expected)


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


def unexpected_failures(warehouse, start: dt.date, end: dt.date, assets: list[str]) -> pd.DataFrame:
    from nba_precompute.coverage.load import read_failures

    failures = read_failures(warehouse, start, end)
    date_level = failures[(failures["entity_id"] == DATE_LEVEL) & failures["processor_name"].isin(assets)]
    return date_level[~date_level["failure_category"].isin(EXPECTED_CATEGORIES)]


def print_unexpected(unexpected: pd.DataFrame, out: TextIO) -> None:
    if not len(unexpected):
        return
    print(f"{len(unexpected)} unexpected date-level failure(s):", file=out)
    for r in unexpected.head(20).itertuples():
        print(f"  {r.processor_name} {pd.Timestamp(r.analysis_date).date()} {r.failure_category}: "
              f"{r.failure_reason}", file=out)
