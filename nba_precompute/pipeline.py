"""The materialization flow of (asset, dates) (PRECOMPUTE.md §4), with no Dagster import.

`materialize_range` reads what the asset needs for the whole range once, decides each date's
outcome (off-season, no games, bootstrap, dependency failure, compute), runs the asset's pure
function once over the dates that reach the compute step, and returns the rows and failure
records to write. The Dagster asset (assets.py) wires storage and metadata around it; the CLI's
dry run uses `plan` alone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from nba_precompute import dependencies
from nba_precompute.failures import (
    DATE_LEVEL,
    Category,
    bootstrap_reason,
    date_level_failures,
    empty_failures,
    no_rows_reason,
    processing_error_reason,
)
from nba_precompute import registry
from nba_precompute.declaration import HISTORY
from nba_precompute.phase3.contract import SCHEDULE, UPCOMING_PLAYER_GAME_CONTEXT as UPCG, Table
from nba_precompute.season import SeasonCalendar, to_dates, to_datetime

# Outcome of a date (the step of §4 that decided it).
OFF_SEASON, NO_GAMES, BOOTSTRAP, DEPENDENCY, COMPUTED, ERROR = (
    "OFF_SEASON", "NO_GAMES", "BOOTSTRAP_PERIOD", "MISSING_DEPENDENCY", "COMPUTED", "PROCESSING_ERROR",
)


# --- the plan: steps 1-3, no reads but the schedule ---------------------------------------------
def plan(asset: str, calendar: SeasonCalendar, dates) -> pd.DataFrame:
    """Per date: the calendar facts and the outcome of steps 1-3 (None = goes on to step 4)."""
    days = calendar.frame(to_dates(dates))
    outcome = np.full(len(days), None, dtype=object)
    outcome[~days["in_season"].to_numpy()] = OFF_SEASON
    if registry.get(asset).slate_based:
        outcome[(outcome == None) & ~days["is_game_date"].to_numpy()] = NO_GAMES  # noqa: E711
    outcome[(outcome == None) & days["bootstrap"].to_numpy()] = BOOTSTRAP  # noqa: E711
    days["outcome"] = outcome
    return days


# --- reading ----------------------------------------------------------------------------------
Reader = Callable[[Table, dt.date, dt.date], pd.DataFrame]


def read_inputs(asset: str, calendar: SeasonCalendar, dates: pd.DatetimeIndex, read: Reader) -> dict[str, pd.DataFrame]:
    """Read every input of `asset` once for the whole range: history tables from the earliest
    opener involved up to the day before the last date, on-date tables over the range."""
    first, last = dates.min(), dates.max()
    season = calendar.season_of(first)
    history_start = (season.opener if season is not None else first).date()
    inputs = {}
    for table, mode in registry.get(asset).reads.items():
        if mode == HISTORY:
            inputs[table.fqn] = read(table, history_start, (last - pd.Timedelta(days=1)).date())
        else:
            inputs[table.fqn] = read(table, first.date(), last.date())
    return inputs


def evaluate_dependencies(asset: str, calendar: SeasonCalendar, days: pd.DataFrame, read: Reader
                          ) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Step 4 for the dates `plan` left open: the inputs read once and every rule's verdict.
    The dry run (backfill/planning.py) calls this same function."""
    pending = days[days["outcome"].isna()]
    inputs = read_inputs(asset, calendar, pd.DatetimeIndex(pending["analysis_date"]), read)
    return inputs, dependencies.evaluate(registry.get(asset).rules, pending, inputs, calendar)


# --- the whole flow ---------------------------------------------------------------------------
@dataclass
class RangeResult:
    asset: str
    dates: pd.DatetimeIndex
    days: pd.DataFrame  # per date: calendar facts, outcome, rows, entity_failures
    rows: pd.DataFrame
    failures: pd.DataFrame  # date-level and entity-level
    verdicts: pd.DataFrame  # dependency rule results
    extras: pd.DataFrame | None = None
    candidates: pd.DataFrame | None = None  # every entity the compute step had to account for
    max_processed_at: dict[str, str] = field(default_factory=dict)
    error: BaseException | None = None


