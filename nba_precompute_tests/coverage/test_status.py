"""The coverage model on the hand-built warehouse (conftest.py): every status, the range report."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from nba_precompute.coverage import status as st
from nba_precompute.coverage.load import read_row_counts
from nba_precompute.failures import Category, failure_frame
from nba_precompute.season import SeasonCalendar
from nba_precompute.registry import ASSET_NAMES as ASSETS

from .conftest import END, START, d, schedule_frame

# the grid of conftest.py from 2021-11-02 on, (status, category, rows)
OK40, OK30, OK16 = (st.OK, None, 40), (st.OK, None, 30), (st.OK, None, 16)
NOG, MIS = (st.NO_GAMES, None, 0), (st.MISSING, None, 0)
DEP = (st.DATE_FAILED, "MISSING_DEPENDENCY", 0)
ERR = (st.DATE_FAILED, "PROCESSING_ERROR", 0)
GRID = {
    d(2): (OK40, OK30, OK16, OK16, OK16),
    d(3): (OK40, OK30, NOG, NOG, NOG),
    d(4): (OK40, OK30, OK16, DEP, DEP),
    d(5): (OK40, (st.OK, None, 20), OK16, DEP, DEP),
    d(6): (OK40, OK30, MIS, OK16, MIS),
    d(7): (ERR, OK30, DEP, DEP, DEP),
    d(8): (OK40, OK30, OK16, DEP, DEP),
}


def cell(frame: pd.DataFrame, asset: str, day: dt.date) -> dict:
    hit = frame[(frame["asset"] == asset) & (frame["date"] == pd.Timestamp(day))]
    assert len(hit) == 1
    return hit.iloc[0].to_dict()


def test_frame_has_one_row_per_asset_and_date(coverage):
    frame = coverage.frame
    assert len(frame) == 5 * 22
    assert list(dict.fromkeys(frame["asset"])) == list(ASSETS)
    assert frame.groupby("asset").size().to_dict() == dict.fromkeys(ASSETS, 22)


def test_every_status_on_the_hand_built_grid(coverage):
    frame = coverage.frame
    assert set(frame["status"]) == set(st.STATUSES)
    for asset in ASSETS:
        off = cell(frame, asset, START)
        assert (off["status"], off["category"], off["rows"], off["expected"]) == (st.OFF_SEASON, None, 0, False)
        for k in range(14):
            boot = cell(frame, asset, dt.date(2021, 10, 19) + dt.timedelta(days=k))
            assert (boot["status"], boot["category"]) == (st.DATE_FAILED, "BOOTSTRAP_PERIOD")
            assert boot["reason"] == f"Bootstrap period: day {k} of 14 after opener 2021-10-19"
            assert boot["bootstrap"] and boot["expected"]
    for day, expected in GRID.items():
        for asset, (status, category, rows) in zip(ASSETS, expected):
            c = cell(frame, asset, day)
            assert (c["status"], c["category"], c["rows"]) == (status, category, rows), (asset, day)


def test_reason_entity_failures_and_flags(coverage):
    frame = coverage.frame
    pcf = cell(frame, "pcf", d(5))
    assert pcf["reason"] == "Missing nba_precompute.team_defense_zone_analysis for 2021-11-05 (20 rows, need 25)"
    tdza = cell(frame, "tdza", d(5))
    assert tdza["entity_failures"] == 5 and tdza["entity_failures_by_category"] == {"INSUFFICIENT_DATA": 5}
    assert tdza["reason"] is None and tdza["category"] is None
    assert cell(frame, "pdc", d(2))["entity_failures_by_category"] == {"STALE_DATA": 1}
    # a no-game date is expected for psza / tdza (they have rows every season date), not for pdc
    assert cell(frame, "psza", d(3))["expected"] and not cell(frame, "pdc", d(3))["expected"]
    assert not cell(frame, "pdc", d(3))["is_game_date"] and cell(frame, "pdc", d(3))["in_season"]
    assert cell(frame, "mlfs", d(6))["weekday"] == 5  # a Saturday


def test_range_report_numbers(coverage):
    rep = coverage.report.set_index("asset")
    expected = {
        #       expected, data, dlf, by category, total, missing dates, status
        "psza": (21, 6, 15, {"BOOTSTRAP_PERIOD": 14, "PROCESSING_ERROR": 1}, 21, [], "EXPLAINED"),
        "tdza": (21, 7, 14, {"BOOTSTRAP_PERIOD": 14}, 21, [], "EXPLAINED"),
        "pdc": (20, 4, 15, {"BOOTSTRAP_PERIOD": 14, "MISSING_DEPENDENCY": 1}, 19, ["2021-11-06"], "INCOMPLETE"),
        "pcf": (20, 2, 18, {"BOOTSTRAP_PERIOD": 14, "MISSING_DEPENDENCY": 4}, 20, [], "EXPLAINED"),
        "mlfs": (20, 1, 18, {"BOOTSTRAP_PERIOD": 14, "MISSING_DEPENDENCY": 4}, 19, ["2021-11-06"], "INCOMPLETE"),
    }
    for asset, (exp, data, dlf, by_cat, total, missing, status) in expected.items():
        r = rep.loc[asset]
        assert (r["expected"], r["data_dates"], r["date_level_failures"]) == (exp, data, dlf), asset
        assert r["date_level_by_category"] == by_cat, asset
        assert (r["total"], r["missing"], r["missing_dates"], r["status"]) == (total, len(missing), missing, status)
    assert rep.loc["psza", "entity_failures_by_category"] == {"INSUFFICIENT_DATA": 2}
    assert rep.loc["tdza", "entity_failures"] == 5
    assert rep.loc["pdc", "entity_failures_by_category"] == {"STALE_DATA": 1}
    assert rep.loc["pcf", "entity_failures"] == 0
    assert (rep.loc["pdc", "no_games"], rep.loc["pdc", "off_season"], rep.loc["psza", "no_games"]) == (1, 1, 0)
    # no instance was read: nothing checked, nothing hidden
    assert rep["dagster_checked"].sum() == 0 and set(coverage.frame["dagster_status"]) == {"unknown"}


def test_complete_status_on_a_clean_range(warehouse):
    from nba_precompute.coverage.load import load_coverage

    cov = load_coverage(warehouse, d(2), d(3), ["psza", "tdza"])
    assert list(cov.report["status"]) == ["COMPLETE", "COMPLETE"]
    assert list(cov.report["expected"]) == [2, 2] and list(cov.report["total"]) == [2, 2]


def test_first_match_wins_and_unknown_assets_ignored():
    calendar = SeasonCalendar(schedule_frame().infer_objects())
    rows = pd.DataFrame({"asset": ["psza", "pdc"], "analysis_date": [d(9), d(9)], "rows": [5, 0]})
    failures = pd.concat([
        # a stray DATE_LEVEL row next to rows: OK wins (the outcome_consistent check reports it)
        failure_frame(processor_name="psza", analysis_date=[d(9)], entity_id="DATE_LEVEL",
                      category=Category.PROCESSING_ERROR, reason="x"),
        # a date-level failure on a no-game date: DATE_FAILED wins over NO_GAMES
        failure_frame(processor_name="pdc", analysis_date=[d(3)], entity_id="DATE_LEVEL",
                      category=Category.PROCESSING_ERROR, reason="y"),
        failure_frame(processor_name="other", analysis_date=[d(9)], entity_id="DATE_LEVEL",
                      category=Category.PROCESSING_ERROR, reason="z"),
    ])
    frame = st.coverage_frame(calendar, [d(3), d(9)], ["psza", "pdc"], rows, failures)
    got = {(a, t.day): (s, c) for a, t, s, c in zip(frame["asset"], frame["date"], frame["status"], frame["category"])}
    assert got == {
        ("psza", 3): (st.MISSING, None), ("psza", 9): (st.OK, None),
        ("pdc", 3): (st.DATE_FAILED, "PROCESSING_ERROR"), ("pdc", 9): (st.MISSING, None),
    }
    report = st.range_report(frame).set_index("asset")
    # the failed no-game date is not expected for pdc, so it is not counted
    assert (report.loc["pdc", "expected"], report.loc["pdc", "date_level_failures"]) == (1, 0)
    assert report.loc["psza", "status"] == "INCOMPLETE"


def test_row_counts_generic_path_matches_duckdb_query(warehouse):
    class Generic(type(warehouse)):
        dialect: str = "generic"  # not "duckdb": counts through read() in pandas

    generic = Generic(database=warehouse.database)
    a = read_row_counts(warehouse, START, END).sort_values(["asset", "analysis_date"]).reset_index(drop=True)
    b = read_row_counts(generic, START, END).sort_values(["asset", "analysis_date"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_dtype=False)
    assert a.groupby("asset")["rows"].sum().to_dict() == {
        "psza": 240, "tdza": 200, "pdc": 64, "pcf": 32, "mlfs": 16,
    }


def test_latest_data_date(warehouse, tmp_path):
    from nba_precompute.coverage.load import latest_data_date
    from nba_precompute.warehouse.duckdb import DuckDBWarehouse

    assert latest_data_date(warehouse) == d(8)
    empty = DuckDBWarehouse(database=str(tmp_path / "empty.duckdb"))
    assert latest_data_date(empty) is None


def test_latest_data_date_generic_path(warehouse):
    from nba_precompute.coverage.load import latest_data_date

    class Generic(type(warehouse)):
        dialect: str = "generic"

    assert latest_data_date(Generic(database=warehouse.database)) == d(8)
