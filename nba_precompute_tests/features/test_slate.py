"""The slate and the helpers shared by pdc, pcf and mlfs (features/slate.py)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from nba_precompute.failures import FAILURE_COLUMNS
from nba_precompute.features.slate import (
    NO_SEASON,
    conform,
    latest_team_context,
    phase4_on,
    range_guard,
    season_index,
    slate,
    split_missing_context,
    with_season,
)
from nba_precompute.phase3.contract import (
    SCHEDULE,
    UPCOMING_PLAYER_GAME_CONTEXT,
    UPCOMING_TEAM_GAME_CONTEXT,
)
from nba_precompute.season import SeasonCalendar
from nba_precompute.tables import PSZA
from nba_precompute.registry import ASSET_TABLES, ENTITY_COLUMN, output_columns

from nba_precompute_tests.frames import table_frame

D1, D2 = dt.date(2022, 11, 20), dt.date(2022, 11, 21)
T0 = pd.Timestamp("2022-11-19 12:00", tz="UTC")




def schedule() -> pd.DataFrame:
    games = [
        ("0022100001", dt.date(2021, 10, 19), 2021), ("0022101230", dt.date(2022, 4, 10), 2021),
        ("0022200001", dt.date(2022, 10, 18), 2022), ("0022200100", D1, 2022), ("0022200101", D2, 2022),
        ("0022201230", dt.date(2023, 4, 9), 2022),
    ]
    return table_frame(SCHEDULE, [
        dict(game_id=g, game_date=d, season_year=s, home_team_abbr="AAA", away_team_abbr="BBB",
             game_status=3, is_regular_season=True, is_playoffs=False) for g, d, s in games
    ])


def upcg(records):
    base = dict(game_id="0022200100", game_date=D1, team_abbr="AAA", opponent_team_abbr="BBB",
                processed_at=T0)
    return table_frame(UPCOMING_PLAYER_GAME_CONTEXT, [{**base, **r} for r in records])


def test_slate_one_row_per_player_with_latest_processed_at():
    frame = upcg([
        dict(player_lookup="bob", team_abbr="OLD", processed_at=T0),
        dict(player_lookup="bob", team_abbr="NEW", processed_at=T0 + pd.Timedelta(hours=1)),
        dict(player_lookup="amy"),
        dict(player_lookup="bob", game_date=D2, team_abbr="D2"),
        dict(player_lookup="zed", game_date=dt.date(2022, 11, 22)),  # not asked for
    ])
    out = slate(frame, [D1, D2])
    assert list(zip(out["analysis_date"].dt.date, out["player_lookup"], out["team_abbr"])) == [
        (D1, "amy", "AAA"), (D1, "bob", "NEW"), (D2, "bob", "D2"),
    ]
    assert out["analysis_date"].dtype == "datetime64[ns]"
    assert (out["analysis_date"] == out["game_date"]).all()


def test_slate_null_processed_at_counts_as_oldest():
    frame = upcg([
        dict(player_lookup="bob", team_abbr="DATED", processed_at=T0),
        dict(player_lookup="bob", team_abbr="UNDATED", processed_at=None),
    ])
    assert slate(frame, [D1])["team_abbr"].tolist() == ["DATED"]


@pytest.mark.parametrize(
    "dates", [[D1], ["2022-11-20"], [pd.Timestamp("2022-11-20")], pd.DatetimeIndex(["2022-11-20"]),
              np.array(["2022-11-20"], dtype="datetime64[D]")],
)
def test_slate_accepts_any_date_representation(dates):
    frame = upcg([dict(player_lookup="amy"), dict(player_lookup="bob", game_date=D2)])
    as_datetime64 = frame.assign(game_date=pd.to_datetime(frame["game_date"]).astype("datetime64[us]"))
    for f in (frame, as_datetime64):
        out = slate(f, dates)
        assert out["player_lookup"].tolist() == ["amy"]
        assert out["analysis_date"].tolist() == [pd.Timestamp(D1)]


def test_latest_team_context_one_row_per_team():
    frame = table_frame(UPCOMING_TEAM_GAME_CONTEXT, [
        dict(team_abbr="AAA", game_id="g", game_date=D1, game_total=200.0, processed_at=T0),
        dict(team_abbr="AAA", game_id="g", game_date=D1, game_total=210.0,
             processed_at=T0 + pd.Timedelta(1, "h")),
        dict(team_abbr="BBB", game_id="g", game_date=D1, game_total=None, processed_at=T0),
        dict(team_abbr="AAA", game_id="h", game_date=D2, game_total=220.0, processed_at=T0),
    ])
    out = latest_team_context(frame, [D1])
    assert out["team_abbr"].tolist() == ["AAA", "BBB"]
    assert out["game_total"].iloc[0] == 210.0


def test_split_missing_context_names_the_null_field():
    frame = slate(upcg([
        dict(player_lookup="amy"),
        dict(player_lookup="bob", team_abbr=None),
        dict(player_lookup="cat", opponent_team_abbr=None),
        dict(player_lookup="dan", team_abbr=None, opponent_team_abbr=None),
    ]), [D1])
    valid, failures = split_missing_context(frame, "pcf")
    assert valid["player_lookup"].tolist() == ["amy"]
    assert list(failures.columns) == FAILURE_COLUMNS
    assert failures["entity_id"].tolist() == ["bob", "cat", "dan"]
    assert failures["failure_reason"].tolist() == [
        "UPCG row lacks team_abbr", "UPCG row lacks opponent_team_abbr", "UPCG row lacks team_abbr",
    ]
    assert set(failures["failure_category"]) == {"MISSING_DATA"}
    assert failures["can_retry"].all()
    assert set(failures["processor_name"]) == {"pcf"}


def test_phase4_on_filters_dates_and_handles_absent_producers():
    rows = pd.DataFrame({
        "analysis_date": [D1, D2], "player_lookup": ["amy", "amy"], "paint_rate_last_10": [40.0, 50.0],
    })
    out = phase4_on(rows, [D2], "player_lookup", ["paint_rate_last_10"], "p_")
    assert out["p_paint_rate_last_10"].tolist() == [50.0]
    assert out["p_exists"].tolist() == [True]
    for empty in (None, pd.DataFrame({c: [] for c in PSZA.column_names})):
        out = phase4_on(empty, [D1], "player_lookup", ["paint_rate_last_10"], "p_")
        assert len(out) == 0 and "p_paint_rate_last_10" in out.columns and "p_exists" in out.columns


def test_season_index_keeps_only_this_season_from_its_opener():
    cal = SeasonCalendar(schedule())
    games = pd.DataFrame({
        "player_lookup": ["amy"] * 4,
        "game_id": ["a", "b", "c", "d"],
        "game_date": [dt.date(2022, 4, 1), dt.date(2022, 10, 10), dt.date(2022, 10, 20), D1],
        "season_year": [2021, 2022, 2022, 2022],  # b is a pre-opener (preseason) row
        "points": [50, 40, 10, 99],
    })
    queries = pd.DataFrame({"analysis_date": pd.to_datetime([D1, "2022-06-01"]),
                            "player_lookup": ["amy"] * 2})
    q = with_season(queries, cal)
    assert q["season_year"].tolist() == [2022, NO_SEASON]
    w = season_index(games, "player_lookup", cal).locate(q)
    assert w.count().tolist() == [1, 0]  # only game c: a is last season, b pre-opener, d is on D
    assert w.mean("points")[0] == 10.0


def test_range_guard_drops_and_reports_out_of_range_rows():
    rows = pd.DataFrame({
        "analysis_date": pd.to_datetime([D1] * 4), "player_lookup": ["a", "b", "c", "d"],
        "fatigue_score": pd.array([50, 120, -1, None], dtype="Int64"),
    })
    kept, failures = range_guard(rows, "fatigue_score", 0, 100, "pcf")
    assert kept["player_lookup"].tolist() == ["a", "d"]
    assert failures["entity_id"].tolist() == ["b", "c"]
    assert failures["failure_reason"].tolist() == [
        "fatigue_score 120 outside [0, 100]", "fatigue_score -1 outside [0, 100]",
    ]
    assert set(failures["failure_category"]) == {"VALIDATION_ERROR"}
    assert not failures["can_retry"].any()


def test_conform_types_and_order():
    frame = pd.DataFrame({
        "analysis_date": [D2, D1], "player_lookup": ["b", "a"], "cache_date": [D2, D1],
        "games_played_season": [12.0, np.nan], "points_avg_last_5": [np.inf, 1.5],
        "early_season_flag": [True, None], "primary_scoring_zone": [np.nan, "paint"],
    })
    out = conform(ASSET_TABLES["pdc"], frame, ENTITY_COLUMN["pdc"])
    assert list(out.columns) == output_columns("pdc")
    assert out["player_lookup"].tolist() == ["a", "b"]
    assert out["analysis_date"].dtype == "datetime64[ns]"
    assert str(out["games_played_season"].dtype) == "Int64"
    assert out["games_played_season"].isna().tolist() == [True, False]
    assert out["points_avg_last_5"].dtype == "float64"
    assert np.isnan(out["points_avg_last_5"][1])  # Inf -> NULL
    assert str(out["early_season_flag"].dtype) == "boolean"
    assert out["primary_scoring_zone"].tolist() == ["paint", None]
    assert out["universal_player_id"].tolist() == [None, None]
