"""pdc — player daily cache (PRECOMPUTE.md §7.3): worked values on hand-built frames, plus the
real 2022-23 season (ranged == date by date; spot values computed independently)."""

from __future__ import annotations

import datetime as dt
import statistics

import numpy as np
import pandas as pd
import pytest

from nba_precompute.features.daily_cache import compute_pdc
from nba_precompute.phase3.contract import (
    PLAYER_GAME_SUMMARY,
    SCHEDULE,
    TEAM_OFFENSE_GAME_SUMMARY,
    UPCOMING_PLAYER_GAME_CONTEXT,
)
from nba_precompute.season import SeasonCalendar
from nba_precompute.tables import PSZA
from nba_precompute.registry import output_columns

from nba_precompute_tests.frames import table_frame

D = dt.date(2022, 11, 20)
D2 = dt.date(2022, 11, 21)
T0 = pd.Timestamp("2022-11-19 12:00", tz="UTC")


# --- builders ----------------------------------------------------------------------------------


def calendar(last_day=dt.date(2023, 4, 9)) -> SeasonCalendar:
    games = [
        (dt.date(2021, 10, 19), 2021), (dt.date(2022, 4, 10), 2021),
        (dt.date(2022, 10, 18), 2022), (D, 2022), (D2, 2022), (last_day, 2022),
    ]
    return SeasonCalendar(table_frame(SCHEDULE, [
        dict(game_id=f"g{i}", game_date=d, season_year=s, home_team_abbr="AAA", away_team_abbr="BBB",
             game_status=3, is_regular_season=True, is_playoffs=False) for i, (d, s) in enumerate(games)
    ]))


_ids = iter(range(10**6))


def game(player, date, points, **kw) -> dict:
    """A played PGS row (30 minutes, 5/10 FG, 2 assisted, usage 20, ts 0.5) unless overridden."""
    row = dict(
        player_lookup=player, universal_player_id=None, player_name=player, game_id=f"{next(_ids):010d}",
        game_date=date, season_year=2022, team_abbr="AAA", opponent_team_abbr="BBB", home_game=True,
        starter=True, is_active=True, is_dnp=False, minutes_played=30.0, points=points, fg_makes=5,
        fg_attempts=10, three_pt_makes=1, three_pt_attempts=3, ft_makes=0, ft_attempts=0,
        assisted_fg_makes=2, unassisted_fg_makes=3, usage_rate=20.0, ts_pct=0.5, processed_at=T0,
    )
    row.update(kw)
    return row


def dnp(player, date) -> dict:
    return game(player, date, None, is_active=False, is_dnp=True, minutes_played=None, fg_makes=None,
                fg_attempts=None, ft_attempts=None, usage_rate=None, ts_pct=None)


def context(player, date=D, **kw) -> dict:
    row = dict(player_lookup=player, game_id="0022200100", game_date=date, team_abbr="AAA",
               opponent_team_abbr="BBB", home_game=True, back_to_back=False, season_phase="mid",
               days_rest=1, processed_at=T0)
    row.update(kw)
    return row


def nov(day: int) -> dt.date:
    return dt.date(2022, 11, day)


STAR_POINTS = [10, 20, 30, 14, 16, 18, 22, 24, 26, 28, 11, 13]  # 2022-11-01 .. 11-12, oldest first
STAR_MINUTES = [30, 30, 30, 32, 34, 36, 30, 28, 26, 40, 35, 31]
STAR_USAGE = [10, 10, 20, 22, 24, None, 26, 28, 30, 20, 25, 25]


def star_games() -> list[dict]:
    rows = [
        game("star", nov(1 + i), p, minutes_played=float(m), usage_rate=u,
             ts_pct=0.6 if i == 11 else 0.5, assisted_fg_makes=4 if i == 11 else 2)
        for i, (p, m, u) in enumerate(zip(STAR_POINTS, STAR_MINUTES, STAR_USAGE))
    ]
    rows += [
        dnp("star", nov(13)),  # DNP: never a game
        game("star", nov(14), 0, minutes_played=0.0, fg_attempts=0, ft_attempts=0),  # 0:00, no attempts
        game("star", dt.date(2022, 4, 5), 50, season_year=2021),  # last season
        game("star", dt.date(2022, 10, 10), 60),  # season_year 2022 but before the opener
    ]
    return rows


