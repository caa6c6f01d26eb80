"""The outcome policy: from a range result and its check results to what each (asset, date)
records. Pure (no Dagster import): the Dagster step (defs/phase4.py) logs exactly what `decide`
returns, and the CLI backfill and the heal sensor use the same vocabulary.

For each (asset, date):

* `materialize`: whether the partition gets an AssetMaterialization (a date with rows, or
  legitimately none: off-season, no games);
* the `date_outcome` check: `passed`, `severity` ("ERROR" / "WARN") and its metadata;
* `blocks`: a failing ERROR §8 check keeps the date from being computed downstream in the run;
* `error`: a message that fails the run at its end (None when the date does not).

This is the one place where "which outcome is materialized / failed / how severe / blocking"
is decided; the failure categories' own properties (failures.Category.expected) say which
date-level failures are expected.
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass, field

import pandas as pd

from nba_precompute.failures import Category
from nba_precompute.pipeline import COMPUTED, NO_GAMES, OFF_SEASON

DATE_OUTCOME_CHECK = "date_outcome"
"""The partitioned asset check every (asset, date) gets one evaluation of."""
FAILED_DEPENDENCIES = "failed_dependencies"
"""date_outcome metadata: the upstream tables of the date's failing dependency verdicts (a JSON
list, the same verdicts as nba_processing.precompute_dependency_checks); the heal sensor reads it."""
BLOCKED = "BLOCKED"

ERROR, WARN = "ERROR", "WARN"
MATERIALIZED_OUTCOMES = frozenset({COMPUTED, OFF_SEASON, NO_GAMES})
CHECK_METADATA_KEYS = ("outcome", "failure_category", "failure_reason", FAILED_DEPENDENCIES)

CheckRow = namedtuple("CheckRow", "check applicable passed severity detail")


@dataclass(frozen=True)
class DateOutcome:
    """What one (asset, date) records."""

    asset: str
    date: pd.Timestamp
    outcome: str
    materialize: bool
    passed: bool
    severity: str
    check_metadata: dict = field(default_factory=dict)
    blocks: str | None = None  # why downstream is blocked on this date (None: not blocked)
    error: str | None = None  # fails the run at its end


def is_materialized(outcome: str) -> bool:
    return outcome in MATERIALIZED_OUTCOMES


def is_expected_failure(outcome: str) -> bool:
    """A date-level failure whose category is expected (BOOTSTRAP_PERIOD, MISSING_DEPENDENCY)."""
    return not is_materialized(outcome) and outcome in {c.value for c in Category if c.expected}


def decide(asset: str, date, outcome: str, checks: list[CheckRow], metadata: dict) -> DateOutcome:
    """The outcome of (asset, date): its pipeline outcome, its §8 results and its event metadata."""
    date = pd.Timestamp(date)
    failing = [r for r in checks if r.applicable and not r.passed]
    errors = [r for r in failing if r.severity == ERROR]
    date_failed = not is_materialized(outcome)
    unexpected = date_failed and not is_expected_failure(outcome)
    passed = not errors and not date_failed
    meta = {k: v for k, v in metadata.items() if k in CHECK_METADATA_KEYS}
    meta.update(check_metadata(checks))
    # WARN-level §8 results (row minimum, constant features) stay in the metadata: they describe
    # the data, not a broken partition, and would fail nearly every mlfs date (player_status is
    # always "available" upstream, so f10 is constant).
    meta["warnings"] = len(failing) - len(errors)
    day = date.strftime("%Y-%m-%d")
    return DateOutcome(
        asset, date, outcome,
        materialize=not date_failed,
        passed=passed,
        severity=ERROR if errors or unexpected or passed else WARN,
        check_metadata=meta,
        blocks=f"{asset} {day} failed ERROR check(s) {', '.join(r.check for r in errors)}" if errors else None,
        error=f"{asset} {day}: " + "; ".join(str(r.detail) for r in errors) if errors else None,
    )


def blocked(asset: str, date, why: str) -> DateOutcome:
    """A date not computed because an upstream asset of the run failed an ERROR check on it."""
    return DateOutcome(asset, pd.Timestamp(date), BLOCKED, materialize=False, passed=False, severity=ERROR,
                       check_metadata={"outcome": BLOCKED, "blocked_by": why})


def check_metadata(results: list[CheckRow]) -> dict:
    """Every §8 result of a date: the passing checks in one entry, each other one with its detail
    (compact, because it is serialized into one event per (asset, date))."""
    meta, passed = {}, []
    for r in results:
        if r.applicable and r.passed:
            passed.append(r.check)
        else:
            meta[r.check] = ("N/A" if not r.applicable else f"FAIL ({r.severity})") + (f": {r.detail}" if r.detail else "")
    meta["passed"] = ", ".join(passed)
    return meta
