"""Phase 3 arrival: one GROUP BY per table, changes since a JSON cursor, and which Phase 4
(asset, D) become requestable, on real 2022-23 dates landing day by day."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest
import sqlglot

from nba_precompute.operations import arrival as ar
from nba_precompute.phase3.contract import PHASE3_TABLES
from nba_precompute.season import SeasonCalendar
from nba_precompute_tests.conftest import load_real_season

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def season():
    return load_real_season("nba-2022-23")


@pytest.fixture(scope="module")
def calendar(season):
    return SeasonCalendar(season[ar.SCHED])


@pytest.fixture(scope="module")
def full(season):
    """Snapshots of the whole season, through the DuckDB query of each table."""
    con = duckdb.connect()
    for t in PHASE3_TABLES:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {t.dataset}")
        con.register("frame", season[t.fqn])
        con.execute(f"CREATE TABLE {t.fqn} AS SELECT * FROM frame")
        con.unregister("frame")
    return {t.fqn: ar.snapshot_from_frame(con.execute(ar.snapshot_sql(t, "duckdb")).df()) for t in PHASE3_TABLES}


def landed_through(full, day: str, late: dict[str, set[str]] | None = None):
    """What has landed by the morning of `day`: game results (PGS, TOGS, TDGS) through day-1, the
    upcoming_* tables through `day`, the whole schedule; `late` holds back (table, dates)."""
    out = {}
    for t, snap in full.items():
        upto = day if t in (ar.UPCG, ar.UTGC, ar.SCHED) else str((pd.Timestamp(day) - pd.Timedelta(days=1)).date())
        out[t] = {d: v for d, v in snap.items()
                  if (t == ar.SCHED or d <= upto) and d not in (late or {}).get(t, set())}
    return out


def test_snapshot_is_one_group_by_per_table_with_rows_and_max_processed_at(full, season):
    upcg = season[ar.UPCG]
    d = "2023-01-18"
    assert full[ar.UPCG][d][0] == int((pd.to_datetime(upcg["game_date"]) == pd.Timestamp(d)).sum())
    assert full[ar.UPCG][d][1] == "2023-04-09T12:00:00+00:00"  # processed_at of the shared data
    assert full[ar.SCHED][d] == (int((pd.to_datetime(season[ar.SCHED]["game_date"]) == pd.Timestamp(d)).sum()), None)
    assert len(full[ar.PGS]) == 164


@pytest.mark.parametrize("table", PHASE3_TABLES, ids=lambda t: t.name)
def test_bigquery_snapshot_query_parses_and_names_the_project(table):
    text = ar.snapshot_sql(table, "bigquery", project="nba-props-prod")
    (tree,) = sqlglot.parse(text, read="bigquery", error_level=sqlglot.ErrorLevel.RAISE)
    assert f"`nba-props-prod.{table.dataset}.{table.name}`" in text
    assert tree.find(sqlglot.exp.Group) is not None


def test_a_day_lands_and_all_five_assets_of_that_date_are_requested(full, calendar):
    day = "2023-01-18"
    p = ar.plan(ar.Cursor(), landed_through(full, day), calendar, [day])
    assert p.by_date() == {day: ["psza", "tdza", "pdc", "pcf", "mlfs"]}
    assert set(p.requests["why"]) == {ar.NEW}
    # the same snapshot again: nothing to request
    again = ar.plan(ar.Cursor.from_json(p.cursor.to_json()), landed_through(full, day), calendar, [day])
    assert again.requests.empty and again.arrivals.empty


def test_late_utgc_delays_only_pcf_and_mlfs_then_they_run_when_it_lands(full, calendar):
    day = "2023-01-18"
    late = ar.plan(ar.Cursor(), landed_through(full, day, late={ar.UTGC: {day}}), calendar, [day])
    assert late.by_date() == {day: ["psza", "tdza", "pdc"]}
    waiting = late.readiness.set_index("asset").loc[["pcf", "mlfs"], "waiting_for"]
    assert waiting["pcf"] == [f"{ar.UTGC} {day}"]
    assert waiting["mlfs"] == [f"pcf {day} (waiting for {ar.UTGC} {day})"]
    landed = ar.plan(late.cursor, landed_through(full, day), calendar, [day])
    assert landed.by_date() == {day: ["pcf", "mlfs"]}
    assert landed.arrivals[["table", "date", "change"]].values.tolist() == [[ar.UTGC, day, ar.NEW]]


def test_a_redelivered_utgc_re_requests_exactly_pcf_and_mlfs_of_that_date(full, calendar):
    days = ["2023-01-17", "2023-01-18"]
    snaps = landed_through(full, days[-1])
    first = ar.plan(ar.Cursor(), snaps, calendar, days)
    redelivered = {**snaps, ar.UTGC: {**snaps[ar.UTGC], "2023-01-17": (snaps[ar.UTGC]["2023-01-17"][0],
                                                                        "2023-04-10T08:00:00+00:00")}}
    p = ar.plan(first.cursor, redelivered, calendar, days)
    assert p.requests.values.tolist() == [["pcf", "2023-01-17", ar.CHANGED], ["mlfs", "2023-01-17", ar.CHANGED]]
    assert p.arrivals["change"].tolist() == [ar.CHANGED]


def test_a_changed_game_result_re_requests_the_later_dates_that_read_it(full, calendar):
    days = ["2023-01-16", "2023-01-17", "2023-01-18"]
    snaps = landed_through(full, days[-1])
    first = ar.plan(ar.Cursor(), snaps, calendar, days)
    n, ts = snaps[ar.TDGS]["2023-01-16"]
    p = ar.plan(first.cursor, {**snaps, ar.TDGS: {**snaps[ar.TDGS], "2023-01-16": (n, "2023-04-11T00:00:00+00:00")}},
                calendar, days)
    # tdza reads TDGS history: the dates after the 16th, and their consumers pcf and mlfs
    assert p.by_date() == {"2023-01-17": ["tdza", "pcf", "mlfs"], "2023-01-18": ["tdza", "pcf", "mlfs"]}


def test_missing_game_results_hold_back_history_assets_only(full, calendar):
    day = "2023-01-18"
    p = ar.plan(ar.Cursor(), landed_through(full, day, late={ar.PGS: {"2023-01-17"}}), calendar, [day])
    # psza and pdc read PGS history; pcf and mlfs read psza: only tdza goes ahead
    assert p.by_date() == {day: ["tdza"]}
    r = p.readiness.set_index("asset")
    assert r.loc["psza", "waiting_for"] == [f"{ar.PGS} 2023-01-17"]


def test_off_season_bootstrap_and_no_game_dates_need_no_upcoming_data(full, calendar):
    dates = ["2022-07-01", "2022-10-20", "2022-12-24"]  # off-season, bootstrap day 2, Christmas Eve (no games)
    p = ar.plan(ar.Cursor(), {ar.SCHED: full[ar.SCHED], ar.PGS: full[ar.PGS], ar.TOGS: full[ar.TOGS],
                              ar.TDGS: full[ar.TDGS]}, calendar, dates)
    assert p.by_date() == {d: ["psza", "tdza", "pdc", "pcf", "mlfs"] for d in dates}


def test_cursor_round_trips_and_refuses_another_version(full, calendar):
    p = ar.plan(ar.Cursor(), landed_through(full, "2023-01-18"), calendar, ["2023-01-18"])
    assert ar.Cursor.from_json(p.cursor.to_json()) == p.cursor
    with pytest.raises(ValueError, match="arrival cursor version 0, expected 1"):
        ar.Cursor.from_json('{"version": 0}')