def base_inputs():
    pgs = star_games() + [
        game("rookie", nov(15), 8), game("rookie", nov(16), 9),
        game("ftonly", nov(15), 8), game("ftonly", nov(16), 9),
        # 0 minutes, no FGA, but free throws: a played game (§2)
        game("ftonly", nov(17), 2, minutes_played=0.0, fg_attempts=0, fg_makes=0, ft_attempts=2, ft_makes=2),
        *[game("stale", dt.date(2022, 10, 18 + i), 10) for i in range(3)],  # 3 games, last 10-20: 31 days
        *[game("edge", dt.date(2022, 10, 18 + i), 10) for i in range(4)],  # last 10-21: 30 days
    ]
    togs = [
        dict(game_id=f"t{i}", game_date=nov(1 + i), season_year=2022, team_abbr="AAA",
             opponent_team_abbr="BBB",
             home_game=True, win_flag=True, points=100, possessions=100.0, pace=90.0 + i,
             offensive_rating=100.0 + 2 * i, processed_at=T0)
        for i in range(12)
    ] + [
        dict(game_id="tlast", game_date=dt.date(2022, 4, 5), season_year=2021, team_abbr="AAA",
             opponent_team_abbr="BBB", pace=200.0, offensive_rating=200.0, processed_at=T0),
        dict(game_id="tD", game_date=D, season_year=2022, team_abbr="AAA", opponent_team_abbr="BBB",
             pace=300.0, offensive_rating=300.0, processed_at=T0),
    ]
    upcg = [
        context("star", games_in_last_7_days=3, games_in_last_14_days=6, back_to_backs_last_14_days=1,
                player_age=None, minutes_in_last_7_days=95.5, minutes_in_last_14_days=190.25,
                avg_minutes_per_game_last_7=31.8333),
        context("rookie"), context("ftonly"), context("newbie"), context("stale"),
        context("edge", team_abbr="CCC"),
        context("lost", team_abbr=None),
    ]
    psza = pd.DataFrame({c: [None, None] for c in PSZA.column_names})
    psza["analysis_date"] = [D, D2]
    psza["player_lookup"] = ["star", "star"]
    psza["universal_player_id"] = ["starxx01", "other"]
    psza["primary_scoring_zone"] = ["paint", "perimeter"]
    psza["paint_rate_last_10"] = [45.25, 1.0]
    psza["three_pt_rate_last_10"] = [20.5, 2.0]
    return (
        table_frame(PLAYER_GAME_SUMMARY, pgs),
        table_frame(TEAM_OFFENSE_GAME_SUMMARY, togs),
        table_frame(UPCOMING_PLAYER_GAME_CONTEXT, upcg),
        psza,
    )


def run(dates=(D,), pgs=None, togs=None, upcg=None, psza=None, cal=None):
    b_pgs, b_togs, b_upcg, b_psza = base_inputs()
    return compute_pdc(
        b_pgs if pgs is None else pgs, b_togs if togs is None else togs, b_upcg if upcg is None else upcg,
        b_psza if psza is None else psza, cal or calendar(), list(dates),
    )


def row_of(result, player) -> pd.Series:
    rows = result.rows[result.rows["player_lookup"] == player]
    assert len(rows) == 1, player
    return rows.iloc[0]


