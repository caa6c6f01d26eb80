"""pcf — player composite factors (PRECOMPUTE.md §7.4): every rule and bracketed default, worked."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from nba_precompute.features import composite_factors
from nba_precompute.features.composite_factors import compute_pcf
from nba_precompute.phase3.contract import (
    SCHEDULE,
    UPCOMING_PLAYER_GAME_CONTEXT,
    UPCOMING_TEAM_GAME_CONTEXT,
)
from nba_precompute.season import SeasonCalendar
from nba_precompute.tables import PSZA, TDZA
from nba_precompute.registry import output_columns

from nba_precompute_tests.frames import table_frame

D = dt.date(2022, 11, 20)
D2 = dt.date(2022, 11, 21)
T0 = pd.Timestamp("2022-11-19 12:00", tz="UTC")




CAL = SeasonCalendar(table_frame(SCHEDULE, [
    dict(game_id=f"g{i}", game_date=d, season_year=2022, home_team_abbr="AAA", away_team_abbr="BBB",
         game_status=3, is_regular_season=True, is_playoffs=False)
    for i, d in enumerate([dt.date(2022, 10, 18), D, D2, dt.date(2023, 4, 9)])
]))

# A context that triggers no rule and gives every factor 0 (fatigue 100).
NEUTRAL = dict(
    game_id="0022200100", team_abbr="AAA", opponent_team_abbr="BBB", home_game=True, back_to_back=False,
    season_phase="mid", days_rest=1, opponent_days_rest=1, games_in_last_7_days=2, games_in_last_14_days=5,
    minutes_in_last_7_days=100.0, minutes_in_last_14_days=200.0, avg_minutes_per_game_last_7=30.0,
    back_to_backs_last_14_days=0, player_age=25, projected_usage_rate=20.0, avg_usage_rate_last_7_games=20.0,
    pace_differential=0.0, opponent_pace_last_10=100.0, star_teammates_out=0, player_status="available",
    processed_at=T0,
)
ALL_NULL = {k: None for k in (
    "back_to_back", "days_rest", "games_in_last_7_days", "minutes_in_last_7_days",
    "avg_minutes_per_game_last_7", "back_to_backs_last_14_days", "player_age", "projected_usage_rate",
    "avg_usage_rate_last_7_games",
    "pace_differential", "opponent_pace_last_10", "star_teammates_out",
)}


def ctx(player="amy", date=D, **kw) -> dict:
    return {**NEUTRAL, "player_lookup": player, "game_date": date, **kw}


def psza(player="amy", date=D, **kw) -> dict:
    row = dict(analysis_date=date, player_lookup=player, universal_player_id=f"{player}01",
               primary_scoring_zone="paint", paint_rate_last_10=50.0, mid_range_rate_last_10=20.0,
               three_pt_rate_last_10=30.0)
    return {**row, **kw}


def tdza(team="BBB", date=D, **kw) -> dict:
    row = dict(analysis_date=date, team_abbr=team, paint_defense_vs_league_avg=0.0,
               mid_range_defense_vs_league_avg=0.0, three_pt_defense_vs_league_avg=0.0, weakest_zone="paint")
    return {**row, **kw}


def run(upcg, p=(), t=(), utgc=(), dates=(D,)):
    return compute_pcf(
        table_frame(UPCOMING_PLAYER_GAME_CONTEXT, list(upcg)),
        table_frame(UPCOMING_TEAM_GAME_CONTEXT, list(utgc)),
        pd.DataFrame.from_records(list(p), columns=PSZA.column_names),
        pd.DataFrame.from_records(list(t), columns=TDZA.column_names),
        CAL, list(dates),
    )


def one(p=None, t=None, utgc=(), **kw) -> pd.Series:
    res = run([ctx(**kw)], [p] if p else [], [t] if t else [], utgc)
    assert len(res.rows) == 1 and len(res.failures) == 0
    return res.rows.iloc[0]


def context_of(row) -> dict:
    return json.loads(row["factor_context"])


# --- 1. fatigue --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "overrides, score, adjustments",
    [
        ({}, 100, []),
        ({"back_to_back": True}, 85, ["back_to_back: -15"]),
        ({"back_to_back": True, "days_rest": 5}, 85, ["back_to_back: -15"]),  # no rest bonus on a b2b
        ({"days_rest": 3}, 100, ["extended_rest: +5"]),  # 105 clamped to 100
        ({"days_rest": 3, "games_in_last_7_days": 4}, 95, ["extended_rest: +5", "games_in_last_7_days: -10"]),
        ({"days_rest": 2, "games_in_last_7_days": 4}, 90, ["games_in_last_7_days: -10"]),
        ({"games_in_last_7_days": 3}, 100, []),
        ({"minutes_in_last_7_days": 240.5}, 90, ["minutes_in_last_7_days: -10"]),
        ({"minutes_in_last_7_days": 240.0}, 100, []),
        ({"avg_minutes_per_game_last_7": 35.5}, 92, ["avg_minutes_per_game_last_7: -8"]),
        ({"avg_minutes_per_game_last_7": 35.0}, 100, []),
        ({"back_to_backs_last_14_days": 2}, 88, ["back_to_backs_last_14_days: -12"]),
        ({"back_to_backs_last_14_days": 1}, 95, ["back_to_backs_last_14_days: -5"]),
        ({"player_age": 35}, 90, ["player_age: -10"]),
        ({"player_age": 30}, 95, ["player_age: -5"]),
        ({"player_age": 29}, 100, []),
        # every penalty: 100 - 15 - 10 - 10 - 8 - 12 - 10
        ({"back_to_back": True, "games_in_last_7_days": 5, "minutes_in_last_7_days": 250.0,
          "avg_minutes_per_game_last_7": 36.0, "back_to_backs_last_14_days": 3, "player_age": 36}, 35,
         ["back_to_back: -15", "games_in_last_7_days: -10", "minutes_in_last_7_days: -10",
          "avg_minutes_per_game_last_7: -8", "back_to_backs_last_14_days: -12", "player_age: -10"]),
        # defaults back_to_back[FALSE] days_rest[1] games[3] minutes[200] avg[30] b2b14[0] age[25]:
        # no rule fires
        (ALL_NULL, 100, []),
        # days_rest[1]: no bonus
        ({"days_rest": None, "games_in_last_7_days": 4}, 90, ["games_in_last_7_days: -10"]),
    ],
)
def test_fatigue_rules(overrides, score, adjustments):
    row = one(**overrides)
    assert row["fatigue_score"] == score
    fatigue = context_of(row)["fatigue"]
    assert fatigue["adjustments"] == adjustments
    assert fatigue["final_score"] == score
    assert str(type(row["fatigue_score"]).__name__) in ("int", "int64")
    assert row["total_composite_adjustment"] == round((score - 100) / 20, 2)


def test_fatigue_context_stores_raw_inputs_before_defaults():
    fatigue = context_of(one(**ALL_NULL))["fatigue"]
    assert list(fatigue) == [
        "back_to_back", "days_rest", "games_in_last_7_days", "minutes_in_last_7_days",
        "avg_minutes_per_game_last_7", "back_to_backs_last_14_days", "player_age", "adjustments",
        "final_score",
    ]
    assert all(fatigue[k] is None for k in list(fatigue)[:7])


# --- 2. shot-zone mismatch ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "p, t, score",
    [
        (dict(paint_rate_last_10=60.0), dict(paint_defense_vs_league_avg=4.0), 4.0),  # r/50 capped at 1
        (dict(paint_rate_last_10=50.0), dict(paint_defense_vs_league_avg=5.0), 5.0),  # |m| = 5: no boost
        (dict(paint_rate_last_10=50.0), dict(paint_defense_vs_league_avg=6.0), 7.2),  # |m| > 5: x 1.2
        (dict(paint_rate_last_10=25.0), dict(paint_defense_vs_league_avg=8.0), 4.0),  # 8 x 0.5, no boost
        (dict(paint_rate_last_10=100.0), dict(paint_defense_vs_league_avg=9.0), 10.0),  # 10.8 clamped
        (dict(paint_rate_last_10=100.0), dict(paint_defense_vs_league_avg=-9.0), -10.0),
        # perimeter reads three_pt_rate / three_pt_defense (paint ignored)
        (dict(primary_scoring_zone="perimeter", three_pt_rate_last_10=45.0, paint_rate_last_10=80.0),
         dict(three_pt_defense_vs_league_avg=3.0, paint_defense_vs_league_avg=9.0), 2.7),
        # mid_range: -7 x 0.8 = -5.6, |m| > 5 -> -6.72
        (dict(primary_scoring_zone="mid_range", mid_range_rate_last_10=40.0),
         dict(mid_range_defense_vs_league_avg=-7.0, paint_defense_vs_league_avg=9.0), -6.7),
        # balanced and NULL zones use paint
        (dict(primary_scoring_zone="balanced", paint_rate_last_10=30.0, three_pt_rate_last_10=90.0),
         dict(paint_defense_vs_league_avg=5.0, three_pt_defense_vs_league_avg=-9.0), 3.0),
        (dict(primary_scoring_zone=None, paint_rate_last_10=None),
         dict(paint_defense_vs_league_avg=2.0), 2.0),  # rate[50]
        (dict(paint_rate_last_10=50.0), dict(paint_defense_vs_league_avg=None), 0.0),  # d[0]
    ],
)
def test_shot_zone_mismatch(p, t, score):
    row = one(p=psza(**p), t=tdza(**t))
    assert row["shot_zone_mismatch_score"] == score


def test_mismatch_needs_both_psza_and_tdza():
    strong = dict(paint_defense_vs_league_avg=6.0)
    for p, t in [(psza(), None), (None, tdza(**strong)), (None, None)]:
        row = one(p=p, t=t)
        assert row["shot_zone_mismatch_score"] == 0.0
        zone = context_of(row)["shot_zone"]
        assert zone["zone_used"] is None and zone["player_zone_rate"] is None
        assert zone["opponent_defense_vs_league_avg"] is None and zone["mismatch_type"] == "neutral"


def test_mismatch_context_and_type():
    row = one(p=psza(primary_scoring_zone="perimeter", three_pt_rate_last_10=45.0),
              t=tdza(three_pt_defense_vs_league_avg=3.0, weakest_zone="perimeter"))
    assert context_of(row)["shot_zone"] == {
        "primary_scoring_zone": "perimeter", "zone_used": "perimeter", "player_zone_rate": 45.0,
        "opponent_defense_vs_league_avg": 3.0, "opponent_weakest_zone": "perimeter",
        "mismatch_type": "favorable",
    }
    low = one(p=psza(), t=tdza(paint_defense_vs_league_avg=-2.5))
    assert context_of(low)["shot_zone"]["mismatch_type"] == "unfavorable"
    mid = one(p=psza(), t=tdza(paint_defense_vs_league_avg=2.0))  # score 2.0 is not > 2
    assert context_of(mid)["shot_zone"]["mismatch_type"] == "neutral"
    balanced = one(p=psza(primary_scoring_zone="balanced", paint_rate_last_10=None), t=tdza())
    zone = context_of(balanced)["shot_zone"]
    assert zone["primary_scoring_zone"] == "balanced" and zone["zone_used"] == "paint"
    assert zone["player_zone_rate"] is None  # raw, before the [50] default


# --- 3. pace -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "diff, score, environment",
    [(3.0, 1.5, "fast"), (2.0, 1.0, "normal"), (-1.0, -0.5, "normal"), (-2.5, -1.3, "slow"),
     (8.0, 3.0, "fast"), (-7.0, -3.0, "slow"), (None, 0.0, "normal")],
)
def test_pace_score(diff, score, environment):
    row = one(pace_differential=diff)
    assert row["pace_score"] == score  # -1.25 rounds half away from zero to -1.3
    assert context_of(row)["pace"]["environment"] == environment


# --- 4. usage spike ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "proj, base, stars, score",
    [
        (24.0, 20.0, 0, 1.2),  # 0.3 x 4
        (24.0, 20.0, 1, 1.4),  # 1.2 x 1.15 = 1.38
        (24.0, 20.0, 2, 1.6),  # 1.2 x 1.30 = 1.56
        (24.0, 20.0, 3, 1.6),
        (24.0, 20.0, None, 1.2),  # star_teammates_out[0]
        (20.0, 24.0, 2, -1.2),  # no boost on a drop
        (30.0, 0.0, 2, 0.0),  # b = 0
        (None, None, 0, 0.0),  # 25 - 25
        (None, 20.0, 0, 1.5),  # projected[25]
        (24.0, None, 0, -0.3),  # baseline[25]
        (40.0, 20.0, 0, 3.0),  # clamped
        (5.0, 20.0, 0, -3.0),
    ],
)
def test_usage_spike(proj, base, stars, score):
    row = one(projected_usage_rate=proj, avg_usage_rate_last_7_games=base, star_teammates_out=stars)
    assert row["usage_spike_score"] == score


@pytest.mark.parametrize("proj, base, trend", [(23.0, 20.0, "spike"), (22.0, 20.0, "stable"),
                                               (17.5, 20.0, "drop"), (None, 20.0, None), (20.0, None, None)])
def test_usage_trend(proj, base, trend):
    usage = context_of(one(projected_usage_rate=proj, avg_usage_rate_last_7_games=base))["usage"]
    assert usage["trend"] == trend
    assert usage["projected_usage_rate"] == proj and usage["avg_usage_rate_last_7_games"] == base


# --- total, warnings, completeness --------------------------------------------------------------
def test_total_uses_unrounded_scores():
    row = one(p=psza(), t=tdza(paint_defense_vs_league_avg=6.0), back_to_back=True, pace_differential=3.0,
              projected_usage_rate=24.0, avg_usage_rate_last_7_games=20.0, star_teammates_out=1)
    scores = ["fatigue_score", "shot_zone_mismatch_score", "pace_score", "usage_spike_score"]
    assert [row[c] for c in scores] == [85, 7.2, 1.5, 1.4]
    # -0.75 + 7.2 + 1.5 + 1.38 = 9.33 (the rounded usage 1.4 would give 9.35)
    assert row["total_composite_adjustment"] == 9.33
    assert not row["has_warnings"] and row["warning_details"] is None


def test_warnings():
    extreme = one(p=psza(paint_rate_last_10=100.0), t=tdza(paint_defense_vs_league_avg=9.0),
                  back_to_back=True, games_in_last_7_days=5, minutes_in_last_7_days=250.0,
                  avg_minutes_per_game_last_7=36.0, back_to_backs_last_14_days=3, player_age=36,
                  pace_differential=10.0, projected_usage_rate=40.0, avg_usage_rate_last_7_games=20.0)
    assert extreme["total_composite_adjustment"] == 12.75  # -3.25 + 10 + 3 + 3
    assert extreme["has_warnings"]
    assert extreme["warning_details"] == (
        "EXTREME_FATIGUE: 35; EXTREME_MATCHUP: 10.0; EXTREME_ADJUSTMENT: 12.75")
    rested = one(p=psza(paint_rate_last_10=100.0), t=tdza(paint_defense_vs_league_avg=9.0),
                 pace_differential=10.0, projected_usage_rate=40.0, avg_usage_rate_last_7_games=20.0)
    assert rested["warning_details"] == "EXTREME_MATCHUP: 10.0; EXTREME_ADJUSTMENT: 16.0"
    # 100 - 15 - 10 - 10 - 10 - 5 = 50: not below 50
    fifty = one(back_to_back=True, games_in_last_7_days=4, minutes_in_last_7_days=241.0, player_age=35,
                back_to_backs_last_14_days=1)
    assert fifty["fatigue_score"] == 50 and not fifty["has_warnings"]
    tired = one(back_to_back=True, games_in_last_7_days=4, minutes_in_last_7_days=241.0, player_age=35,
                back_to_backs_last_14_days=2)
    assert tired["warning_details"] == "EXTREME_FATIGUE: 43"


def test_completeness_and_missing_fields():
    full = one(p=psza(), t=tdza())
    assert full["data_completeness_pct"] == 1.0 and full["missing_data_fields"] is None
    empty = one(days_rest=None, projected_usage_rate=None, pace_differential=None)
    assert empty["data_completeness_pct"] == 0.0
    assert empty["missing_data_fields"] == (
        "days_rest, projected_usage_rate, pace_differential, player_shot_zone, opponent_team_defense")
    partial = one(t=tdza(), pace_differential=None)
    assert partial["data_completeness_pct"] == 0.6
    assert partial["missing_data_fields"] == "pace_differential, player_shot_zone"


def test_factor_context_is_exact_json_in_spec_order():
    row = one(
        p=psza(primary_scoring_zone="paint", paint_rate_last_10=60.0), t=tdza(paint_defense_vs_league_avg=4.0,
                                                                              weakest_zone="mid_range"),
        utgc=[dict(team_abbr="AAA", game_id="0022200100", game_date=D, opponent_team_abbr="BBB",
                   game_total=221.5, game_spread=-3.5, processed_at=T0)],
        back_to_back=True, player_age=None, star_teammates_out=None, pace_differential=2.5,
        opponent_pace_last_10=101.25, projected_usage_rate=23.0,
    )
    expected = {
        "fatigue": {"back_to_back": True, "days_rest": 1, "games_in_last_7_days": 2,
                    "minutes_in_last_7_days": 100.0, "avg_minutes_per_game_last_7": 30.0,
                    "back_to_backs_last_14_days": 0, "player_age": None,
                    "adjustments": ["back_to_back: -15"], "final_score": 85},
        "shot_zone": {"primary_scoring_zone": "paint", "zone_used": "paint", "player_zone_rate": 60.0,
                      "opponent_defense_vs_league_avg": 4.0, "opponent_weakest_zone": "mid_range",
                      "mismatch_type": "favorable"},
        "pace": {"pace_differential": 2.5, "opponent_pace_last_10": 101.25, "game_total": 221.5,
                 "game_spread": -3.5, "environment": "fast"},
        "usage": {"projected_usage_rate": 23.0, "avg_usage_rate_last_7_games": 20.0,
                  "star_teammates_out": None, "trend": "spike"},
    }
    assert row["factor_context"] == json.dumps(expected, sort_keys=False)


def test_team_context_uses_latest_utgc_row_and_is_null_when_absent():
    utgc = [dict(team_abbr="AAA", game_id="g", game_date=D, game_total=200.0, processed_at=T0),
            dict(team_abbr="AAA", game_id="g", game_date=D, game_total=230.0,
                 processed_at=T0 + pd.Timedelta(1, "h")),
            dict(team_abbr="BBB", game_id="g", game_date=D, game_total=999.0, processed_at=T0)]
    assert context_of(one(utgc=utgc))["pace"]["game_total"] == 230.0
    pace = context_of(one())["pace"]
    assert pace["game_total"] is None and pace["game_spread"] is None


# --- candidates, failures, shapes, dates --------------------------------------------------------
def test_rows_failures_and_candidates():
    res = run([ctx("amy"), ctx("bob", team_abbr=None), ctx("cat", opponent_team_abbr=None), ctx("dan")],
              p=[psza("amy"), psza("dan", date=D2)], t=[tdza("BBB")])
    assert list(res.rows.columns) == output_columns("pcf")
    assert res.rows["player_lookup"].tolist() == ["amy", "dan"]
    assert res.rows["universal_player_id"].tolist() == ["amy01", None]  # dan's psza row is for D2
    assert (res.rows["game_date"] == res.rows["analysis_date"]).all()
    assert str(res.rows["fatigue_score"].dtype) == "Int64"
    assert str(res.rows["has_warnings"].dtype) == "boolean"
    assert res.failures["entity_id"].tolist() == ["bob", "cat"]
    assert res.failures["failure_reason"].tolist() == [
        "UPCG row lacks team_abbr", "UPCG row lacks opponent_team_abbr"]
    assert res.candidates["player_lookup"].tolist() == ["amy", "bob", "cat", "dan"]


def test_range_guard_turns_out_of_range_fatigue_into_validation_error(monkeypatch):
    real = composite_factors.fatigue

    def broken(u):
        score, rules = real(u)
        return np.where(score == 100, 150, score), rules  # amy 150, bob 85

    monkeypatch.setattr(composite_factors, "fatigue", broken)
    res = run([ctx("amy"), ctx("bob", back_to_back=True)])
    assert res.rows["player_lookup"].tolist() == ["bob"]
    assert res.failures["failure_category"].tolist() == ["VALIDATION_ERROR"]
    assert res.failures["failure_reason"].tolist() == ["fatigue_score 150 outside [0, 100]"]
    assert not res.failures["can_retry"].any()


def test_ranged_equals_date_by_date():
    upcg = [ctx("amy"), ctx("bob", back_to_back=True), ctx("amy", date=D2, pace_differential=4.0),
            ctx("cat", date=D2, team_abbr=None)]
    p = [psza("amy"), psza("amy", date=D2, paint_rate_last_10=20.0)]
    t = [tdza("BBB", paint_defense_vs_league_avg=6.0), tdza("BBB", date=D2, paint_defense_vs_league_avg=-6.0)]
    ranged = run(upcg, p, t, dates=[D, D2])
    single = [run(upcg, p, t, dates=[d]) for d in (D, D2)]
    pd.testing.assert_frame_equal(ranged.rows, pd.concat([s.rows for s in single], ignore_index=True))
    pd.testing.assert_frame_equal(ranged.failures, pd.concat([s.failures for s in single], ignore_index=True))
    amy = ranged.rows[ranged.rows["player_lookup"] == "amy"]
    assert amy["shot_zone_mismatch_score"].tolist() == [7.2, -2.4]  # -6 x 0.4, each date its own rows
    assert amy["pace_score"].tolist() == [0.0, 2.0]


# --- the real 2022-23 season -------------------------------------------------------------------
@pytest.mark.shared_data
def test_real_month_ranged_equals_date_by_date(shared_data_dir):
    from nba_precompute_tests.conftest import load_real_season

    t = load_real_season("nba-2022-23")
    cal = SeasonCalendar(t["nba_reference.schedule"])
    frame = cal.frame(pd.date_range("2022-11-01", "2022-11-30"))
    dates = list(frame.loc[frame["is_game_date"], "analysis_date"])
    upcg = t["nba_analytics.upcoming_player_game_context"]
    utgc = t["nba_analytics.upcoming_team_game_context"]
    # simple psza / tdza stand-ins: a row for every slate player / team, zones cycling
    slate = upcg[pd.to_datetime(upcg["game_date"]).isin(dates)]
    zones = np.array(["paint", "perimeter", "mid_range", "balanced"], dtype=object)
    p = pd.DataFrame({"analysis_date": slate["game_date"], "player_lookup": slate["player_lookup"],
                      "primary_scoring_zone": zones[np.arange(len(slate)) % 4],
                      "paint_rate_last_10": 40.0, "mid_range_rate_last_10": 25.0,
                      "three_pt_rate_last_10": 35.0}
                     ).reindex(columns=PSZA.column_names)
    teams = utgc[pd.to_datetime(utgc["game_date"]).isin(dates)]
    td = pd.DataFrame({"analysis_date": teams["game_date"], "team_abbr": teams["team_abbr"],
                       "paint_defense_vs_league_avg": np.linspace(-8, 8, len(teams)),
                       "mid_range_defense_vs_league_avg": 1.0, "three_pt_defense_vs_league_avg": -1.0,
                       "weakest_zone": "paint"}).reindex(columns=TDZA.column_names)
    ranged = compute_pcf(upcg, utgc, p, td, cal, dates)
    single = [compute_pcf(upcg, utgc, p, td, cal, [d]) for d in dates]
    pd.testing.assert_frame_equal(ranged.rows, pd.concat([s.rows for s in single], ignore_index=True))
    assert len(ranged.rows) == len(ranged.candidates) == len(slate)
    assert ranged.rows["fatigue_score"].between(0, 100).all()
    assert ranged.rows["total_composite_adjustment"].between(-21, 16).all()


def test_empty_slate():
    res = run([], dates=[dt.date(2022, 12, 25)])
    assert list(res.rows.columns) == output_columns("pcf")
    assert len(res.rows) == len(res.failures) == len(res.candidates) == 0
