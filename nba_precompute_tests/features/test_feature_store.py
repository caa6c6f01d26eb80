"""mlfs — ML feature store (PRECOMPUTE.md §7.5): every source level, calculated feature, cap,
tier and data_source category, worked on hand-built frames; plus the real 2022-23 season."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from nba_precompute.features.feature_store import (
    CALCULATED,
    DEFAULT,
    MISSING,
    PHASE3,
    PHASE4,
    compute_mlfs,
    data_source_of,
    quality,
    quality_tier,
)
from nba_precompute.phase3.contract import (
    PLAYER_GAME_SUMMARY,
    SCHEDULE,
    TEAM_OFFENSE_GAME_SUMMARY,
    UPCOMING_PLAYER_GAME_CONTEXT,
    Table,
)
from nba_precompute.season import SeasonCalendar
from nba_precompute.tables import FEATURE_NAMES, PCF, PDC, PSZA, TDZA
from nba_precompute.registry import output_columns

from nba_precompute_tests.frames import table_frame

D = dt.date(2022, 11, 20)
D2 = dt.date(2022, 11, 21)
T0 = pd.Timestamp("2022-11-19 12:00", tz="UTC")




def calendar(seasons=((2021, dt.date(2021, 10, 19), dt.date(2022, 4, 10)),
                      (2022, dt.date(2022, 10, 18), dt.date(2023, 4, 9)))) -> SeasonCalendar:
    rows = []
    for season, opener, last in seasons:
        for i, d in enumerate([opener, last]):
            rows.append(dict(game_id=f"{season}{i}", game_date=d, season_year=season, home_team_abbr="AAA",
                             away_team_abbr="BBB", game_status=3, is_regular_season=True, is_playoffs=False))
    return SeasonCalendar(table_frame(SCHEDULE, rows))


_ids = iter(range(10**6))


def game(player, date, points, season=2022, **kw) -> dict:
    row = dict(player_lookup=player, player_name=player, game_id=f"{next(_ids):010d}", game_date=date,
               season_year=season, team_abbr="AAA", opponent_team_abbr="BBB", home_game=True, starter=True,
               is_active=True, is_dnp=False, minutes_played=30.0, points=points, fg_makes=4, fg_attempts=9,
               ft_makes=0, ft_attempts=0, three_pt_makes=0, three_pt_attempts=0, usage_rate=20.0, ts_pct=0.5,
               processed_at=T0)
    return {**row, **kw}


def team_game(team, date, win, season=2022) -> dict:
    return dict(game_id=f"t{next(_ids)}", game_date=date, season_year=season, team_abbr=team,
                opponent_team_abbr="ZZZ", home_game=True, win_flag=win, points=100, possessions=100.0,
                pace=100.0, offensive_rating=100.0, processed_at=T0)


def ctx(player, date=D, **kw) -> dict:
    row = dict(player_lookup=player, game_id="0022200100", game_date=date, team_abbr="AAA",
               opponent_team_abbr="BBB", home_game=True, back_to_back=False, season_phase="mid", days_rest=1,
               opponent_days_rest=1, games_in_last_7_days=3, player_status="available", processed_at=T0)
    return {**row, **kw}


def rows_of(table: Table, records) -> pd.DataFrame:
    return pd.DataFrame.from_records(list(records), columns=table.column_names)


def pdc_row(player, date=D, **kw):
    row = dict(analysis_date=date, player_lookup=player, points_avg_last_5=21.5, points_avg_last_10=20.25,
               points_avg_season=19.75, points_std_last_10=4.5, games_in_last_7_days=2,
               minutes_avg_last_10=33.0,
               team_pace_last_10=99.5, team_off_rating_last_10=115.25)
    return {**row, **kw}


def pcf_row(player, date=D, **kw):
    row = dict(analysis_date=date, player_lookup=player, fatigue_score=85, shot_zone_mismatch_score=2.4,
               pace_score=1.5, usage_spike_score=-0.6)
    return {**row, **kw}


def psza_row(player, date=D, **kw):
    row = dict(analysis_date=date, player_lookup=player, universal_player_id=f"{player}01",
               paint_rate_last_10=45.5, mid_range_rate_last_10=20.25, three_pt_rate_last_10=34.25)
    return {**row, **kw}


def tdza_row(team="BBB", date=D, **kw):
    row = dict(analysis_date=date, team_abbr=team, defensive_rating_last_15=110.5, opponent_pace=98.75)
    return {**row, **kw}


# "amy": 12 games this season, the last five (oldest first) 10, 10, 10, 20, 20; 3 FT makes each.
AMY_POINTS = [10] * 10 + [20, 20]


def amy_games():
    return [game("amy", dt.date(2022, 11, 1 + i), p, ft_makes=3) for i, p in enumerate(AMY_POINTS)]


def aaa_games():  # 6 AAA games this season, 4 wins; plus last season's and one on D (both ignored)
    return ([team_game("AAA", dt.date(2022, 11, 1 + i), i < 4) for i in range(6)]
            + [team_game("AAA", dt.date(2022, 4, 1), False, season=2021), team_game("AAA", D, False)])


def run(upcg, pgs=(), togs=(), c=(), f=(), p=(), t=(), dates=(D,), cal=None):
    return compute_mlfs(
        rows_of(PDC, c), rows_of(PCF, f), rows_of(PSZA, p), rows_of(TDZA, t),
        table_frame(PLAYER_GAME_SUMMARY, list(pgs)), table_frame(UPCOMING_PLAYER_GAME_CONTEXT, list(upcg)),
        table_frame(TEAM_OFFENSE_GAME_SUMMARY, list(togs)), cal or calendar(), list(dates),
    )


def only(result, player="amy") -> pd.Series:
    r = result.rows[result.rows["player_lookup"] == player]
    assert len(r) == 1
    return r.iloc[0]


def sources(row) -> dict:
    return json.loads(row["feature_sources"])


def features(row) -> list:
    return [row[name] for name in FEATURE_NAMES]


# --- phase4 everywhere -------------------------------------------------------------------------
def test_all_phase4_row_worked():
    res = run([ctx("amy", days_rest=2, opponent_days_rest=0, player_status="questionable")],
              amy_games(), aaa_games(), [pdc_row("amy")], [pcf_row("amy")], [psza_row("amy")], [tdza_row()])
    row = only(res)
    assert features(row) == [
        21.5, 20.25, 19.75, 4.5, 2.0,  # f00-f04 from pdc
        85.0, 2.4, 1.5, -0.6,  # f05-f08 from pcf
        2.0,  # f09 rest advantage 2 - 0
        2.0,  # f10 questionable
        2.0,  # f11: mean(20, 20) - mean(10, 10, 10) = 10
        1.0,  # f12: (33 - 30) / 30 = 0.10
        110.5, 98.75,  # f13, f14 from tdza
        1.0, 0.0, 0.0,  # f15 home, f16 back-to-back, f17 playoffs
        0.455, 0.2025, 0.3425,  # f18-f20: psza percent -> fraction
        0.25,  # f21: 30 FT makes / 120 points over L (10 games)
        99.5, 115.25,  # f22, f23 from pdc
        0.666666667,  # f24: 4 / 6, 9 dp
    ]
    expected_sources = {str(i): "phase4" for i in range(25)}
    expected_sources.update({str(i): "calculated" for i in (9, 10, 11, 12, 21, 24)})
    expected_sources.update({str(i): "phase3" for i in (15, 16, 17)})
    assert row["feature_sources"] == json.dumps(expected_sources)
    assert row["default_feature_count"] == 0
    assert row["feature_quality_score"] == 98.44  # (16 x 100 + 6 x 100 + 3 x 87) / 25
    assert row["quality_tier"] == "gold"
    assert row["data_source"] == "phase4"
    assert row["universal_player_id"] == "amy01"
    assert (row["game_id"], row["team_abbr"], row["opponent_team_abbr"]) == ("0022200100", "AAA", "BBB")
    assert row["game_date"] == row["analysis_date"] == pd.Timestamp(D)
    assert not row["early_season_flag"]  # |S| = 12


def test_missing_psza_caps_quality_at_69():
    res = run([ctx("amy")], amy_games(), aaa_games(), [pdc_row("amy")], [pcf_row("amy")], [], [tdza_row()])
    row = only(res)
    assert np.isnan([row["f18_pct_paint"], row["f19_pct_mid_range"], row["f20_pct_three"]]).all()
    assert [sources(row)[k] for k in ("18", "19", "20")] == ["missing"] * 3
    assert row["default_feature_count"] == 3
    assert row["feature_quality_score"] == 69.0  # 91.24 capped
    assert row["quality_tier"] == "poor"
    assert row["data_source"] == "phase4_partial"  # 13 of 16
    assert row["universal_player_id"] is None


# --- phase3 fallbacks and defaults --------------------------------------------------------------
def test_phase3_fallbacks_defaults_and_the_49_cap():
    bob = [game("bob", dt.date(2022, 11, 10 + i), p, minutes_played=20.0)
           for i, p in enumerate([5, 10, 15, 20, 25, 30])]
    row = only(run([ctx("bob", games_in_last_7_days=4)], bob, aaa_games()), "bob")
    assert features(row)[:5] == [20.0, 17.5, 17.5, 5.0, 4.0]  # L5 mean, L mean, S mean, default, u.games
    assert features(row)[5:9] == [50.0, 0.0, 0.0, 0.0]
    assert features(row)[11] == 2.0  # mean(30, 25) - mean(20, 15, 10) = 12.5
    assert features(row)[12] == 0.0  # no pdc: recent = mean minutes of L = 20 = base
    assert features(row)[13:15] == [112.0, 100.0]
    assert features(row)[21] == 0.0  # no free throws
    assert features(row)[22:24] == [100.0, 112.0]
    src = sources(row)
    assert [src[str(i)] for i in (0, 1, 2, 4)] == ["phase3"] * 4
    assert [src[str(i)] for i in (3, 5, 6, 7, 8, 13, 14, 22, 23)] == ["default"] * 9
    assert [src[str(i)] for i in (18, 19, 20)] == ["missing"] * 3
    assert row["default_feature_count"] == 12
    assert row["feature_quality_score"] == 49.0  # 67.56 capped at 49
    assert row["quality_tier"] == "critical"
    assert row["data_source"] == "mixed"  # 0 phase4, 4 phase3 of 16
    assert row["early_season_flag"]  # |S| = 6


def test_fallback_conditions_and_defaults():
    cat = [game("cat", dt.date(2022, 11, 10 + i), 8) for i in range(4)]  # |L| = 4
    res = run([ctx("cat"), ctx("dan", games_in_last_7_days=None, team_abbr="CCC")], cat,
              aaa_games() + [team_game("CCC", dt.date(2022, 11, 1 + i), True) for i in range(4)])
    c = only(res, "cat")
    assert (c["f00_points_avg_last_5"], sources(c)["0"]) == (10.0, "default")  # |L| < 5
    assert (c["f01_points_avg_last_10"], sources(c)["1"]) == (8.0, "phase3")
    assert (c["f04_games_in_last_7_days"], sources(c)["4"]) == (3.0, "phase3")
    assert c["f11_recent_trend"] == 0.0  # |L| < 5
    assert c["f21_pct_free_throw"] == 0.15  # |L| < 5
    d = only(res, "dan")  # no history at all
    assert features(d)[:5] == [10.0, 10.0, 10.0, 5.0, 3.0]
    assert [sources(d)[str(i)] for i in range(5)] == ["default"] * 5
    assert d["f12_minutes_change"] == 0.0
    assert d["f21_pct_free_throw"] == 0.15
    assert d["f24_team_win_pct"] == 0.5  # 4 CCC games < 5
    assert d["default_feature_count"] == 5 + 4 + 2 + 3 + 2


def test_non_finite_phase4_values_fall_through():
    res = run([ctx("amy")], amy_games(), aaa_games(),
              [pdc_row("amy", points_avg_last_5=np.nan, games_in_last_7_days=None, team_pace_last_10=np.inf)],
              [pcf_row("amy", fatigue_score=None)], [psza_row("amy", paint_rate_last_10=None)], [])
    row = only(res)
    assert (row["f00_points_avg_last_5"], sources(row)["0"]) == (14.0, "phase3")  # (10 x 3 + 20 x 2) / 5
    assert (row["f04_games_in_last_7_days"], sources(row)["4"]) == (3.0, "phase3")
    assert (row["f05_fatigue_score"], sources(row)["5"]) == (50.0, "default")
    assert (row["f22_team_pace"], sources(row)["22"]) == (100.0, "default")
    assert np.isnan(row["f18_pct_paint"]) and sources(row)["18"] == "missing"
    assert (row["f19_pct_mid_range"], sources(row)["19"]) == (0.2025, "phase4")


def test_recent_games_window_is_60_days_and_season_is_separate():
    late = dt.date(2023, 1, 20)  # D - 60 = 2022-11-21
    games = ([game("eve", dt.date(2022, 11, 10 + i), 40, minutes_played=40.0) for i in range(3)]
             + [game("eve", dt.date(2023, 1, 10 + i), 10, minutes_played=20.0) for i in range(4)])
    row = only(run([ctx("eve", date=late)], games, dates=[late]), "eve")
    assert row["f00_points_avg_last_5"] == 10.0 and sources(row)["0"] == "default"  # |L| = 4
    assert row["f01_points_avg_last_10"] == 10.0  # L: only the four January games
    assert row["f02_points_avg_season"] == pytest.approx(160 / 7)  # S: all seven, unrounded
    # f12: recent = mean minutes of L = 20; base = mean minutes of S = 200 / 7; q = -0.3 -> -2
    assert row["f12_minutes_change"] == -2.0


def test_recent_games_cross_seasons_but_season_features_do_not():
    cal = calendar(((2021, dt.date(2021, 10, 19), dt.date(2022, 9, 25)),
                    (2022, dt.date(2022, 10, 5), dt.date(2023, 4, 9))))
    d = dt.date(2022, 10, 25)
    games = ([game("fay", dt.date(2022, 9, 20 + i), 30, season=2021) for i in range(5)]
             + [game("fay", dt.date(2022, 10, 10), 12)])
    row = only(run([ctx("fay", date=d)], games, dates=[d], cal=cal), "fay")
    assert row["f00_points_avg_last_5"] == 26.4  # 30 x 4 + 12
    assert row["f01_points_avg_last_10"] == 27.0  # (150 + 12) / 6: last season's games are in L
    assert row["f02_points_avg_season"] == 12.0  # this season only
    assert row["early_season_flag"]


# --- calculated features -----------------------------------------------------------------------
@pytest.mark.parametrize("rest, opp, value", [(2, 0, 2.0), (3, 0, 2.0), (0, 3, -2.0), (1, 2, -1.0),
                                              (None, 1, 0.0), (1, None, 0.0)])
def test_f09_rest_advantage(rest, opp, value):
    row = only(run([ctx("amy", days_rest=rest, opponent_days_rest=opp)]))
    assert row["f09_rest_advantage"] == value and sources(row)["9"] == "calculated"


@pytest.mark.parametrize("status, value", [("available", 0.0), (None, 0.0), ("probable", 1.0),
                                           ("questionable", 2.0), ("doubtful", 3.0), ("out", 3.0)])
def test_f10_injury_risk(status, value):
    assert only(run([ctx("amy", player_status=status)]))["f10_injury_risk"] == value


@pytest.mark.parametrize(
    "last_five, value",  # oldest first; x = mean of the two most recent - mean of the three before
    [([10, 10, 10, 20, 20], 2.0), ([10, 10, 10, 15, 15], 2.0), ([10, 10, 10, 14, 14], 1.0),
     ([10, 10, 10, 12, 12], 1.0), ([10, 10, 10, 11, 12], 0.0), ([12, 12, 12, 10, 10], -1.0),
     ([10, 10, 10, 7, 7], -1.0), ([10, 10, 10, 5, 5], -2.0), ([10, 10, 10, 2, 0], -2.0)],
)
def test_f11_recent_trend(last_five, value):
    games = [game("amy", dt.date(2022, 11, 1 + i), p) for i, p in enumerate([30] * 3 + last_five)]
    row = only(run([ctx("amy")], games))
    assert row["f11_recent_trend"] == value


@pytest.mark.parametrize("recent, value", [(36.0, 2.0), (33.0, 1.0), (32.9, 0.0), (31.0, 0.0), (27.0, -1.0),
                                           (24.0, -2.0), (None, 0.0), (0.0, 0.0)])
def test_f12_minutes_change_from_pdc(recent, value):
    row = only(run([ctx("amy")], amy_games(), c=[pdc_row("amy", minutes_avg_last_10=recent)]))
    assert row["f12_minutes_change"] == value  # base = 30 (mean minutes of S)


def test_f12_without_pdc_uses_l_and_zero_base_gives_zero():
    games = ([game("gus", dt.date(2022, 10, 20 + i), 10, minutes_played=10.0) for i in range(5)]
             + [game("gus", dt.date(2022, 11, 1 + i), 10, minutes_played=40.0) for i in range(10)])
    # L = the ten 40-minute games; S mean = 450 / 15 = 30; q = 1/3 -> 2
    assert only(run([ctx("gus")], games), "gus")["f12_minutes_change"] == 2.0
    zero = [game("hal", dt.date(2022, 11, 1 + i), 2, minutes_played=0.0, ft_attempts=2) for i in range(5)]
    assert only(run([ctx("hal")], zero), "hal")["f12_minutes_change"] == 0.0


@pytest.mark.parametrize(
    "ft, points, n, value",
    [(3, 12, 10, 0.25), (1, 3, 5, 0.333333333), (15, 20, 6, 0.5), (3, 12, 4, 0.15), (0, 0, 6, 0.15)],
)
def test_f21_free_throw_share(ft, points, n, value):
    games = [game("amy", dt.date(2022, 11, 1 + i), points, ft_makes=ft, ft_attempts=max(ft, 1))
             for i in range(n)]
    row = only(run([ctx("amy")], games))
    assert row["f21_pct_free_throw"] == value and sources(row)["21"] == "calculated"


def test_f24_team_win_pct():
    row = only(run([ctx("amy")], togs=aaa_games()))
    assert row["f24_team_win_pct"] == 0.666666667  # last season's game and the game on D ignored
    few = [team_game("AAA", dt.date(2022, 11, 1 + i), True) for i in range(4)]
    assert only(run([ctx("amy")], togs=few))["f24_team_win_pct"] == 0.5


def test_f15_to_f17_context_flags():
    res = run([ctx("amy", home_game=False, back_to_back=True, season_phase="playoffs"),
               ctx("bob", home_game=None, back_to_back=None, season_phase=None)])
    a, b = only(res, "amy"), only(res, "bob")
    assert (a["f15_home_away"], a["f16_back_to_back"], a["f17_playoff_game"]) == (0.0, 1.0, 1.0)
    assert (b["f15_home_away"], b["f16_back_to_back"], b["f17_playoff_game"]) == (0.0, 0.0, 0.0)
    assert [sources(b)[k] for k in ("15", "16", "17")] == ["phase3"] * 3


# --- quality, tiers, data_source ---------------------------------------------------------------
def _codes(**counts) -> np.ndarray:
    """One row of 25 codes: the first features get the given labels in order, the rest calculated."""
    row = []
    for code, k in counts.items():
        row += [{"p4": PHASE4, "p3": PHASE3, "d": DEFAULT, "m": MISSING, "c": CALCULATED}[code]] * k
    return np.array([row + [CALCULATED] * (25 - len(row))], dtype=np.int8)


@pytest.mark.parametrize(
    "counts, score, tier, defaults",
    [
        (dict(p4=25), 100.0, "gold", 0),
        (dict(p3=25), 87.0, "silver", 0),
        (dict(p3=10), 94.8, "silver", 0),
        (dict(d=1), 69.0, "poor", 1),  # 97.6 capped
        (dict(m=4), 69.0, "poor", 4),  # 90.4 capped
        (dict(d=4, m=1), 49.0, "critical", 5),  # 88.0 capped
        (dict(d=20), 49.0, "critical", 20),  # 52.0 capped
        (dict(d=25), 40.0, "critical", 25),
    ],
)
def test_quality_score_caps_and_tiers(counts, score, tier, defaults):
    s, t, _, n = quality(_codes(**counts))
    assert (s[0], t[0], n[0]) == (score, tier, defaults)


def test_quality_tier_thresholds():
    assert list(quality_tier([95, 94.99, 85, 84.99, 70, 69.99, 50, 49.99])) == [
        "gold", "silver", "silver", "bronze", "bronze", "poor", "poor", "critical"]


def test_data_source_categories():
    primary = [0, 1, 2, 3, 4, 5, 6, 7, 8, 13, 14, 18, 19, 20, 22, 23]

    def row(n4, n3):
        codes = np.full((1, 25), CALCULATED, dtype=np.int8)
        codes[0, primary] = DEFAULT
        codes[0, primary[:n4]] = PHASE4
        codes[0, primary[n4:n4 + n3]] = PHASE3
        return data_source_of(codes)[0]

    assert row(16, 0) == "phase4" and row(15, 0) == "phase4"
    assert row(14, 2) == "phase4_partial" and row(8, 0) == "phase4_partial"
    assert row(7, 8) == "phase3" and row(0, 16) == "phase3"
    assert row(7, 7) == "mixed" and row(0, 0) == "mixed"


# --- candidates, failures, look-ahead, ranges ---------------------------------------------------
def test_missing_data_validation_error_and_accounting():
    res = run([ctx("amy"), ctx("bob", opponent_team_abbr=None), ctx("cat")], amy_games(),
              f=[pcf_row("amy"), pcf_row("cat", fatigue_score=120)])
    assert list(res.rows.columns) == output_columns("mlfs")
    assert res.rows["player_lookup"].tolist() == ["amy"]
    f = res.failures.set_index("entity_id")
    assert f.loc["bob", "failure_category"] == "MISSING_DATA"
    assert f.loc["bob", "failure_reason"] == "UPCG row lacks opponent_team_abbr"
    assert f.loc["cat", "failure_category"] == "VALIDATION_ERROR"
    assert f.loc["cat", "failure_reason"] == "f05_fatigue_score 120 outside [0, 100]"
    assert res.candidates["player_lookup"].tolist() == ["amy", "bob", "cat"]
    assert str(res.rows["default_feature_count"].dtype) == "Int64"
    assert str(res.rows["early_season_flag"].dtype) == "boolean"
    assert all(res.rows[name].dtype == "float64" for name in FEATURE_NAMES)


def test_no_look_ahead_games_on_d_change_nothing():
    upcg = [ctx("amy")]
    before = run(upcg, amy_games(), aaa_games())
    after = run(upcg, amy_games() + [game("amy", D, 60, ft_makes=20)],
                aaa_games() + [team_game("AAA", D, True), team_game("AAA", D, True)])
    pd.testing.assert_frame_equal(before.rows, after.rows)


def test_ranged_equals_date_by_date():
    upcg = [ctx("amy"), ctx("amy", date=D2, days_rest=0), ctx("bob", date=D2)]
    pgs = amy_games() + [game("amy", D, 40, ft_makes=10)]
    args = dict(pgs=pgs, togs=aaa_games(), c=[pdc_row("amy"), pdc_row("bob", date=D2)],
                f=[pcf_row("amy", date=D2)], p=[psza_row("amy")], t=[tdza_row(date=D2)])
    ranged = run(upcg, dates=[D, D2], **args)
    single = [run(upcg, dates=[d], **args) for d in (D, D2)]
    pd.testing.assert_frame_equal(ranged.rows, pd.concat([s.rows for s in single], ignore_index=True))
    on_d2 = only(single[1])
    assert on_d2["f21_pct_free_throw"] == 0.246666667  # L now holds the game on D: (27 + 10) / (110 + 40)
    assert on_d2["f24_team_win_pct"] == 0.571428571  # and TG the AAA game on D: 4 / 7
    # no pdc row for amy on D2: f00 falls back to L's five most recent (10, 10, 20, 20, 40)
    assert on_d2["f00_points_avg_last_5"] == 20.0
    assert (sources(on_d2)["0"], sources(on_d2)["5"]) == ("phase3", "phase4")


# --- the real 2022-23 season -------------------------------------------------------------------
@pytest.mark.shared_data
def test_real_month_ranged_equals_date_by_date_and_spot_values(shared_data_dir):
    from nba_precompute.features.composite_factors import compute_pcf
    from nba_precompute.features.daily_cache import compute_pdc
    from nba_precompute_tests.conftest import load_real_season

    t = load_real_season("nba-2022-23")
    cal = SeasonCalendar(t["nba_reference.schedule"])
    frame = cal.frame(pd.date_range("2022-11-01", "2022-11-30"))
    dates = list(frame.loc[frame["is_game_date"], "analysis_date"])
    pgs, togs = t["nba_analytics.player_game_summary"], t["nba_analytics.team_offense_game_summary"]
    upcg = t["nba_analytics.upcoming_player_game_context"]
    utgc = t["nba_analytics.upcoming_team_game_context"]
    pdc = compute_pdc(pgs, togs, upcg, None, cal, dates).rows
    pcf = compute_pcf(upcg, utgc, None, None, cal, dates).rows
    ranged = compute_mlfs(pdc, pcf, None, None, pgs, upcg, togs, cal, dates)
    single = [compute_mlfs(pdc, pcf, None, None, pgs, upcg, togs, cal, [d]) for d in dates]
    pd.testing.assert_frame_equal(ranged.rows, pd.concat([s.rows for s in single], ignore_index=True))
    assert len(ranged.rows) == len(ranged.candidates)

    # spot values, straight from the Phase 3 tables
    d = pd.Timestamp("2022-11-21")
    rows = ranged.rows
    row = rows[(rows["player_lookup"] == "jaysontatum") & (rows["analysis_date"] == d)].iloc[0]
    p = pgs[(pgs["player_lookup"] == "jaysontatum") & pgs["is_active"] & ~pgs["is_dnp"]
            & pgs["points"].notna()].copy()
    p["game_date"] = pd.to_datetime(p["game_date"])
    last = p[(p["game_date"] < d) & (p["game_date"] >= d - pd.Timedelta(days=60))].sort_values(
        ["game_date", "game_id"], ascending=False).head(10)
    assert row["f21_pct_free_throw"] == round(min(last["ft_makes"].sum() / last["points"].sum(), 0.5), 9)
    tm = togs[(togs["team_abbr"] == "BOS") & (pd.to_datetime(togs["game_date"]) < d)]
    assert row["f24_team_win_pct"] == round(tm["win_flag"].sum() / len(tm), 9)
    assert row["f00_points_avg_last_5"] == round(last["points"].head(5).astype(float).mean(), 4)
    assert sources(row)["0"] == "phase4"


def test_empty_slate():
    res = run([], amy_games(), aaa_games(), dates=[dt.date(2022, 12, 25)])
    assert list(res.rows.columns) == output_columns("mlfs")
    assert len(res.rows) == len(res.failures) == len(res.candidates) == 0


# --- implausible inputs are never gold (issue 13) --------------------------------------------------
def _gold_inputs(**pdc):
    return dict(upcg=[ctx("amy", days_rest=2, opponent_days_rest=0)], pgs=amy_games(), togs=aaa_games(),
                c=[pdc_row("amy", **pdc)], f=[pcf_row("amy")], p=[psza_row("amy")], t=[tdza_row()])


def test_a_feature_outside_its_value_range_caps_the_row_at_critical():
    assert only(run(**_gold_inputs()))["quality_tier"] == "gold"  # the control
    for column, value in (("points_avg_last_5", 800000005.4), ("team_pace_last_10", -102.18),
                          ("team_off_rating_last_10", 250.0)):
        row = only(run(**_gold_inputs(**{column: value})))
        assert row["feature_quality_score"] == 49.0 and row["quality_tier"] == "critical", column
        assert row["default_feature_count"] == 0  # the sources are still what they are


def test_an_implausible_phase3_game_behind_the_row_caps_it_even_with_plausible_features():
    inputs = _gold_inputs()
    games = amy_games()
    games[2] = {**games[2], "minutes_played": 95.0}  # one game of S (not in L's last five): > 70 minutes
    row = only(run(**{**inputs, "pgs": games}))
    assert row["f00_points_avg_last_5"] == 21.5  # from pdc, plausible
    assert row["quality_tier"] == "critical"
    teams = aaa_games()
    teams[1] = {**teams[1], "pace": 20.0}  # a TG game with pace below 60
    assert only(run(**{**inputs, "togs": teams}))["quality_tier"] == "critical"