# --- worked values -----------------------------------------------------------------------------
def test_star_row_worked_values():
    r = row_of(run(), "star")
    assert r["analysis_date"] == pd.Timestamp(D) and r["cache_date"] == pd.Timestamp(D)
    assert (r["game_id"], r["team_abbr"], r["opponent_team_abbr"]) == ("0022200100", "AAA", "BBB")
    # L5 = 24, 26, 28, 11, 13; L10 = the last ten; H = all twelve (DNP, 0:00, last season, preseason ignored)
    assert r["points_avg_last_5"] == 20.4
    assert r["points_avg_last_10"] == 20.2
    assert r["points_avg_season"] == 19.3333  # 232 / 12, 4 dp
    assert r["points_std_last_10"] == 6.7132  # sample std (n - 1)
    assert r["points_std_last_10"] == round(statistics.stdev(STAR_POINTS[2:]), 4)
    assert r["minutes_avg_last_10"] == 32.2
    assert r["usage_rate_last_10"] == 24.4444  # 220 / 9: the NULL usage is skipped
    assert r["player_usage_rate_season"] == 21.8182  # 240 / 11
    assert r["ts_pct_last_10"] == 0.51  # a fraction
    assert r["assisted_rate_last_10"] == 44.0  # percent: 100 * 22 / 50
    assert r["games_played_season"] == 12
    # team: 10 most recent AAA games this season before D (not last season, not the game on D)
    assert r["team_pace_last_10"] == 96.5
    assert r["team_off_rating_last_10"] == 113.0
    # copied from UPCG as read
    assert r["games_in_last_7_days"] == 3 and r["games_in_last_14_days"] == 6
    assert r["back_to_backs_last_14_days"] == 1 and pd.isna(r["player_age"])
    assert r["minutes_in_last_7_days"] == 95.5 and r["minutes_in_last_14_days"] == 190.25
    assert r["avg_minutes_per_game_last_7"] == 31.8333
    # copied from the psza row of D
    assert r["universal_player_id"] == "starxx01"
    assert r["primary_scoring_zone"] == "paint"
    assert r["paint_rate_last_10"] == 45.25 and r["three_pt_rate_last_10"] == 20.5
    assert r["shot_zone_data_available"]
    assert not r["early_season_flag"] and r["insufficient_data_reason"] is None


def test_output_shape_types_and_accounting():
    res = run()
    assert list(res.rows.columns) == output_columns("pdc")
    assert res.rows["analysis_date"].dtype == "datetime64[ns]"
    assert str(res.rows["games_played_season"].dtype) == "Int64"
    assert str(res.rows["shot_zone_data_available"].dtype) == "boolean"
    assert res.rows["points_avg_last_5"].dtype == "float64"
    assert res.rows["player_lookup"].tolist() == ["edge", "ftonly", "star"]
    accounted = sorted(res.rows["player_lookup"].tolist() + res.failures["entity_id"].tolist())
    assert accounted == sorted(res.candidates["player_lookup"]) and len(set(accounted)) == len(accounted)
    assert list(res.candidates.columns) == ["analysis_date", "player_lookup"]


def test_failures_missing_insufficient_stale():
    f = run().failures.set_index("entity_id")
    assert f.loc["lost", "failure_category"] == "MISSING_DATA"
    assert f.loc["lost", "failure_reason"] == "UPCG row lacks team_abbr"
    assert f.loc["rookie", "failure_category"] == "INSUFFICIENT_DATA"
    assert f.loc["rookie", "failure_reason"] == "Only 2 games played, need 3 minimum"
    assert (f.loc["rookie", "expected_game_count"], f.loc["rookie", "actual_game_count"]) == (3, 2)
    assert not f.loc["rookie", "can_retry"]
    assert f.loc["newbie", "failure_reason"] == "Only 0 games played, need 3 minimum"
    assert f.loc["newbie", "actual_game_count"] == 0
    assert f.loc["stale", "failure_category"] == "STALE_DATA"
    assert f.loc["stale", "failure_reason"] == "No played game in 31 days (max 30)"
    assert f.loc["stale", "actual_game_count"] == 3 and pd.isna(f.loc["stale", "expected_game_count"])
    assert set(f["processor_name"]) == {"pdc"}


def test_thirty_days_is_not_stale_and_free_throw_game_counts():
    res = run()
    edge = row_of(res, "edge")  # last game exactly 30 days before D
    assert edge["games_played_season"] == 4
    assert np.isnan(edge["team_pace_last_10"]) and np.isnan(edge["team_off_rating_last_10"])  # no CCC games
    assert edge["universal_player_id"] is None and edge["primary_scoring_zone"] is None
    assert not edge["shot_zone_data_available"]
    ft = row_of(res, "ftonly")  # 0 minutes but 2 FTA is a played game: 3 games
    assert ft["games_played_season"] == 3
    assert ft["points_avg_season"] == round((8 + 9 + 2) / 3, 4) == 6.3333
    assert ft["early_season_flag"]
    assert ft["insufficient_data_reason"] == "Only 3 games played, need 10 minimum"


