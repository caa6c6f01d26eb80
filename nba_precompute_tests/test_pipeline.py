"""The materialization flow (§4) over a warehouse: outcomes per date, dependency failures, reruns."""

import datetime as dt

import pandas as pd
import pytest

from nba_precompute.phase3.contract import PLAYER_GAME_SUMMARY, SCHEDULE
from nba_precompute_demo.season import write_season
from nba_precompute.phase3.loader import load_phase3
from nba_precompute.pipeline import BOOTSTRAP, COMPUTED, DEPENDENCY, NO_GAMES, OFF_SEASON, materialize_range, plan
from nba_precompute.season import SeasonCalendar
from nba_precompute.warehouse.duckdb import DuckDBWarehouse


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo")
    write_season(path, season_year=2021)
    return path


@pytest.fixture
def warehouse(tmp_path, demo_dir):
    w = DuckDBWarehouse(database=str(tmp_path / "w.duckdb"))
    load_phase3(demo_dir, w)
    w.ensure_tables()
    return w


def run(warehouse, asset, start, end):
    calendar = SeasonCalendar(warehouse.read_required(SCHEDULE))
    result = materialize_range(asset, calendar, pd.date_range(start, end), warehouse.read_required)
    warehouse.write_partitions(asset, result.dates, result.rows, result.failures, f"run-{asset}-{start}")
    return result


def test_plan_gives_each_date_its_calendar_outcome(warehouse):
    calendar = SeasonCalendar(warehouse.read_required(SCHEDULE))
    days = plan("pdc", calendar, ["2021-10-18", "2021-10-19", "2021-11-01", "2021-11-25", "2021-11-26"])
    assert days["outcome"].tolist() == [OFF_SEASON, BOOTSTRAP, BOOTSTRAP, NO_GAMES, None]  # Thanksgiving
    assert plan("psza", calendar, ["2021-11-25"])["outcome"].tolist() == [None]  # every season date


def test_bootstrap_dates_record_the_spec_reason_and_no_rows(warehouse):
    result = run(warehouse, "psza", "2021-10-30", "2021-11-03")
    failures = result.failures.set_index("analysis_date")
    assert failures.loc[pd.Timestamp("2021-10-30"), "failure_reason"] == (
        "Bootstrap period: day 11 of 14 after opener 2021-10-19")
    assert not failures.loc[pd.Timestamp("2021-10-30"), "can_retry"]
    assert result.days.set_index("analysis_date")["outcome"].to_dict() == {
        pd.Timestamp("2021-10-30"): BOOTSTRAP, pd.Timestamp("2021-10-31"): BOOTSTRAP,
        pd.Timestamp("2021-11-01"): BOOTSTRAP, pd.Timestamp("2021-11-02"): COMPUTED,
        pd.Timestamp("2021-11-03"): COMPUTED,
    }
    assert set(pd.to_datetime(result.rows["analysis_date"])) == {pd.Timestamp("2021-11-02"), pd.Timestamp("2021-11-03")}


def test_emptied_player_game_summary_fails_psza_by_date_and_a_rerun_after_restore_replaces_it(warehouse):
    original = warehouse.read(PLAYER_GAME_SUMMARY)
    season = (dt.date(2021, 10, 19), dt.date(2022, 4, 10))
    emptied = original[pd.to_datetime(original["game_date"]) >= pd.Timestamp("2021-11-20")].copy()
    emptied["game_date"] = pd.to_datetime(emptied["game_date"]).dt.date
    warehouse.replace_date_range({PLAYER_GAME_SUMMARY: emptied}, *season)

    run(warehouse, "psza", "2021-11-18", "2021-11-22")
    stored = warehouse.query(
        "SELECT analysis_date, entity_id, failure_category, failure_reason, can_retry "
        "FROM nba_processing.precompute_failures WHERE processor_name = 'psza' ORDER BY analysis_date"
    )
    assert stored["entity_id"].unique().tolist() == ["DATE_LEVEL"]
    assert stored["failure_reason"].tolist() == [
        f"Missing nba_analytics.player_game_summary for 2021-11-{d} (0 rows, need 30)" for d in (18, 19, 20, 21, 22)
    ]
    assert stored["can_retry"].all()
    assert warehouse.query("SELECT count(*) n FROM nba_precompute.player_shot_zone_analysis")["n"][0] == 0

    restored = original.copy()
    restored["game_date"] = pd.to_datetime(restored["game_date"]).dt.date
    warehouse.replace_date_range({PLAYER_GAME_SUMMARY: restored}, *season)
    result = run(warehouse, "psza", "2021-11-18", "2021-11-22")
    after = warehouse.query(
        "SELECT failure_category, count(*) n FROM nba_processing.precompute_failures "
        "WHERE processor_name = 'psza' GROUP BY 1")
    assert after["failure_category"].tolist() == ["INSUFFICIENT_DATA"]  # no DATE_LEVEL left, no duplicates
    rows = warehouse.query("SELECT analysis_date, count(*) n FROM nba_precompute.player_shot_zone_analysis GROUP BY 1")
    assert len(rows) == 5 and rows["n"].min() >= 30
    assert len(result.rows) == rows["n"].sum()


def test_missing_dependency_lets_the_other_dates_of_the_range_compute(warehouse):
    run(warehouse, "psza", "2021-11-05", "2021-11-10")
    run(warehouse, "tdza", "2021-11-05", "2021-11-10")
    warehouse.query("DELETE FROM nba_precompute.team_defense_zone_analysis WHERE analysis_date = DATE '2021-11-08'")
    result = run(warehouse, "pcf", "2021-11-05", "2021-11-10")
    outcome = result.days.set_index("analysis_date")["outcome"]
    assert outcome[pd.Timestamp("2021-11-08")] == DEPENDENCY
    assert (outcome.drop(pd.Timestamp("2021-11-08")) == COMPUTED).all()
    reason = result.failures[result.failures["entity_id"] == "DATE_LEVEL"]["failure_reason"].tolist()
    assert reason == ["Missing nba_precompute.team_defense_zone_analysis for 2021-11-08 (0 rows, need 25)"]
