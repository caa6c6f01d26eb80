"""The outcome policy (outcomes.py) on hand-made check results: no Dagster, no real season."""

from __future__ import annotations

import pandas as pd
import pytest

from nba_precompute import outcomes
from nba_precompute.failures import Category, categories_where
from nba_precompute.outcomes import CheckRow, decide

D = pd.Timestamp("2021-11-10")
OK = CheckRow("primary_key_unique", True, True, "ERROR", None)
NA = CheckRow("entity_accounting", False, True, "ERROR", None)
BAD_KEY = CheckRow("primary_key_unique", True, False, "ERROR", "2 duplicate keys")
THIN = CheckRow("row_minimum", True, False, "WARN", "12 rows < 25")


@pytest.mark.parametrize("outcome", ["COMPUTED", "OFF_SEASON", "NO_GAMES"])
def test_a_date_with_rows_or_legitimately_none_is_materialized_and_passes(outcome):
    got = decide("pdc", D, outcome, [OK, NA], {"outcome": outcome, "dagster/row_count": 5})

    assert (got.materialize, got.passed, got.severity, got.blocks, got.error) == (True, True, "ERROR", None, None)
    assert got.check_metadata == {"outcome": outcome, "entity_accounting": "N/A", "passed": "primary_key_unique",
                                  "warnings": 0}


@pytest.mark.parametrize("category", ["BOOTSTRAP_PERIOD", "MISSING_DEPENDENCY"])
def test_an_expected_date_level_failure_is_not_materialized_and_fails_with_warn(category):
    meta = {"outcome": category, "failure_category": category, "failure_reason": "why",
            outcomes.FAILED_DEPENDENCIES: ["t"], "entity_failures": 0}
    got = decide("pcf", D, category, [], meta)

    assert (got.materialize, got.passed, got.severity, got.blocks, got.error) == (False, False, "WARN", None, None)
    assert got.check_metadata == {"outcome": category, "failure_category": category, "failure_reason": "why",
                                  outcomes.FAILED_DEPENDENCIES: ["t"], "passed": "", "warnings": 0}


def test_a_processing_error_fails_with_error_but_blocks_nothing():
    got = decide("psza", D, "PROCESSING_ERROR", [], {"outcome": "PROCESSING_ERROR"})

    assert (got.materialize, got.passed, got.severity, got.blocks, got.error) == (False, False, "ERROR", None, None)


def test_a_failing_error_check_fails_the_date_blocks_downstream_and_fails_the_run():
    got = decide("psza", D, "COMPUTED", [BAD_KEY, THIN], {"outcome": "COMPUTED"})

    assert (got.materialize, got.passed, got.severity) == (True, False, "ERROR")
    assert got.blocks == "psza 2021-11-10 failed ERROR check(s) primary_key_unique"
    assert got.error == "psza 2021-11-10: 2 duplicate keys"
    assert got.check_metadata["warnings"] == 1
    assert got.check_metadata["row_minimum"] == "FAIL (WARN): 12 rows < 25"


def test_a_failing_warn_check_alone_passes():
    got = decide("mlfs", D, "COMPUTED", [OK, THIN], {"outcome": "COMPUTED"})

    assert (got.passed, got.severity, got.blocks, got.check_metadata["warnings"]) == (True, "ERROR", None, 1)


def test_a_blocked_date_fails_with_error_and_names_its_cause():
    got = outcomes.blocked("mlfs", D, "psza 2021-11-10 failed ERROR check(s) primary_key_unique")

    assert (got.materialize, got.passed, got.severity, got.outcome) == (False, False, "ERROR", "BLOCKED")
    assert got.check_metadata == {"outcome": "BLOCKED", "blocked_by": "psza 2021-11-10 failed ERROR check(s) primary_key_unique"}


def test_expected_and_retryable_come_from_the_categories_themselves():
    assert categories_where(lambda c: c.expected) == {"BOOTSTRAP_PERIOD", "MISSING_DEPENDENCY"}
    assert categories_where(lambda c: c.date_level and c.can_retry) == {"MISSING_DEPENDENCY", "PROCESSING_ERROR"}
    assert all(outcomes.is_expected_failure(c.value) == c.expected for c in Category if c.date_level)
