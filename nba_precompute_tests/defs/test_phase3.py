"""Phase 3 arrival events: per-date runless materializations with row counts."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pandas as pd

from nba_precompute.defs.phase3 import phase3_arrival_events, report_phase3_load, snapshot_of_frames
from nba_precompute.phase3.contract import SCHEDULE, PHASE3_TABLES
from nba_precompute.phase3.specs import asset_key

UTGC = next(t for t in PHASE3_TABLES if t.name == "upcoming_team_game_context")
PGS = next(t for t in PHASE3_TABLES if t.name == "player_game_summary")
D8, D9 = dt.date(2021, 11, 8), dt.date(2021, 11, 9)


def _frames():
    ts = pd.Timestamp("2021-11-10T03:00:00Z")
    return {
        SCHEDULE: pd.DataFrame({"game_date": [D8, D9, D9]}),
        PGS: pd.DataFrame({"game_date": [D8, D9, D9, D9], "processed_at": [ts, ts, ts, ts + pd.Timedelta("1h")]}),
        UTGC: pd.DataFrame({"game_date": [D8, D8], "processed_at": [ts, ts]}),
    }


def test_arrival_events_have_one_materialization_per_table_date_with_rows_and_the_schedule_unpartitioned():
    events = phase3_arrival_events(snapshot_of_frames(_frames()))
    by_key = {(e.asset_key, e.partition): e.metadata for e in events}
    assert by_key[(asset_key(SCHEDULE), None)]["dagster/row_count"].value == 3
    assert by_key[(asset_key(PGS), "2021-11-09")]["dagster/row_count"].value == 3
    assert by_key[(asset_key(PGS), "2021-11-09")]["max_processed_at"].value == "2021-11-10T04:00:00+00:00"
    assert by_key[(asset_key(UTGC), "2021-11-08")]["dagster/row_count"].value == 2
    assert (asset_key(UTGC), "2021-11-09") not in by_key  # no rows: no partition
    assert len(events) == 1 + 2 + 1


def test_reported_arrival_shows_in_the_partition_status_of_each_table():
    with dg.instance_for_test() as instance:
        assert report_phase3_load(instance, _frames()) == 4
        pgs = instance.get_materialized_partitions(asset_key(PGS))
        utgc = instance.get_materialized_partitions(asset_key(UTGC))
        assert pgs == {"2021-11-08", "2021-11-09"}
        assert utgc == {"2021-11-08"}
        latest = instance.get_latest_materialization_event(asset_key(SCHEDULE))
        assert latest.asset_materialization.metadata["dagster/row_count"].value == 3
