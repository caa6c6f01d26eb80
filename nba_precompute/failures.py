"""The failure vocabulary (PRECOMPUTE.md §6) and the failure-record frame.

Nothing else in the package spells a category or a reason template: they are built here.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum

import pandas as pd

from nba_precompute.season import to_datetime
from nba_precompute.settings import SETTINGS

DATE_LEVEL = "DATE_LEVEL"


class Category(str, Enum):
    MISSING_DEPENDENCY = "MISSING_DEPENDENCY"
    BOOTSTRAP_PERIOD = "BOOTSTRAP_PERIOD"
    PROCESSING_ERROR = "PROCESSING_ERROR"
    INSUFFICIENT_DATA = "INSUFFICIENT_DATA"
    STALE_DATA = "STALE_DATA"
    MISSING_DATA = "MISSING_DATA"
    VALIDATION_ERROR = "VALIDATION_ERROR"

    @property
    def can_retry(self) -> bool:
        return self in _RETRYABLE

    @property
    def date_level(self) -> bool:
        return self in _DATE_LEVEL

    @property
    def expected(self) -> bool:
        """A date-level outcome the data explains (not a defect of the run): it fails the date's
        check with WARN and does not fail the run."""
        return self in _EXPECTED

    def is_value(self, value) -> bool:
        """Whether `value` (a category string read back from storage or metadata) is this one."""
        return value == self.value


_RETRYABLE = {Category.MISSING_DEPENDENCY, Category.PROCESSING_ERROR, Category.MISSING_DATA}
_DATE_LEVEL = {Category.MISSING_DEPENDENCY, Category.BOOTSTRAP_PERIOD, Category.PROCESSING_ERROR}
_EXPECTED = {Category.MISSING_DEPENDENCY, Category.BOOTSTRAP_PERIOD}


def categories_where(predicate) -> set[str]:
    """The category strings whose Category satisfies `predicate` (e.g. lambda c: c.can_retry)."""
    return {c.value for c in Category if predicate(c)}

# The columns a pure function returns; the writer adds run_id and created_at.
FAILURE_COLUMNS = [
    "processor_name",
    "analysis_date",
    "entity_id",
    "failure_category",
    "failure_reason",
    "can_retry",
    "expected_game_count",
    "actual_game_count",
]


# --- reason templates -------------------------------------------------------------------------
def bootstrap_reason(days: int, opener: dt.date) -> str:
    return f"Bootstrap period: day {days} of {SETTINGS.bootstrap_days} after opener {opener:%Y-%m-%d}"


def missing_dependency_clause(table: str, date: dt.date, found: int, required: int) -> str:
    return f"Missing {table} for {date:%Y-%m-%d} ({found} rows, need {required})"


def processing_error_reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def error_cause(exc: BaseException) -> str:
    """An exception as one line for an `error:` message: its type and its first line."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def no_rows_reason(entity_failures: int) -> str:
    return f"No rows produced ({entity_failures} entity failures)"


def insufficient_games_reason(found: int, need: int) -> str:
    """psza / tdza entity minimum."""
    return f"Only {found} games, need {need}"


def insufficient_played_reason(found: int, need: int) -> str:
    """pdc entity minimum."""
    return f"Only {found} games played, need {need} minimum"


def stale_reason(days: int, max_days: int) -> str:
    return f"No played game in {days} days (max {max_days})"


def missing_data_reason(field: str) -> str:
    return f"UPCG row lacks {field}"


def validation_reason(column: str, value, low, high) -> str:
    return f"{column} {value} outside [{low}, {high}]"


# --- frames -----------------------------------------------------------------------------------
def empty_failures() -> pd.DataFrame:
    return failure_frame(
        processor_name=[], analysis_date=[], entity_id=[], category=[], reason=[]
    )


def failure_frame(
    *,
    processor_name,
    analysis_date,
    entity_id,
    category,
    reason,
    expected_game_count=None,
    actual_game_count=None,
) -> pd.DataFrame:
    """Build failure records; scalars broadcast. `category` is a Category or a sequence of them."""
    n = len(analysis_date) if not _is_scalar(analysis_date) else (
        len(entity_id) if not _is_scalar(entity_id) else 1
    )

    def col(v):
        return [v] * n if _is_scalar(v) else list(v)

    cats = [Category(c) for c in col(category)]
    reasons = [str(r)[: SETTINGS.failure_reason_max_chars] for r in col(reason)]
    frame = pd.DataFrame(
        {
            "processor_name": pd.Series(col(processor_name), dtype="object"),
            "analysis_date": to_datetime(pd.Series(col(analysis_date), dtype="object")),
            "entity_id": pd.Series(col(entity_id), dtype="object"),
            "failure_category": pd.Series([c.value for c in cats], dtype="object"),
            "failure_reason": pd.Series(reasons, dtype="object"),
            "can_retry": pd.Series([c.can_retry for c in cats], dtype="boolean"),
            "expected_game_count": pd.array(col(expected_game_count), dtype="Int64"),
            "actual_game_count": pd.array(col(actual_game_count), dtype="Int64"),
        }
    )
    return frame[FAILURE_COLUMNS]


def date_level_failures(processor_name: str, dates, category: Category, reasons) -> pd.DataFrame:
    return failure_frame(
        processor_name=processor_name,
        analysis_date=list(dates),
        entity_id=DATE_LEVEL,
        category=category,
        reason=reasons if not _is_scalar(reasons) else [reasons] * len(list(dates)),
    )


def _is_scalar(v) -> bool:
    return v is None or isinstance(v, (str, int, float, bool, dt.date, Category, pd.Timestamp))