def materialize_range(asset: str, calendar: SeasonCalendar, dates, read: Reader) -> RangeResult:
    """Steps 1-6 of §4 for every date; the caller writes rows and failures (step 7).

    An exception in the compute step does not escape: it becomes a PROCESSING_ERROR record for
    every date that reached the compute step, and `error` is set so the caller can fail the run
    after writing them.
    """
    spec = registry.get(asset)
    dates = to_dates(dates)
    days = plan(asset, calendar, dates)
    failures = [empty_failures()]
    boot = days[days["outcome"] == BOOTSTRAP]
    if len(boot):
        failures.append(
            date_level_failures(
                asset, boot["analysis_date"], Category.BOOTSTRAP_PERIOD,
                [bootstrap_reason(int(d), o.date()) for d, o in zip(boot["days"], boot["opener"])],
            )
        )
    pending = days[days["outcome"].isna()]
    rows = pd.DataFrame(columns=spec.output_columns)
    verdicts = pd.DataFrame()
    extras = None
    candidates = None
    max_processed_at: dict[str, str] = {}
    error = None
    if len(pending):
        inputs, verdicts = evaluate_dependencies(asset, calendar, days, read)
        max_processed_at = {
            fqn: str(frame["processed_at"].max()) for fqn, frame in inputs.items()
            if "processed_at" in frame.columns and len(frame)
        }
        if UPCG.fqn in inputs:  # N(D), for the slate-relative row minimum of the checks
            days["slate"] = dependencies.slate_sizes(inputs[UPCG.fqn], pd.DatetimeIndex(days["analysis_date"]))
        reasons = dependencies.failure_reasons(verdicts)
        if len(reasons):
            failed_dates = to_datetime(reasons.index)
            days.loc[days["analysis_date"].isin(failed_dates), "outcome"] = DEPENDENCY
            failures.append(date_level_failures(asset, failed_dates, Category.MISSING_DEPENDENCY, list(reasons)))
        compute_dates = pd.DatetimeIndex(days.loc[days["outcome"].isna(), "analysis_date"])
        if len(compute_dates):
            try:
                result = spec.compute(inputs, calendar, compute_dates)
                rows, extras, candidates = result.rows, result.extras, result.candidates
                failures.append(result.failures)
                days.loc[days["analysis_date"].isin(compute_dates), "outcome"] = COMPUTED
            except Exception as exc:  # §4: any unexpected exception -> PROCESSING_ERROR, then fail
                error = exc
                days.loc[days["analysis_date"].isin(compute_dates), "outcome"] = ERROR
                failures.append(
                    date_level_failures(asset, compute_dates, Category.PROCESSING_ERROR, processing_error_reason(exc))
                )
    all_failures = pd.concat([f for f in failures if len(f)], ignore_index=True) if any(
        len(f) for f in failures) else empty_failures()
    rows_per_date = to_datetime(rows["analysis_date"]).value_counts() if len(rows) else pd.Series(dtype=int)
    entity = all_failures[all_failures["entity_id"] != DATE_LEVEL]
    ent_per_date = to_datetime(entity["analysis_date"]).value_counts() if len(entity) else pd.Series(dtype=int)
    days["rows"] = days["analysis_date"].map(rows_per_date).fillna(0).astype(int)
    days["entity_failures"] = days["analysis_date"].map(ent_per_date).fillna(0).astype(int)
    # §4: a computed date that produced no rows is a processing error.
    empty = days[(days["outcome"] == COMPUTED) & (days["rows"] == 0)]
    if len(empty):
        drop = all_failures["analysis_date"].isin(empty["analysis_date"])
        all_failures = pd.concat(
            [
                all_failures[~drop],
                date_level_failures(
                    asset, empty["analysis_date"], Category.PROCESSING_ERROR,
                    [no_rows_reason(int(k)) for k in empty["entity_failures"]],
                ),
            ],
            ignore_index=True,
        )
        days.loc[empty.index, "outcome"] = ERROR
        error = error or RuntimeError(
            f"{asset}: no rows produced on {', '.join(str(d.date()) for d in empty['analysis_date'])}"
        )
    if spec.entity in rows.columns and len(rows):
        rows = rows.sort_values(["analysis_date", spec.entity]).reset_index(drop=True)
    return RangeResult(asset, dates, days, rows, all_failures, verdicts, extras, candidates, max_processed_at, error)


def schedule_reader(read: Reader) -> SeasonCalendar:
    return SeasonCalendar(read(SCHEDULE, None, None))
