"""The outcome policy: from a range result and its check results to what each (asset, date)
records in Dagster. Pure (no Dagster import): the Dagster step (defs/phase4.py) logs exactly what
`decide` returns, and the CLI backfill and the heal sensor use the same vocabulary.

PRECOMPUTE.md §4 "What Dagster records":

* an **expected, final** outcome (rows, OFF_SEASON, NO_GAMES, BOOTSTRAP_PERIOD) is a
  materialization (0 rows where there are none; outcome, category and reason in its metadata):
  nothing is to be done about it;
* a **genuine gap** (a date-level category that a rerun can fix: MISSING_DEPENDENCY,
  PROCESSING_ERROR; or a date BLOCKED downstream of a failing ERROR check) is not materialized,
  and the run fails at its end listing every gap (`failure_description`): Dagster then shows
  exactly those partitions as failed. Each gap also gets one observation of its partition
  (`gap_observation`: category, reason, failing upstream tables, root cause, repair command),
  which the partition's event history shows and the heal sensor reads;
* a date whose own ERROR check failed is materialized (its rows exist but are wrong), blocks
  that date downstream in the run, and fails the run too.

Which categories are final and which are gaps comes from failures.Category's own properties
(date_level, can_retry); nothing here spells a category.
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass

import pandas as pd

from nba_precompute.failures import categories_where
from nba_precompute.pipeline import COMPUTED, NO_GAMES, OFF_SEASON

FAILED_DEPENDENCIES = "failed_dependencies"
"""Materialization and gap-observation metadata: the upstream tables of the date's failing
dependency verdicts (a JSON list, the same verdicts as nba_processing.precompute_dependency_checks);
the heal sensor reads it from the gap observation."""
GAP_OBSERVATION = "gap"
"""The `kind` of a gap observation (its metadata entry `kind`), so readers tell it from others."""
BLOCKED = "BLOCKED"
"""The outcome of a date not computed because an upstream asset failed an ERROR check on it."""

ERROR, WARN = "ERROR", "WARN"
FINAL_CATEGORIES = frozenset(categories_where(lambda c: c.date_level and not c.can_retry))
GAP_CATEGORIES = frozenset(categories_where(lambda c: c.date_level and c.can_retry))
MATERIALIZED_OUTCOMES = frozenset({COMPUTED, OFF_SEASON, NO_GAMES}) | FINAL_CATEGORIES
MAX_LISTED = 60  # gaps listed one per line in a run's failure message; the rest are counted

CheckRow = namedtuple("CheckRow", "check applicable passed severity detail")


@dataclass(frozen=True)
class Gap:
    """A genuine gap of the run: an (asset, date) that is not materialized."""

    asset: str
    date: pd.Timestamp
    category: str
    reason: str
    failed_dependencies: tuple[str, ...] = ()  # upstream tables whose verdict failed on the date

    @property
    def day(self) -> str:
        return self.date.strftime("%Y-%m-%d")


def gap_observation(gap: Gap, chains: list[str], command: str | None) -> dict:
    """The metadata of a gap's observation of its partition: what a user reads one click from the
    failed partition (its event history), and what the heal sensor reads (category, tables)."""
    meta = {"kind": GAP_OBSERVATION, "outcome": gap.category, "failure_category": gap.category, "failure_reason": gap.reason,
            FAILED_DEPENDENCIES: list(gap.failed_dependencies)}
    if chains:
        meta["root_cause"] = "\n".join(chains)
    if command:
        meta["repair"] = command
    return meta


@dataclass(frozen=True)
class DateOutcome:
    """What one (asset, date) records."""

    asset: str
    date: pd.Timestamp
    outcome: str
    materialize: bool
    blocks: str | None = None  # why downstream is blocked on this date (None: not blocked)
    error: str | None = None  # a failing ERROR check of the date itself: fails the run at its end
    gap: Gap | None = None  # not materialized: fails the run at its end


def is_materialized(outcome: str) -> bool:
    """An expected, final outcome: rows, off-season, no games, bootstrap."""
    return outcome in MATERIALIZED_OUTCOMES


def is_gap(outcome: str) -> bool:
    """A genuine gap: a retryable date-level failure, or a date blocked upstream in the run."""
    return outcome in GAP_CATEGORIES or outcome == BLOCKED


def decide(asset: str, date, outcome: str, checks: list[CheckRow], metadata: dict) -> DateOutcome:
    """The outcome of (asset, date): its pipeline outcome, its §8 results and its event metadata."""
    date = pd.Timestamp(date)
    failing = [r for r in checks if r.applicable and not r.passed]
    errors = [r for r in failing if r.severity == ERROR]
    gap = None
    if not is_materialized(outcome):
        failed = plain(metadata.get(FAILED_DEPENDENCIES)) or ()
        gap = Gap(asset, date, str(metadata.get("failure_category") or outcome),
                  str(metadata.get("failure_reason") or outcome), tuple(failed))
    # WARN-level §8 results (row minimum, constant features) fail nothing: they describe the data,
    # not a broken partition, and would fail nearly every mlfs date (player_status is always
    # "available" upstream, so f10 is constant). The named checks report them per run.
    day = date.strftime("%Y-%m-%d")
    return DateOutcome(
        asset, date, outcome,
        materialize=gap is None,
        blocks=f"{asset} {day} failed ERROR check(s) {', '.join(r.check for r in errors)}" if errors else None,
        error=f"{asset} {day}: " + "; ".join(f"{r.check}: {r.detail}" for r in errors) if errors else None,
        gap=gap,
    )


def blocked(asset: str, date, why: str) -> DateOutcome:
    """A date not computed because an upstream asset of the run failed an ERROR check on it."""
    date = pd.Timestamp(date)
    return DateOutcome(asset, date, BLOCKED, materialize=False, gap=Gap(asset, date, BLOCKED, f"blocked: {why}"))


def plain(value):
    """A metadata value as plain data (Dagster's MetadataValue wrappers have `.value`)."""
    return getattr(value, "value", value)


def failure_description(gaps: list[Gap], check_errors: list[str], chains: dict[tuple[str, str], list[str]],
                        command: str | None = None) -> str:
    """The run's failure message: each gap with its category, reason and root-cause chain(s)
    (`chains[(asset, day)]`, read back from the stored verdicts), then the dates whose own ERROR
    check failed, then how to re-run after the upstream repair."""
    lines = []
    if gaps:
        lines.append(f"{len(gaps)} (asset, date) not materialized (genuine gaps):")
        for g in gaps[:MAX_LISTED]:
            lines.append(f"- {g.asset} {g.day} {g.category}: {g.reason}")
            lines.extend(f"    {chain}" for chain in chains.get((g.asset, g.day), []))
        if len(gaps) > MAX_LISTED:
            lines.append(f"... and {len(gaps) - MAX_LISTED} more (nba-precompute coverage --explain)")
    if check_errors:
        lines.append(f"{len(check_errors)} date(s) materialized with a failing ERROR check:")
        lines.extend(f"- {e}" for e in check_errors[:MAX_LISTED])
    if command:
        lines.append(f"after the upstream repair: {command}")
    return "\n".join(lines)


# --- the named §8 checks: one evaluation per (asset, check) per run ------------------------------
@dataclass(frozen=True)
class RunCheck:
    """One named check of one asset over the dates a run computed (an unpartitioned Dagster
    check evaluated once per run: per-partition evaluations cannot be batched)."""

    asset: str
    check: str
    severity: str
    passed: bool
    metadata: dict


def run_checks(asset: str, names: list[str], severities: dict[str, str], results) -> list[RunCheck]:
    """Summarize a §8 result frame (checks.evaluate, one row per (date, check)) per check: passed
    when no applicable date fails; metadata = the severity, threshold and observed range over the
    run, the dates evaluated and the failing dates with their details (capped at MAX_LISTED)."""
    from nba_precompute.checks import check_results

    by_check: dict[str, list] = {name: [] for name in names}
    for r in check_results(results) if results is not None and len(results) else []:
        if r.check in by_check:
            by_check[r.check].append(r)
    out = []
    for name in names:
        rows = by_check[name]
        applicable = [r for r in rows if r.applicable]
        failing = [r for r in applicable if not r.passed]
        meta: dict = {"severity": severities[name], "dates_evaluated": len(applicable),
                      "dates_not_applicable": len(rows) - len(applicable), "failing_dates": len(failing)}
        if applicable:
            days = sorted(r.analysis_date for r in applicable)
            meta["first_date"], meta["last_date"] = _day(days[0]), _day(days[-1])
        for field_name in ("observed", "threshold"):
            values = [v for v in (getattr(r, field_name) for r in applicable) if v is not None and not pd.isna(v)]
            if values:
                meta[f"{field_name}_min"], meta[f"{field_name}_max"] = _number(min(values)), _number(max(values))
        meta["failures"] = [{"date": _day(r.analysis_date), **r.metadata()} for r in failing[:MAX_LISTED]]
        out.append(RunCheck(asset, name, severities[name], not failing, meta))
    return out


def _day(date) -> str:
    return pd.Timestamp(date).strftime("%Y-%m-%d")


def _number(value):
    value = float(value)
    return int(value) if value.is_integer() else value