def test_assisted_rate_null_when_a_game_of_the_window_is_null():
    pgs, togs, upcg, psza = base_inputs()
    pgs.loc[(pgs["player_lookup"] == "star") & (pd.to_datetime(pgs["game_date"]) == pd.Timestamp(nov(12))),
            "assisted_fg_makes"] = pd.NA
    assert np.isnan(row_of(run(pgs=pgs), "star")["assisted_rate_last_10"])


def test_history_is_capped_at_82_games():
    start = dt.date(2022, 10, 18)
    pgs = table_frame(PLAYER_GAME_SUMMARY,
                      [game("iron", start + dt.timedelta(days=i), i) for i in range(90)])  # to 2023-01-15
    d = dt.date(2023, 1, 20)
    upcg = table_frame(UPCOMING_PLAYER_GAME_CONTEXT, [context("iron", date=d)])
    r = compute_pdc(pgs, base_inputs()[1], upcg, None, calendar(), [d]).rows.iloc[0]
    assert r["games_played_season"] == 82
    assert r["points_avg_season"] == 48.5  # points 8 .. 89
    assert r["player_usage_rate_season"] == 20.0
    assert r["points_avg_last_10"] == 84.5


def test_no_look_ahead_a_game_on_d_changes_nothing():
    pgs, togs, upcg, psza = base_inputs()
    before = run(pgs=pgs, togs=togs)
    more_pgs = pd.concat([pgs, table_frame(PLAYER_GAME_SUMMARY, [game("star", D, 99), game("rookie", D, 9)])],
                         ignore_index=True)
    more_togs = pd.concat([togs, table_frame(TEAM_OFFENSE_GAME_SUMMARY, [
        dict(game_id="tD2", game_date=D, season_year=2022, team_abbr="CCC", opponent_team_abbr="AAA",
             pace=1.0, offensive_rating=1.0, processed_at=T0)])], ignore_index=True)
    after = run(pgs=more_pgs, togs=more_togs)
    pd.testing.assert_frame_equal(before.rows, after.rows)
    pd.testing.assert_frame_equal(before.failures, after.failures)


def test_ranged_equals_date_by_date_synthetic():
    pgs, togs, upcg, psza = base_inputs()
    upcg = pd.concat([upcg, table_frame(UPCOMING_PLAYER_GAME_CONTEXT,
                                        [context("star", date=D2), context("rookie", date=D2)])],
                     ignore_index=True)
    pgs = pd.concat([pgs, table_frame(PLAYER_GAME_SUMMARY, [game("star", D, 40), game("rookie", D, 7)])],
                    ignore_index=True)
    ranged = run(dates=[D, D2], pgs=pgs, upcg=upcg)
    single = [run(dates=[d], pgs=pgs, upcg=upcg) for d in (D, D2)]
    pd.testing.assert_frame_equal(ranged.rows, pd.concat([s.rows for s in single], ignore_index=True))
    pd.testing.assert_frame_equal(ranged.failures, pd.concat([s.failures for s in single], ignore_index=True))
    on_d2 = ranged.rows[ranged.rows["analysis_date"] == pd.Timestamp(D2)].set_index("player_lookup")
    assert on_d2.loc["star", "games_played_season"] == 13  # the game on D counts for D + 1
    assert on_d2.loc["star", "universal_player_id"] == "other"  # the psza row of D2
    assert on_d2.loc["rookie", "games_played_season"] == 3


def test_datetime64_inputs_give_the_same_result():
    pgs, togs, upcg, psza = base_inputs()
    expected = run()
    as64 = run(
        pgs=pgs.assign(game_date=pd.to_datetime(pgs["game_date"]).astype("datetime64[us]")),
        togs=togs.assign(game_date=pd.to_datetime(togs["game_date"])),
        upcg=upcg.assign(game_date=pd.to_datetime(upcg["game_date"]).astype("datetime64[s]")),
        psza=psza.assign(analysis_date=pd.to_datetime(psza["analysis_date"])),
        dates=[pd.Timestamp(D)],
    )
    pd.testing.assert_frame_equal(expected.rows, as64.rows)
    pd.testing.assert_frame_equal(expected.failures, as64.failures)


