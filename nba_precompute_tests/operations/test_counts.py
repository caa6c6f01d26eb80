"""Rows and entity failures per (asset, date): one grouped statement over the asset tables and the
failure table, on the hand-built coverage warehouse (whose counts its docstring lists)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from nba_precompute.operations.counts import counts_sql, volume_counts
from nba_precompute.operations.volume import COUNT_COLUMNS
from nba_precompute.warehouse.duckdb import DuckDBWarehouse
from nba_precompute_tests.coverage.conftest import build_warehouse


def test_counts_are_rows_and_entity_failures_per_date_without_date_level_failures(tmp_path):
    wh = build_warehouse(tmp_path / "w.duckdb")
    counts = volume_counts(wh, dt.date(2021, 10, 18), dt.date(2021, 11, 8))
    assert list(counts.columns) == COUNT_COLUMNS
    by = {(a, str(d.date())): (r, f) for a, d, r, f in counts.itertuples(index=False)}
    assert by[("psza", "2021-11-02")] == (40, 2) and by[("psza", "2021-11-03")] == (40, 0)
    assert by[("tdza", "2021-11-05")] == (20, 5) and by[("pdc", "2021-11-02")] == (16, 1)
    # dates with rows only: bootstrap and dependency failures (DATE_LEVEL) are neither rows nor entities
    assert sorted(d for a, d in by if a == "pcf") == ["2021-11-02", "2021-11-06"]
    assert len(counts) == 6 + 7 + 4 + 2 + 1
    only = volume_counts(wh, dt.date(2021, 11, 2), dt.date(2021, 11, 3), ["tdza"])
    assert only[["asset", "rows"]].values.tolist() == [["tdza", 30], ["tdza", 30]]


def test_no_table_yet_or_an_empty_range_gives_an_empty_frame(tmp_path):
    wh = DuckDBWarehouse(database=str(tmp_path / "empty.duckdb"))
    assert volume_counts(wh, dt.date(2022, 1, 1), dt.date(2022, 1, 31)).empty
    wh = build_warehouse(tmp_path / "w.duckdb")
    assert volume_counts(wh, dt.date(2021, 11, 9), dt.date(2021, 11, 1)).empty


def test_one_statement_for_every_table():
    sql = counts_sql({"psza": "a.psza", "pcf": "a.pcf"}, "p.failures", dt.date(2022, 1, 1), pd.Timestamp("2022-01-31").date())
    assert sql.count("UNION ALL") == 1 and sql.count("GROUP BY") == 3 and "entity_id <> 'DATE_LEVEL'" in sql
    assert "BETWEEN DATE '2022-01-01' AND DATE '2022-01-31'" in sql
