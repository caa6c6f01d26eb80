"""Idempotency (PRECOMPUTE.md §2 Writes) on a real month: materializing the same range, or the
same (asset, D), again leaves the five Phase 4 tables and the failure table identical apart from
created_at and run_id — compared over their full contents, through Dagster as users run it."""

from __future__ import annotations

import pandas as pd
import pytest

from nba_precompute.phase3.loader import load_phase3
from nba_precompute.tables import FAILURES
from nba_precompute.registry import ASSET_TABLES
from nba_precompute.warehouse.duckdb import DuckDBWarehouse

from .helpers import OUTPUT_TABLES, RUN_COLUMNS, assert_same_tables, cli_backfill, duplicate_keys, snapshot

pytestmark = pytest.mark.shared_data

MONTH = ("2022-11-01", "2022-11-30")
ONE = ("pcf", "2022-11-15")


def without_run_columns(snap: dict) -> dict:
    return {k: v.drop(columns=[c for c in RUN_COLUMNS if c in v.columns]) for k, v in snap.items()}


@pytest.fixture(scope="module")
def real_month(tmp_path_factory, shared_data_dir):
    root = tmp_path_factory.mktemp("idempotency")
    db = root / "w.duckdb"
    load_phase3(shared_data_dir / "nba-2022-23", DuckDBWarehouse(database=str(db)))
    assert cli_backfill(db, root / "home", *MONTH) == 0
    return db, root / "home"


def test_backfilling_a_real_month_twice_leaves_every_table_identical(real_month):
    db, home = real_month
    first = snapshot(db, keep_run_columns=True)
    assert {t.fqn: len(first[t.fqn]) > 0 for t in OUTPUT_TABLES} == {t.fqn: True for t in OUTPUT_TABLES}
    assert len(first[ASSET_TABLES["mlfs"].fqn]) > 4000

    assert cli_backfill(db, home, *MONTH) == 0

    second = snapshot(db, keep_run_columns=True)
    assert_same_tables(without_run_columns(first), without_run_columns(second))
    assert set(duplicate_keys(db).values()) == {0}
    # Really rewritten, not skipped: every row carries the second run's write time and run id.
    for table in OUTPUT_TABLES:
        assert (second[table.fqn]["created_at"] > first[table.fqn]["created_at"].max()).all(), table.fqn
    runs = (set(first[FAILURES.fqn]["run_id"]), set(second[FAILURES.fqn]["run_id"]))
    assert len(runs[0]) == len(runs[1]) == 1 and runs[0] != runs[1]
    # The month holds every outcome kind the failure table can hold for real data.
    categories = set(second[FAILURES.fqn]["failure_category"])
    assert {"INSUFFICIENT_DATA", "STALE_DATA", "MISSING_DEPENDENCY"} <= categories


def test_rematerializing_one_asset_date_changes_nothing_else(real_month):
    db, home = real_month
    before = snapshot(db, keep_run_columns=True)
    asset, day = ONE

    assert cli_backfill(db, home, day, day, assets=[asset]) == 0

    after = snapshot(db, keep_run_columns=True)
    assert_same_tables(without_run_columns(before), without_run_columns(after))
    table, stamp = ASSET_TABLES[asset].fqn, pd.Timestamp(day)
    touched = pd.to_datetime(after[table]["analysis_date"]) == stamp
    assert touched.sum() > 100
    assert (after[table].loc[touched, "created_at"] > before[table]["created_at"].max()).all()
    # every other row of every table keeps even its created_at and run_id
    pd.testing.assert_frame_equal(after[table][~touched], before[table][~touched.to_numpy()])
    for other in OUTPUT_TABLES:
        if other.fqn not in (table, FAILURES.fqn):
            pd.testing.assert_frame_equal(after[other.fqn], before[other.fqn], check_exact=True)
    fails_before, fails_after = before[FAILURES.fqn], after[FAILURES.fqn]
    mine = (fails_after["processor_name"] == asset) & (pd.to_datetime(fails_after["analysis_date"]) == stamp)
    mine_before = (fails_before["processor_name"] == asset) & (pd.to_datetime(fails_before["analysis_date"]) == stamp)
    pd.testing.assert_frame_equal(fails_after[~mine].reset_index(drop=True),
                                  fails_before[~mine_before].reset_index(drop=True), check_exact=True)
