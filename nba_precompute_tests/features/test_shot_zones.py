"""psza (PRECOMPUTE.md §7.1) on hand-built frames; expected values are worked out by hand."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from nba_precompute.features.shot_zones import compute_psza
from nba_precompute.season import SeasonCalendar
from nba_precompute.registry import output_columns
from nba_precompute_tests.conftest import load_real_season

OPENER = pd.Timestamp("2022-10-01")  # season_year 2022
OPENER_2021 = pd.Timestamp("2021-10-19")  # a season without zone data


def schedule(*seasons: tuple[int, str, str]) -> pd.DataFrame:
    """Two regular-season games per season (opener and last day) define the windows."""
    rows = []
    for season, first, last in seasons:
        for i, day in enumerate((first, last)):
            rows.append(
                dict(
                    game_id=f"00{season % 100}{i:06d}", game_date=pd.Timestamp(day).date(),
                    season_year=season,
                    home_team_abbr="AAA", away_team_abbr="BBB", game_status=3,
                    is_regular_season=True, is_playoffs=False,
                )
            )
    return pd.DataFrame(rows)


CAL = SeasonCalendar(schedule((2021, "2021-10-19", "2022-04-10"), (2022, "2022-10-01", "2023-04-01")))


def game(player, day, *, opener=OPENER, season=2022, paint=(0, 0), mid=(0, 0), three=(0, 0), fg_makes=None,
         assisted=None, unassisted=None, upid=None, minutes=20.0, active=True, dnp=False, points=10,
         fga=None, fta=0, game_id=None):
    """One PGS row on opener + day; zone tuples are (attempts, makes), None for NULL."""
    date = opener + pd.Timedelta(days=day)
    pa, pm = paint if paint is not None else (None, None)
    ma, mm = mid if mid is not None else (None, None)
    ta, tm = three
    if fga is None:
        fga = sum(x for x in (pa, ma, ta) if x is not None)
    if fg_makes is None:
        fg_makes = sum(x for x in (pm, mm, tm) if x is not None)
    return dict(
        player_lookup=player, universal_player_id=upid, player_name=player.title(),
        game_id=game_id or f"{season % 100:02d}{day:04d}{player[:4]:>4}", game_date=date.date(),
        season_year=season,
        team_abbr="AAA", opponent_team_abbr="BBB", home_game=True, starter=True,
        is_active=active, is_dnp=dnp, minutes_played=minutes, points=points,
        fg_makes=fg_makes, fg_attempts=fga, three_pt_makes=tm, three_pt_attempts=ta,
        ft_makes=0, ft_attempts=fta,
        offensive_rebounds=0, defensive_rebounds=0, assists=0, turnovers=0,
        paint_makes=pm, paint_attempts=pa, mid_range_makes=mm, mid_range_attempts=ma,
        assisted_fg_makes=assisted, unassisted_fg_makes=unassisted, usage_rate=20.0, ts_pct=0.5,
        processed_at=pd.Timestamp("2023-04-02", tz="UTC"),
    )


def frame(rows) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    for c in ["points", "fg_makes", "fg_attempts", "three_pt_makes", "three_pt_attempts", "ft_makes",
              "ft_attempts", "paint_makes", "paint_attempts", "mid_range_makes", "mid_range_attempts",
              "assisted_fg_makes", "unassisted_fg_makes", "season_year"]:
        df[c] = pd.array(df[c].astype("object").where(df[c].notna(), None), dtype="Int64")
    df["minutes_played"] = df["minutes_played"].astype("float64")
    return df


def run(rows, dates):
    result = compute_psza(frame(rows), CAL, dates)
    check_contract(result)
    return result


def check_contract(result):
    rows, failures, candidates = result.rows, result.failures, result.candidates
    assert list(rows.columns) == output_columns("psza")
    assert str(rows["analysis_date"].dtype) == "datetime64[ns]"
    for c in ("games_in_sample_10", "games_in_sample_20", "total_shots_last_10"):
        assert str(rows[c].dtype) == "Int64"
    assert str(rows["early_season_flag"].dtype) == "boolean"
    for c in ("player_lookup", "universal_player_id", "primary_scoring_zone", "calculation_notes"):
        assert rows[c].dtype == object
        assert not any(isinstance(v, float) for v in rows[c])  # NULL is None, never NaN
    assert rows.equals(rows.sort_values(["analysis_date", "player_lookup"]).reset_index(drop=True))
    # every candidate is exactly one row or one failure
    got = pd.concat(
        [rows[["analysis_date", "player_lookup"]],
         failures[["analysis_date", "entity_id"]].rename(columns={"entity_id": "player_lookup"})]
    )
    assert not got.duplicated().any()
    expected = candidates[["analysis_date", "player_lookup"]].to_numpy()
    assert set(map(tuple, got.to_numpy())) == set(map(tuple, expected))
    if len(failures):
        assert set(failures["failure_category"]) == {"INSUFFICIENT_DATA"}
        assert set(failures["processor_name"]) == {"psza"}
        assert not failures["can_retry"].any()


def row(result, player, date=None) -> pd.Series:
    r = result.rows[result.rows["player_lookup"] == player]
    if date is not None:
        r = r[r["analysis_date"] == pd.Timestamp(date)]
    assert len(r) == 1, f"expected one row for {player}"
    return r.iloc[0]


def is_null(v) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))


D30 = OPENER + pd.Timedelta(days=30)


def alice_games():
    """22 played games on days 1..22. Games 1-12 (old): paint 4 att/1 made, mid 0/0, three 6/2.
    Games 13-22 (recent ten): paint 6/3, mid 2/1, three 2/1, 5 makes of which 2 assisted."""
    old = [game("alice", d, paint=(4, 1), mid=(0, 0), three=(6, 2), upid="alice01") for d in range(1, 13)]
    recent = [game("alice", d, paint=(6, 3), mid=(2, 1), three=(2, 1), assisted=2, unassisted=3)
              for d in range(13, 23)]
    return old + recent


def non_played_rows():
    """Rows that are not played games (§2), with large zone numbers that would show if counted."""
    big = dict(paint=(50, 50), mid=(50, 50), three=(50, 50), upid="WRONG")
    return [
        game("alice", 23, dnp=True, active=False, points=None, minutes=None, **big),  # DNP
        game("alice", 24, active=False, **big),  # inactive
        game("alice", 25, points=None, **big),  # no points
        game("alice", 26, minutes=0.0, fga=0, fta=0, **big),  # 0 minutes, 0 FGA, 0 FTA
        game("dnpdan", 5, dnp=True, active=False, points=None, minutes=None),  # only DNP rows
    ]


# --- windows, rates, FG% ------------------------------------------------------------------------
def test_l10_l20_windows_rates_and_pct():
    r = row(run(alice_games(), [D30]), "alice")
    assert r["games_in_sample_10"] == 10 and r["games_in_sample_20"] == 20
    assert (r["sample_quality_10"], r["sample_quality_20"]) == ("excellent", "excellent")
    # L10 = games 13..22: paint 60/30, mid 20/10, three 20/10, Att 100
    rates = (r["paint_rate_last_10"], r["mid_range_rate_last_10"], r["three_pt_rate_last_10"])
    assert rates == (60.0, 20.0, 20.0)
    assert r["total_shots_last_10"] == 100
    assert (r["paint_pct_last_10"], r["mid_range_pct_last_10"], r["three_pt_pct_last_10"]) == (0.5, 0.5, 0.5)
    per_game = [r[f"{z}_attempts_per_game"] for z in ("paint", "mid_range", "three_pt")]
    assert per_game == [6.0, 2.0, 2.0]
    # L20 = games 3..22: paint 40+60 = 100 of 200 attempts; makes 10+30 = 40
    assert r["paint_rate_last_20"] == 50.0
    assert r["paint_pct_last_20"] == 0.4
    # 20 assisted / 30 unassisted of 50 makes in L10
    assert (r["assisted_rate_last_10"], r["unassisted_rate_last_10"]) == (40.0, 60.0)
    assert r["primary_scoring_zone"] == "paint"
    assert r["data_quality_tier"] == "high"
    assert not r["early_season_flag"]
    assert r["calculation_notes"] is None
    assert r["universal_player_id"] == "alice01"  # most recent non-NULL (recent games have NULL)


def test_dnp_and_non_played_rows_are_ignored():
    base = run(alice_games(), [D30])
    with_dnp = run(alice_games() + non_played_rows(), [D30])
    pd.testing.assert_frame_equal(base.rows, with_dnp.rows)
    assert list(with_dnp.candidates["player_lookup"]) == ["alice"]  # dnpdan only has a DNP row
    assert with_dnp.failures.empty


def test_trend_window_needs_15_games():
    rows = []
    for name, n in (("bob", 14), ("cara", 15), ("dave", 10)):
        rows += [game(name, d, paint=(3, 1), mid=(1, 1), three=(1, 0)) for d in range(1, n + 1)]
    res = run(rows, [D30])
    bob, cara, dave = row(res, "bob"), row(res, "cara"), row(res, "dave")
    assert bob["games_in_sample_20"] == 14 and bob["sample_quality_20"] == "good"  # 14 = floor(0.7*20)
    assert is_null(bob["paint_rate_last_20"]) and is_null(bob["paint_pct_last_20"])
    assert bob["paint_rate_last_10"] == 60.0  # the 10-game columns are unaffected
    assert cara["games_in_sample_20"] == 15 and cara["sample_quality_20"] == "good"
    assert cara["paint_rate_last_20"] == 60.0  # 45 of 75
    assert cara["paint_pct_last_20"] == 0.333  # 15 / 45
    assert dave["sample_quality_20"] == "limited" and is_null(dave["paint_rate_last_20"])


# --- primary zone -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "paint, mid, three, expected",
    [
        (40, 20, 40, "paint"),  # paint >= 40 first, even with three at 40
        (39, 21, 40, "perimeter"),
        (30, 35, 35, "mid_range"),
        (34, 33, 33, "balanced"),
        (39, 35, 26, "mid_range"),
        (39, 34, 27, "balanced"),
    ],
)
def test_primary_zone_branches(paint, mid, three, expected):
    # all attempts in one game, nine more games without shots (still played: 20 minutes)
    rows = [game("pz", 1, paint=(paint, 0), mid=(mid, 0), three=(three, 0))]
    rows += [game("pz", d) for d in range(2, 11)]
    r = row(run(rows, [D30]), "pz")
    assert (r["paint_rate_last_10"], r["mid_range_rate_last_10"], r["three_pt_rate_last_10"]) == (
        float(paint), float(mid), float(three))
    assert r["primary_scoring_zone"] == expected


def test_no_attempts_gives_null_rates_but_zero_per_game():
    r = row(run([game("jon", d, minutes=10.0) for d in range(1, 11)], [D30]), "jon")
    for c in ("paint_rate_last_10", "mid_range_rate_last_10", "three_pt_rate_last_10", "paint_pct_last_10",
              "three_pt_pct_last_10", "primary_scoring_zone", "total_shots_last_10", "assisted_rate_last_10"):
        assert is_null(r[c]), c
    assert r["paint_attempts_per_game"] == 0.0 and r["three_pt_attempts_per_game"] == 0.0
    assert r["calculation_notes"] is None  # 0 attempts is not missing data


# --- NULL inputs --------------------------------------------------------------------------------
def test_null_zone_in_window_nulls_window_sums_only():
    # hal: paint NULL in game 5 (in L20, not in L10); ian: mid NULL in game 20 (in L10)
    rows = [game("hal", d, paint=None if d == 5 else (2, 1), mid=(1, 0), three=(1, 1)) for d in range(1, 21)]
    rows += [game("ian", d, paint=(2, 1), mid=None if d == 20 else (1, 0), three=(1, 1))
             for d in range(1, 21)]
    res = run(rows, [D30])
    hal, ian = row(res, "hal"), row(res, "ian")
    assert hal["paint_rate_last_10"] == 50.0 and hal["calculation_notes"] is None
    assert is_null(hal["paint_rate_last_20"]) and is_null(hal["paint_pct_last_20"])
    for c in ("paint_rate_last_10", "mid_range_rate_last_10", "three_pt_rate_last_10", "total_shots_last_10",
              "primary_scoring_zone", "mid_range_pct_last_10", "mid_range_attempts_per_game",
              "paint_rate_last_20"):
        assert is_null(ian[c]), c
    assert ian["paint_pct_last_10"] == 0.5 and ian["paint_attempts_per_game"] == 2.0
    assert ian["three_pt_pct_last_10"] == 1.0
    assert ian["calculation_notes"] == "mid_range zone data unavailable"


def test_season_without_zone_data():
    d = OPENER_2021 + pd.Timedelta(days=30)
    rows = [game("zed", k, opener=OPENER_2021, season=2021, paint=None, mid=None, three=(3, 1), fg_makes=4)
            for k in range(1, 11)]
    r = row(run(rows, [d]), "zed")
    for c in ("paint_rate_last_10", "mid_range_rate_last_10", "three_pt_rate_last_10", "total_shots_last_10",
              "paint_pct_last_10", "mid_range_pct_last_10", "paint_attempts_per_game",
              "mid_range_attempts_per_game", "paint_rate_last_20", "paint_pct_last_20",
              "primary_scoring_zone", "assisted_rate_last_10"):
        assert is_null(r[c]), c
    assert r["three_pt_pct_last_10"] == 0.333
    assert r["three_pt_attempts_per_game"] == 3.0
    assert r["calculation_notes"] == "paint zone data unavailable; mid_range zone data unavailable"
    assert r["data_quality_tier"] == "high"


# --- minimum games ramp -------------------------------------------------------------------------
def test_minimum_games_ramp_by_days_since_opener():
    rows = [game("eve", d, three=(1, 0)) for d in range(0, 41)]  # one game a day from the opener
    rows += [game("fay", d, three=(1, 0)) for d in range(0, 5)]  # 5 games
    rows += [game("gus", d, three=(1, 0)) for d in range(0, 7)]  # 7 games
    days = [3, 6, 14, 21, 22]
    res = run(rows, [OPENER + pd.Timedelta(days=d) for d in days])
    f = res.failures.set_index(["analysis_date", "entity_id"])

    def day(d):
        return OPENER + pd.Timedelta(days=d)

    # day 3: m_p = 3 + 1 = 4; eve has 3 games (days 0-2), fay 3, gus 3
    for p in ("eve", "fay", "gus"):
        rec = f.loc[(day(3), p)]
        assert (rec["expected_game_count"], rec["actual_game_count"]) == (4, 3)
        assert rec["failure_reason"] == "Only 3 games, need 4"
    # day 6: m_p = 5: eve 6, fay 5 (row), gus 6
    e6 = row(res, "eve", day(6))
    assert e6["early_season_flag"] and e6["games_in_sample_10"] == 6
    assert (e6["sample_quality_10"], e6["sample_quality_20"], e6["data_quality_tier"]) == (
        "limited", "insufficient", "low")
    assert row(res, "fay", day(6))["games_in_sample_10"] == 5
    # day 14: m_p = 3 + 4 = 7: fay 5 -> failure; gus 7 -> row (good / medium)
    rec = f.loc[(day(14), "fay")]
    assert (rec["expected_game_count"], rec["actual_game_count"]) == (7, 5)
    g14 = row(res, "gus", day(14))
    assert (g14["sample_quality_10"], g14["data_quality_tier"]) == ("good", "medium")
    # day 21: m_p = min(3 + 7, 9) = 9 (still early); day 22: m_p = 10
    assert row(res, "eve", day(21))["early_season_flag"]
    rec = f.loc[(day(21), "gus")]
    assert (rec["expected_game_count"], rec["actual_game_count"]) == (9, 7)
    e22 = row(res, "eve", day(22))
    assert not e22["early_season_flag"] and e22["games_in_sample_20"] == 20
    rec = f.loc[(day(22), "fay")]
    assert (rec["expected_game_count"], rec["actual_game_count"], rec["failure_reason"]) == (
        10, 5, "Only 5 games, need 10")
    assert len(res.failures) == 3 + 1 + 2 + 2  # day 3: 3; day 14: fay; day 21: fay, gus; day 22: fay, gus


def test_previous_season_and_pre_opener_games_do_not_count():
    rows = [game("kim", d, opener=OPENER_2021, season=2021, three=(2, 1)) for d in range(1, 11)]
    rows += [game("kim", -5, three=(9, 9)), game("kim", -4, three=(9, 9))]  # season 2022, before its opener
    rows += [game("kim", d, three=(1, 1)) for d in range(1, 4)]
    res = run(rows, [D30])
    assert res.rows.empty
    rec = res.failures.iloc[0]
    assert (rec["entity_id"], rec["expected_game_count"], rec["actual_game_count"]) == ("kim", 10, 3)


# --- time semantics -----------------------------------------------------------------------------
def test_no_look_ahead():
    rows = alice_games() + [game("bob", d, paint=(3, 1), mid=(1, 1), three=(1, 0)) for d in range(1, 15)]
    base = run(rows, [D30])
    later = rows + [
        game("alice", 30, paint=(20, 20), three=(5, 5), upid="LATE"),  # dated D itself
        game("alice", 31, paint=(20, 20)),
        game("bob", 30, mid=(9, 9)),
        game("newbie", 30, paint=(1, 1)),  # first game on D: not a candidate yet
    ]
    after = run(later, [D30])
    pd.testing.assert_frame_equal(base.rows, after.rows)
    pd.testing.assert_frame_equal(base.failures, after.failures)
    pd.testing.assert_frame_equal(base.candidates, after.candidates)


def test_range_equals_single_dates_and_accepts_date_objects():
    rows = [game("eve", d, paint=(d % 3, 1 if d % 3 else 0), three=(2, d % 2)) for d in range(0, 41)]
    rows += [game("fay", d, mid=(2, 1), three=(1, 0)) for d in range(0, 41, 2)]
    dates = [(OPENER + pd.Timedelta(days=d)).date() for d in range(0, 45)]
    ranged = run(rows, dates)
    singles = [run(rows, [d]) for d in dates]
    for part in ("rows", "failures", "candidates"):
        pd.testing.assert_frame_equal(
            getattr(ranged, part), pd.concat([getattr(s, part) for s in singles], ignore_index=True)
        )


def test_off_season_dates_have_no_candidates():
    res = run(alice_games(), [dt.date(2022, 7, 1)])
    assert res.rows.empty and res.failures.empty and res.candidates.empty


# --- rounding -----------------------------------------------------------------------------------
def test_rounding_half_away_from_zero():
    # rob: 8 games by day 14 (m_p 7); all shots in game 1: paint 1/1, mid 2/1, three 157/0; Att 160
    rows = [game("rob", 0, paint=(1, 1), mid=(2, 1), three=(157, 0), fg_makes=32, assisted=1, unassisted=31)]
    rows += [game("rob", d, fg_makes=0, assisted=0, unassisted=0) for d in range(1, 8)]
    # rho: 10 games, 16 threes with 1 make -> 0.0625
    rows += [game("rho", 0, three=(16, 1))] + [game("rho", d) for d in range(1, 10)]
    res = run(rows, [OPENER + pd.Timedelta(days=14)])
    rob, rho = row(res, "rob"), row(res, "rho")
    assert rob["paint_rate_last_10"] == 0.63  # 0.625 (half-to-even would give 0.62)
    assert rob["mid_range_rate_last_10"] == 1.25
    assert rob["three_pt_rate_last_10"] == 98.13  # 98.125
    assert rob["paint_attempts_per_game"] == 0.1  # 0.125
    assert rob["mid_range_attempts_per_game"] == 0.3  # 0.25 (half-to-even: 0.2)
    assert rob["three_pt_attempts_per_game"] == 19.6  # 19.625
    assert rob["assisted_rate_last_10"] == 3.13  # 3.125 (half-to-even: 3.12)
    assert rob["unassisted_rate_last_10"] == 96.88  # 96.875
    assert rob["primary_scoring_zone"] == "perimeter"  # from unrounded rates
    assert rho["three_pt_pct_last_10"] == 0.063  # 0.0625 (half-to-even: 0.062)


# --- real data ----------------------------------------------------------------------------------
@pytest.mark.shared_data
def test_real_month_range_equals_date_by_date():
    data = load_real_season("nba-2022-23")
    pgs = data["nba_analytics.player_game_summary"]
    cal = SeasonCalendar(data["nba_reference.schedule"])
    dates = pd.date_range("2022-11-15", "2022-12-14")
    ranged = compute_psza(pgs, cal, dates)
    check_contract(ranged)
    singles = [compute_psza(pgs, cal, [d]) for d in dates]
    for part in ("rows", "failures", "candidates"):
        pd.testing.assert_frame_equal(
            getattr(ranged, part), pd.concat([getattr(s, part) for s in singles], ignore_index=True)
        )
    assert len(ranged.rows) > 30 * 300


@pytest.mark.shared_data
def test_real_date_matches_a_plain_reference():
    """One real date against a deliberately naive per-player implementation of §7.1."""
    data = load_real_season("nba-2022-23")
    pgs = data["nba_analytics.player_game_summary"]
    cal = SeasonCalendar(data["nba_reference.schedule"])
    d = pd.Timestamp("2023-01-20")
    res = compute_psza(pgs, cal, [d])
    g = pgs.copy()
    g["game_date"] = pd.to_datetime(g["game_date"])
    played = (g["is_active"] & ~g["is_dnp"] & g["points"].notna()
              & ((g["minutes_played"].fillna(0) > 0) | (g["fg_attempts"].fillna(0) > 0)
                 | (g["ft_attempts"].fillna(0) > 0)))
    g = g[played & (g["season_year"] == 2022) & (g["game_date"] < d)]
    out = res.rows.set_index("player_lookup")
    checked = 0
    for player, games in g.groupby("player_lookup"):
        games = games.sort_values(["game_date", "game_id"], ascending=False)
        if len(games) < 10:
            assert player not in out.index
            continue
        l10 = games.head(10)
        att = {z: int(l10[f"{z}_attempts"].sum()) for z in ("paint", "mid_range", "three_pt")}
        total = sum(att.values())
        r = out.loc[player]
        if total:
            assert r["total_shots_last_10"] == total
            assert r["paint_rate_last_10"] == pytest.approx(100 * att["paint"] / total, abs=0.005 + 1e-9)
        if att["three_pt"]:
            expected = l10["three_pt_makes"].sum() / att["three_pt"]
            assert r["three_pt_pct_last_10"] == pytest.approx(expected, abs=0.0005 + 1e-9)
        assert r["games_in_sample_20"] == min(len(games), 20)
        checked += 1
    assert checked > 300
    assert np.allclose(
        res.rows[["paint_rate_last_10", "mid_range_rate_last_10", "three_pt_rate_last_10"]].sum(axis=1), 100,
        atol=0.02)