def test_empty_slate():
    res = run(dates=[dt.date(2022, 12, 25)])
    assert len(res.rows) == 0 and len(res.failures) == 0 and len(res.candidates) == 0
    assert list(res.rows.columns) == output_columns("pdc")


# --- the real 2022-23 season -------------------------------------------------------------------
REAL = "nba-2022-23"


def _real():
    from nba_precompute_tests.conftest import load_real_season

    t = load_real_season(REAL)
    return (
        t["nba_analytics.player_game_summary"], t["nba_analytics.team_offense_game_summary"],
        t["nba_analytics.upcoming_player_game_context"], SeasonCalendar(t["nba_reference.schedule"]),
    )


def _november_game_dates(cal):
    frame = cal.frame(pd.date_range("2022-11-01", "2022-11-30"))
    return list(frame.loc[frame["is_game_date"] & ~frame["bootstrap"], "analysis_date"])


@pytest.mark.shared_data
def test_real_month_ranged_equals_date_by_date(shared_data_dir):
    pgs, togs, upcg, cal = _real()
    dates = _november_game_dates(cal)
    assert len(dates) >= 25
    psza = pd.DataFrame({c: [] for c in PSZA.column_names})  # no psza stand-in: copied columns NULL
    ranged = compute_pdc(pgs, togs, upcg, psza, cal, dates)
    single = [compute_pdc(pgs, togs, upcg, psza, cal, [d]) for d in dates]
    pd.testing.assert_frame_equal(ranged.rows, pd.concat([s.rows for s in single], ignore_index=True))
    pd.testing.assert_frame_equal(ranged.failures, pd.concat([s.failures for s in single], ignore_index=True))
    pd.testing.assert_frame_equal(ranged.candidates,
                                  pd.concat([s.candidates for s in single], ignore_index=True))
    assert len(ranged.rows) + len(ranged.failures) == len(ranged.candidates)
    assert len(ranged.rows) > 0.9 * len(ranged.candidates)


def _independent(pgs, togs, player, date):
    """The player's numbers on `date`, straight from player_game_summary / TOGS with plain pandas."""
    d = pd.Timestamp(date)
    p = pgs[(pgs["player_lookup"] == player) & (pgs["season_year"] == 2022)].copy()
    p["game_date"] = pd.to_datetime(p["game_date"])
    played = p[p["is_active"] & ~p["is_dnp"] & p["points"].notna()
               & ((p["minutes_played"] > 0) | (p["fg_attempts"] > 0) | (p["ft_attempts"] > 0))]
    before = played[played["game_date"] < d].sort_values(["game_date", "game_id"], ascending=False)
    team = before["team_abbr"].iloc[0]
    t = togs[(togs["team_abbr"] == team) & (togs["season_year"] == 2022)].copy()
    t["game_date"] = pd.to_datetime(t["game_date"])
    t10 = t[t["game_date"] < d].sort_values(["game_date", "game_id"], ascending=False).head(10)
    pts = before["points"].astype(float)
    return {
        "points_avg_last_5": pts.head(5).mean(),
        "points_avg_last_10": pts.head(10).mean(),
        "points_avg_season": pts.mean(),
        "points_std_last_10": pts.head(10).std(ddof=1),
        "minutes_avg_last_10": before["minutes_played"].head(10).mean(),
        "ts_pct_last_10": before["ts_pct"].head(10).mean(),
        "games_played_season": len(before),
        "team_pace_last_10": t10["pace"].mean(),
        "team_off_rating_last_10": t10["offensive_rating"].mean(),
    }


@pytest.mark.shared_data
@pytest.mark.parametrize("player, date", [("jaysontatum", "2022-11-21"), ("nikolajokic", "2022-11-22")])
def test_real_spot_values_match_an_independent_computation(shared_data_dir, player, date):
    pgs, togs, upcg, cal = _real()
    rows = compute_pdc(pgs, togs, upcg, None, cal, _november_game_dates(cal)).rows
    r = rows[(rows["player_lookup"] == player) & (rows["analysis_date"] == pd.Timestamp(date))]
    assert len(r) == 1
    r = r.iloc[0]
    for column, expected in _independent(pgs, togs, player, date).items():
        assert r[column] == pytest.approx(expected, abs=5e-5), column
    assert r["games_played_season"] >= 10 and not r["early_season_flag"]
