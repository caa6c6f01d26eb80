"""The outcome policy (outcomes.py) on hand-made check results: no Dagster, no real season."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nba_precompute import outcomes
from nba_precompute.failures import Category
from nba_precompute.outcomes import CheckRow, Gap, decide, failure_description

D = pd.Timestamp("2021-11-10")
OK = CheckRow("primary_key_unique", True, True, "ERROR", None)
NA = CheckRow("entity_accounting", False, True, "ERROR", None)
BAD_KEY = CheckRow("primary_key_unique", True, False, "ERROR", "2 duplicate keys")
THIN = CheckRow("row_minimum", True, False, "WARN", "12 rows < 25")


@pytest.mark.parametrize("outcome", ["COMPUTED", "OFF_SEASON", "NO_GAMES"])
def test_a_date_with_rows_or_legitimately_none_is_materialized_and_passes(outcome):
    got = decide("pdc", D, outcome, [OK, NA], {"outcome": outcome, "dagster/row_count": 5})

    assert (got.materialize, got.gap, got.blocks, got.error) == (True, None, None, None)


def test_a_bootstrap_date_is_an_expected_final_outcome_materialized_with_its_reason():
    meta = {"outcome": "BOOTSTRAP_PERIOD", "failure_category": "BOOTSTRAP_PERIOD",
            "failure_reason": "Bootstrap period: day 3 of 14 after opener 2021-10-19", "entity_failures": 0}
    got = decide("pcf", D, "BOOTSTRAP_PERIOD", [], meta)

    assert (got.materialize, got.gap, got.blocks, got.error) == (True, None, None, None)


@pytest.mark.parametrize("category", ["MISSING_DEPENDENCY", "PROCESSING_ERROR"])
def test_a_retryable_date_level_failure_is_a_gap_not_materialized_that_blocks_nothing(category):
    meta = {"outcome": category, "failure_category": category, "failure_reason": "why",
            outcomes.FAILED_DEPENDENCIES: ["t"], "entity_failures": 0}
    got = decide("pcf", D, category, [], meta)

    assert (got.materialize, got.blocks, got.error) == (False, None, None)
    assert got.gap == Gap("pcf", D, category, "why", ("t",))


def test_a_gap_observation_carries_category_reason_failing_tables_root_cause_and_repair():
    gap = Gap("pcf", D, "MISSING_DEPENDENCY", "upcoming_team_game_context has 0 rows", ("nba_analytics.utgc",))
    got = outcomes.gap_observation(gap, ["pcf 2021-11-10 <- utgc 2021-11-10 (0 rows, need 12)"], "nba-precompute x")

    assert got == {"kind": outcomes.GAP_OBSERVATION, "outcome": "MISSING_DEPENDENCY",
                   "failure_category": "MISSING_DEPENDENCY", "failure_reason": "upcoming_team_game_context has 0 rows",
                   outcomes.FAILED_DEPENDENCIES: ["nba_analytics.utgc"],
                   "root_cause": "pcf 2021-11-10 <- utgc 2021-11-10 (0 rows, need 12)", "repair": "nba-precompute x"}
    # a blocked date has no failing verdicts and no chain of its own
    blocked = outcomes.blocked("mlfs", D, "psza 2021-11-10 failed ERROR check(s) primary_key_unique").gap
    assert outcomes.gap_observation(blocked, [], None) == {
        "kind": "gap", "outcome": "BLOCKED", "failure_category": "BLOCKED",
        "failure_reason": "blocked: psza 2021-11-10 failed ERROR check(s) primary_key_unique",
        outcomes.FAILED_DEPENDENCIES: []}


def test_a_failing_error_check_is_materialized_blocks_downstream_and_fails_the_run():
    got = decide("psza", D, "COMPUTED", [BAD_KEY, THIN], {"outcome": "COMPUTED"})

    assert (got.materialize, got.gap) == (True, None)
    assert got.blocks == "psza 2021-11-10 failed ERROR check(s) primary_key_unique"
    assert got.error == "psza 2021-11-10: primary_key_unique: 2 duplicate keys"


def test_a_failing_warn_check_alone_passes():
    got = decide("mlfs", D, "COMPUTED", [OK, THIN], {"outcome": "COMPUTED"})

    assert (got.materialize, got.gap, got.blocks, got.error) == (True, None, None, None)


def test_a_blocked_date_is_a_gap_that_names_its_cause():
    why = "psza 2021-11-10 failed ERROR check(s) primary_key_unique"
    got = outcomes.blocked("mlfs", D, why)

    assert (got.materialize, got.outcome) == (False, "BLOCKED")
    assert got.gap == Gap("mlfs", D, "BLOCKED", f"blocked: {why}")


def test_final_and_gap_categories_come_from_the_categories_themselves():
    date_level = {c.value for c in Category if c.date_level}
    assert outcomes.FINAL_CATEGORIES == {"BOOTSTRAP_PERIOD"}
    assert outcomes.GAP_CATEGORIES == {"MISSING_DEPENDENCY", "PROCESSING_ERROR"}
    assert outcomes.FINAL_CATEGORIES | outcomes.GAP_CATEGORIES == date_level
    assert all(outcomes.is_gap(c) != outcomes.is_materialized(c) for c in date_level)
    assert outcomes.is_gap("BLOCKED") and not outcomes.is_materialized("BLOCKED")


def test_the_failure_description_lists_each_gap_with_its_chain_then_check_errors_and_the_rerun_command():
    gaps = [Gap("pcf", D, "MISSING_DEPENDENCY", "Missing utgc for 2021-11-10 (0 rows, need 16)"),
            Gap("mlfs", D, "MISSING_DEPENDENCY", "Missing pcf for 2021-11-10 (0 rows, need 1)")]
    chains = {("mlfs", "2021-11-10"): ["mlfs 2021-11-10 <- pcf 2021-11-10 (DATE_FAILED: MISSING_DEPENDENCY) <- utgc"]}
    text = failure_description(gaps, ["psza 2021-11-11: primary_key_unique: 2 duplicate keys"], chains,
                               command="nba-precompute backfill --start 2021-11-10 --end 2021-11-10 --only failed")

    assert text.splitlines() == [
        "2 (asset, date) not materialized (genuine gaps):",
        "- pcf 2021-11-10 MISSING_DEPENDENCY: Missing utgc for 2021-11-10 (0 rows, need 16)",
        "- mlfs 2021-11-10 MISSING_DEPENDENCY: Missing pcf for 2021-11-10 (0 rows, need 1)",
        "    mlfs 2021-11-10 <- pcf 2021-11-10 (DATE_FAILED: MISSING_DEPENDENCY) <- utgc",
        "1 date(s) materialized with a failing ERROR check:",
        "- psza 2021-11-11: primary_key_unique: 2 duplicate keys",
        "after the upstream repair: nba-precompute backfill --start 2021-11-10 --end 2021-11-10 --only failed",
    ]


def test_the_failure_description_caps_the_listed_gaps():
    gaps = [Gap("pdc", D + pd.Timedelta(days=i), "PROCESSING_ERROR", "boom") for i in range(outcomes.MAX_LISTED + 3)]
    lines = failure_description(gaps, [], {}).splitlines()

    assert len(lines) == 1 + outcomes.MAX_LISTED + 1
    assert lines[-1].startswith("... and 3 more")


def _results(rows):
    from nba_precompute.checks.evaluate import RESULT_COLUMNS

    return pd.DataFrame([dict(zip(RESULT_COLUMNS, r)) for r in rows], columns=RESULT_COLUMNS)


def test_a_named_check_is_summarized_once_per_run_with_its_failing_dates_and_observed_range():
    d1, d2, d3 = (pd.Timestamp(f"2021-11-{x}") for x in (10, 11, 12))
    frame = _results([
        ("pdc", d1, "row_minimum", "WARN", True, True, "ok", 40.0, 25.0, [], {}),
        ("pdc", d2, "row_minimum", "WARN", False, True, "12 rows < 25", 12.0, 25.0, [], {"rows": 12}),
        ("pdc", d3, "row_minimum", "WARN", True, False, "no rows", np.nan, np.nan, [], {}),
        ("pdc", d1, "primary_key_unique", "ERROR", True, True, "unique", 0.0, np.nan, [], {}),
    ])
    got = {c.check: c for c in outcomes.run_checks("pdc", ["row_minimum", "primary_key_unique", "value_ranges"],
                                                      {"row_minimum": "WARN", "primary_key_unique": "ERROR",
                                                       "value_ranges": "ERROR"}, frame)}

    rm = got["row_minimum"]
    assert (rm.passed, rm.severity) == (False, "WARN")
    assert {k: rm.metadata[k] for k in ("dates_evaluated", "dates_not_applicable", "failing_dates", "first_date",
                                        "last_date", "observed_min", "observed_max", "threshold_min")} == {
        "dates_evaluated": 2, "dates_not_applicable": 1, "failing_dates": 1, "first_date": "2021-11-10",
        "last_date": "2021-11-11", "observed_min": 12, "observed_max": 40, "threshold_min": 25}
    assert rm.metadata["failures"] == [{"date": "2021-11-11", "applicable": True, "observed": 12, "threshold": 25,
                                        "rows": 12, "detail": "12 rows < 25"}]
    assert got["primary_key_unique"].passed and got["primary_key_unique"].metadata["failures"] == []
    # a check with no evaluated date in the run passes (nothing failed) and says so
    assert got["value_ranges"].passed and got["value_ranges"].metadata["dates_evaluated"] == 0
