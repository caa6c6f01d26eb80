"""tdza (PRECOMPUTE.md §7.2) on hand-built frames; expected values are worked out by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from nba_precompute.features.team_defense import EXTRAS_COLUMNS, compute_tdza
from nba_precompute.season import SeasonCalendar
from nba_precompute.registry import output_columns
from nba_precompute_tests.conftest import load_real_season

OPENER = pd.Timestamp("2022-10-01")  # season_year 2022
OPENER_2021 = pd.Timestamp("2021-10-19")  # a season without zone data


def schedule(*seasons: tuple[int, str, str]) -> pd.DataFrame:
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


def day(d: int, opener=OPENER) -> pd.Timestamp:
    return opener + pd.Timedelta(days=d)


def tgame(team, d, *, opener=OPENER, season=2022, paint=(10, 5), mid=(10, 4), three=(10, 3), points=100,
          drtg=110.0, pace=100.0):
    """One TDGS row on opener + d; zone tuples are (attempts, makes) allowed, None for NULL."""
    pa, pm = paint if paint is not None else (None, None)
    ma, mm = mid if mid is not None else (None, None)
    ta, tm = three if three is not None else (None, None)
    return dict(
        game_id=f"{season % 100:02d}{d:04d}{team}", game_date=day(d, opener).date(), season_year=season,
        defending_team_abbr=team, opponent_team_abbr="OPP", points_allowed=points, defensive_rating=drtg,
        opponent_pace=pace, opp_paint_makes=pm, opp_paint_attempts=pa, opp_mid_range_makes=mm,
        opp_mid_range_attempts=ma, opp_three_pt_makes=tm, opp_three_pt_attempts=ta,
        points_in_paint_allowed=None if pm is None else 2 * pm,
        mid_range_points_allowed=None if mm is None else 2 * mm,
        three_pt_points_allowed=None if tm is None else 3 * tm,
        processed_at=pd.Timestamp("2023-04-02", tz="UTC"),
    )


INT_COLUMNS = [
    "season_year", "points_allowed", "opp_paint_makes", "opp_paint_attempts", "opp_mid_range_makes",
    "opp_mid_range_attempts", "opp_three_pt_makes", "opp_three_pt_attempts", "points_in_paint_allowed",
    "mid_range_points_allowed", "three_pt_points_allowed",
]


def frame(rows) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    for c in INT_COLUMNS:
        df[c] = pd.array(df[c].astype("object").where(df[c].notna(), None), dtype="Int64")
    for c in ("defensive_rating", "opponent_pace"):
        df[c] = df[c].astype("float64")
    return df


def run(rows, dates):
    result = compute_tdza(frame(rows), CAL, dates)
    check_contract(result)
    return result


def check_contract(result):
    rows, failures, candidates, extras = result
    assert list(rows.columns) == output_columns("tdza")
    assert str(rows["analysis_date"].dtype) == "datetime64[ns]"
    assert str(rows["games_in_sample"].dtype) == "Int64"
    assert str(rows["early_season_flag"].dtype) == "boolean"
    for c in ("team_abbr", "strongest_zone", "weakest_zone", "data_quality_tier", "calculation_notes"):
        assert rows[c].dtype == object
        assert not any(isinstance(v, float) for v in rows[c])
    assert rows.equals(rows.sort_values(["analysis_date", "team_abbr"]).reset_index(drop=True))
    got = pd.concat(
        [rows[["analysis_date", "team_abbr"]],
         failures[["analysis_date", "entity_id"]].rename(columns={"entity_id": "team_abbr"})]
    )
    assert not got.duplicated().any()
    expected = candidates[["analysis_date", "team_abbr"]].to_numpy()
    assert set(map(tuple, got.to_numpy())) == set(map(tuple, expected))
    assert list(extras.columns) == EXTRAS_COLUMNS
    assert not extras["analysis_date"].duplicated().any()
    if len(failures):
        assert set(failures["failure_category"]) == {"INSUFFICIENT_DATA"}
        assert set(failures["processor_name"]) == {"tdza"}


def row(result, team, date=None) -> pd.Series:
    r = result.rows[result.rows["team_abbr"] == team]
    if date is not None:
        r = r[r["analysis_date"] == pd.Timestamp(date)]
    assert len(r) == 1, f"expected one row for {team}"
    return r.iloc[0]


def extras_on(result, date) -> pd.Series:
    e = result.extras[result.extras["analysis_date"] == pd.Timestamp(date)]
    assert len(e) == 1
    return e.iloc[0]


def is_null(v) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))


D45 = day(45)  # m_t = min(15, max(5, 15)) = 15; league window [day 15, day 45)


def league_teams(n=10):
    """n teams with 20 games on days 20..39, each allowing paint 5/10, mid 4/10, three 3/10.
    T0 differs: its five oldest games (days 20-24) allow paint 10/10; its L15 (days 25-39) has
    points 100..114, defensive rating 110 except 125 on day 38 and NULL on day 39, pace 95/96."""
    rows = []
    for t in range(n):
        team = f"T{t}"
        for d in range(20, 40):
            if team == "T0":
                rows.append(tgame(team, d, paint=(10, 10) if d < 25 else (10, 5), points=100 + d - 25,
                                  drtg={38: 125.0, 39: None}.get(d, 110.0), pace=95.0 + (d - 25) % 2))
            else:
                rows.append(tgame(team, d))
    return rows


# --- L15, league averages, vs league ------------------------------------------------------------
def test_l15_columns_and_league_average():
    res = run(league_teams(), [D45])
    e = extras_on(res, D45)
    # T0 over [day 15, day 45): paint (5*10 + 15*5) / 200 = 0.625; the nine others 0.5
    assert e["league_paint"] == pytest.approx((0.625 + 9 * 0.5) / 10)  # 0.5125
    assert e["league_mid_range"] == pytest.approx(0.4) and e["league_three_pt"] == pytest.approx(0.3)
    assert not e["league_paint_is_default"] and not e["league_three_pt_is_default"]
    assert (e["league_paint_teams"], e["league_mid_range_teams"], e["league_three_pt_teams"]) == (10, 10, 10)
    assert e["qualifying_teams"] == 10

    t0 = row(res, "T0")
    assert t0["games_in_sample"] == 15
    assert t0["paint_pct_allowed_last_15"] == 0.5  # days 25-39 only
    assert t0["paint_attempts_allowed_per_game"] == 10.0
    assert t0["paint_points_allowed_per_game"] == 10.0
    assert t0["paint_defense_vs_league_avg"] == -1.25  # (0.5 - 0.5125) * 100
    assert t0["mid_range_pct_allowed_last_15"] == 0.4 and t0["mid_range_defense_vs_league_avg"] == 0.0
    assert t0["three_pt_pct_allowed_last_15"] == 0.3 and t0["three_pt_defense_vs_league_avg"] == 0.0
    assert t0["defensive_rating_last_15"] == 111.07  # (13 * 110 + 125) / 14, NULL skipped
    assert t0["opponent_points_per_game"] == 107.0  # mean of 100..114
    assert t0["opponent_pace"] == 95.5  # (8 * 95 + 7 * 96) / 15 = 95.47
    assert (t0["data_quality_tier"], t0["early_season_flag"]) == ("high", False)
    assert t0["calculation_notes"] is None
    # paint is the lowest; mid_range and perimeter tie at ~0 (float noise) -> first in order
    assert (t0["strongest_zone"], t0["weakest_zone"]) == ("paint", "mid_range")


def test_league_average_defaults_below_ten_teams():
    res = run(league_teams(9), [D45])
    e = extras_on(res, D45)
    assert (e["league_paint"], e["league_mid_range"], e["league_three_pt"]) == (0.58, 0.41, 0.355)
    assert all(e[f"league_{z}_is_default"] for z in ("paint", "mid_range", "three_pt"))
    assert e["league_paint_teams"] == 9
    t0 = row(res, "T0")
    assert t0["paint_defense_vs_league_avg"] == -8.0  # (0.5 - 0.58) * 100
    assert t0["mid_range_defense_vs_league_avg"] == -1.0
    assert t0["three_pt_defense_vs_league_avg"] == -5.5
    assert (t0["strongest_zone"], t0["weakest_zone"]) == ("paint", "mid_range")


def test_league_window_is_d_minus_30_inclusive_and_needs_10_games():
    # T9 replaced by a team with 10 games on days 14..23: only 9 are in [day 15, day 45)
    rows = league_teams(9) + [tgame("T9", d) for d in range(14, 24)]
    e = extras_on(run(rows, [D45]), D45)
    assert e["qualifying_teams"] == 9 and e["league_paint_is_default"]
    # ... and with games on days 15..24: 10 games dated >= D - 30 -> qualifies
    rows = league_teams(9) + [tgame("T9", d) for d in range(15, 25)]
    e = extras_on(run(rows, [D45]), D45)
    assert e["qualifying_teams"] == 10 and not e["league_paint_is_default"]


def test_league_default_per_zone():
    # T9's mid-range is NULL in one game: its mid fraction is NULL -> 9 contributors for mid_range only
    rows = league_teams(9) + [tgame("T9", d, mid=None if d == 30 else (10, 4)) for d in range(20, 40)]
    res = run(rows, [D45])
    e = extras_on(res, D45)
    assert not e["league_paint_is_default"] and not e["league_three_pt_is_default"]
    assert e["league_mid_range_is_default"] and e["league_mid_range"] == 0.41
    assert (e["league_paint_teams"], e["league_mid_range_teams"]) == (10, 9)
    t9 = row(res, "T9")
    assert is_null(t9["mid_range_pct_allowed_last_15"]) and is_null(t9["mid_range_defense_vs_league_avg"])
    assert is_null(t9["strongest_zone"]) and is_null(t9["weakest_zone"])
    assert t9["calculation_notes"] == "mid_range zone data unavailable"
    assert row(res, "T1")["mid_range_defense_vs_league_avg"] == -1.0  # against the default 0.41


# --- minimum games ramp -------------------------------------------------------------------------
def test_minimum_games_ramp():
    rows = [tgame("FOUR", d) for d in range(1, 5)]  # 4 games
    rows += [tgame("FIVE", d) for d in range(1, 6)]  # 5 games
    rows += [tgame("TEN", d) for d in range(1, 11)]  # 10 games
    rows += [tgame("FTN", d) for d in range(1, 15)]  # 14 games
    rows += [tgame("SVN", d) for d in range(1, 18)]  # 17 games
    res = run(rows, [day(15), day(30), D45])
    f = res.failures.set_index(["analysis_date", "entity_id"])
    # day 15: m_t = max(5, 5) = 5
    rec = f.loc[(day(15), "FOUR")]
    assert (rec["expected_game_count"], rec["actual_game_count"], rec["failure_reason"]) == (
        5, 4, "Only 4 games, need 5")
    five = row(res, "FIVE", day(15))
    assert (five["games_in_sample"], five["data_quality_tier"], five["early_season_flag"]) == (5, "low", True)
    # day 30: m_t = 10
    ten = row(res, "TEN", day(30))
    assert (ten["data_quality_tier"], ten["early_season_flag"]) == ("medium", True)
    rec = f.loc[(day(30), "FIVE")]
    assert (rec["expected_game_count"], rec["actual_game_count"]) == (10, 5)
    # day 45: m_t = 15; g is capped at 15
    rec = f.loc[(D45, "FTN")]
    assert (rec["expected_game_count"], rec["actual_game_count"]) == (15, 14)
    svn = row(res, "SVN", D45)
    assert (svn["games_in_sample"], svn["data_quality_tier"], svn["early_season_flag"]) == (15, "high", False)
    assert len(res.failures) == 1 + 2 + 4  # day 15: FOUR; day 30: FOUR, FIVE; day 45: all but SVN


# --- strongest / weakest, notes -----------------------------------------------------------------
def _one_game_team(team, paint, mid, three):
    """15 games on days 25..39; all attempts in the first, zeros elsewhere (league: defaults)."""
    rows = [tgame(team, 25, paint=paint, mid=mid, three=three)]
    zero = (0, 0)
    rows += [tgame(team, d, paint=zero, mid=zero, three=zero) for d in range(26, 40)]
    return rows


def test_strongest_weakest_and_ties():
    # vs: paint +12 (12.0 in floats), mid_range +12 (12.000000000000005), perimeter -5.5
    rows = _one_game_team("TIE", (100, 70), (100, 53), (100, 30))
    rows += _one_game_team("EQL", (100, 58), (100, 41), (1000, 355))  # all exactly 0
    rows += _one_game_team("ORD", (100, 50), (100, 45), (100, 40))  # vs: -8, +4, +4.5
    rows += _one_game_team("ZRO", (100, 50), (0, 0), (100, 40))  # no mid-range attempts
    rows += _one_game_team("NUL", (100, 50), (0, 0), None)  # 0 mid, NULL three
    res = run(rows, [D45])
    assert extras_on(res, D45)["league_paint_is_default"]
    tie = row(res, "TIE")
    assert (tie["paint_defense_vs_league_avg"], tie["mid_range_defense_vs_league_avg"]) == (12.0, 12.0)
    assert (tie["strongest_zone"], tie["weakest_zone"]) == ("perimeter", "paint")  # tie -> first in order
    assert (row(res, "EQL")["strongest_zone"], row(res, "EQL")["weakest_zone"]) == ("paint", "paint")
    assert (row(res, "ORD")["strongest_zone"], row(res, "ORD")["weakest_zone"]) == ("paint", "perimeter")
    zro = row(res, "ZRO")
    assert is_null(zro["strongest_zone"]) and is_null(zro["weakest_zone"])
    assert is_null(zro["mid_range_pct_allowed_last_15"]) and zro["mid_range_attempts_allowed_per_game"] == 0.0
    assert zro["calculation_notes"] == "No mid_range attempts"
    nul = row(res, "NUL")
    assert nul["calculation_notes"] == "No mid_range attempts; three_pt zone data unavailable"
    assert is_null(nul["three_pt_attempts_allowed_per_game"]) and nul["paint_pct_allowed_last_15"] == 0.5


def test_rounding_half_away_from_zero():
    # paint 91/160 = 0.56875 vs default 0.58 -> -1.125 pp -> -1.13; mid 1/16 = 0.0625 -> 0.063
    rows = _one_game_team("RND", (160, 91), (16, 1), (100, 30))
    r = row(run(rows, [D45]), "RND")
    assert r["paint_defense_vs_league_avg"] == -1.13  # half-to-even would give -1.12
    assert r["paint_pct_allowed_last_15"] == 0.569
    assert r["mid_range_pct_allowed_last_15"] == 0.063  # half-to-even: 0.062
    assert r["mid_range_defense_vs_league_avg"] == -34.75  # (0.0625 - 0.41) * 100
    assert r["paint_attempts_allowed_per_game"] == 10.7  # 160 / 15


# --- seasons and time ---------------------------------------------------------------------------
def test_season_without_zone_data():
    d = day(45, OPENER_2021)
    rows = [tgame(f"T{t}", k, opener=OPENER_2021, season=2021, paint=None, mid=None, three=(40, 14))
            for t in range(10) for k in range(20, 40)]
    res = run(rows, [d])
    e = extras_on(res, d)
    assert e["league_paint_is_default"] and e["league_paint_teams"] == 0 and e["league_mid_range_is_default"]
    assert not e["league_three_pt_is_default"] and e["league_three_pt"] == pytest.approx(0.35)
    r = row(res, "T3")
    for c in ("paint_pct_allowed_last_15", "paint_attempts_allowed_per_game", "paint_points_allowed_per_game",
              "paint_defense_vs_league_avg", "mid_range_pct_allowed_last_15",
              "mid_range_defense_vs_league_avg", "strongest_zone", "weakest_zone"):
        assert is_null(r[c]), c
    assert r["three_pt_pct_allowed_last_15"] == 0.35 and r["three_pt_attempts_allowed_per_game"] == 40.0
    assert r["three_pt_defense_vs_league_avg"] == 0.0
    assert r["calculation_notes"] == "paint zone data unavailable; mid_range zone data unavailable"


def test_previous_season_games_do_not_count():
    rows = [tgame("OLD", k, opener=OPENER_2021, season=2021) for k in range(1, 40)]
    rows += [tgame("OLD", d) for d in range(1, 4)]
    res = run(rows, [D45])
    rec = res.failures.iloc[0]
    assert (rec["entity_id"], rec["expected_game_count"], rec["actual_game_count"]) == ("OLD", 15, 3)
    assert extras_on(res, D45)["qualifying_teams"] == 0


def test_no_look_ahead():
    base = run(league_teams(), [D45])
    later = league_teams()
    later += [tgame(f"T{t}", d, paint=(30, 30), points=200) for t in range(10) for d in (45, 46)]  # D, D + 1
    later += [tgame("NEW", 45)]
    after = run(later, [D45])
    for a, b in zip(base, after):
        pd.testing.assert_frame_equal(a, b)


def test_range_equals_single_dates():
    rows = league_teams() + [tgame("FIVE", d, paint=(d, d // 2)) for d in range(1, 40, 2)]
    dates = [day(d) for d in range(0, 60)]
    ranged = run(rows, dates)
    singles = [run(rows, [d]) for d in dates]
    for part in ("rows", "failures", "candidates", "extras"):
        pd.testing.assert_frame_equal(
            getattr(ranged, part), pd.concat([getattr(s, part) for s in singles], ignore_index=True)
        )


# --- real data ----------------------------------------------------------------------------------
@pytest.mark.shared_data
def test_real_month_range_equals_date_by_date():
    data = load_real_season("nba-2022-23")
    tdgs = data["nba_analytics.team_defense_game_summary"]
    cal = SeasonCalendar(data["nba_reference.schedule"])
    dates = pd.date_range("2022-11-15", "2022-12-14")
    ranged = compute_tdza(tdgs, cal, dates)
    check_contract(ranged)
    singles = [compute_tdza(tdgs, cal, [d]) for d in dates]
    for part in ("rows", "failures", "candidates", "extras"):
        pd.testing.assert_frame_equal(
            getattr(ranged, part), pd.concat([getattr(s, part) for s in singles], ignore_index=True)
        )
    assert len(ranged.rows) == 30 * len(dates)
    assert not ranged.extras["league_paint_is_default"].any()


@pytest.mark.shared_data
def test_real_date_matches_a_plain_reference():
    data = load_real_season("nba-2022-23")
    tdgs = data["nba_analytics.team_defense_game_summary"]
    cal = SeasonCalendar(data["nba_reference.schedule"])
    d = pd.Timestamp("2023-02-01")
    res = compute_tdza(tdgs, cal, [d])
    g = tdgs.copy()
    g["game_date"] = pd.to_datetime(g["game_date"])
    g = g[g["game_date"] < d]
    recent = g[g["game_date"] >= d - pd.Timedelta(days=30)]
    sums = recent.groupby("defending_team_abbr").agg(
        n=("game_id", "size"), makes=("opp_paint_makes", "sum"), attempts=("opp_paint_attempts", "sum")
    )
    sums = sums[sums["n"] >= 10]
    league_paint = (sums["makes"] / sums["attempts"]).mean()
    assert extras_on(res, d)["league_paint"] == pytest.approx(league_paint)
    out = res.rows.set_index("team_abbr")
    for team, games in g.groupby("defending_team_abbr"):
        l15 = games.sort_values(["game_date", "game_id"]).tail(15)
        pct = l15["opp_paint_makes"].sum() / l15["opp_paint_attempts"].sum()
        r = out.loc[team]
        assert r["paint_pct_allowed_last_15"] == pytest.approx(pct, abs=0.0005 + 1e-9)
        assert r["paint_defense_vs_league_avg"] == pytest.approx((pct - league_paint) * 100, abs=0.005 + 1e-9)
        points = l15["points_allowed"].sum() / 15
        assert r["opponent_points_per_game"] == pytest.approx(points, abs=0.05 + 1e-9)
