"""The §8 checks on hand-built frames: each fails on a hand-broken partition, with the detail
asserted, and passes on a good one."""

from __future__ import annotations

import types

import numpy as np
import pandas as pd
import pytest

from nba_precompute.checks.config import config_from_dict, load_config
from nba_precompute.checks.evaluate import (
    RESULT_COLUMNS,
    evaluate_checks,
    evaluate_range_result,
    failed,
    has_error_failures,
    result_labels,
)
from nba_precompute.checks.registry import CHECK_NAMES, CHECKS
from nba_precompute.failures import Category
from nba_precompute_tests.checks.builders import (
    D,
    D2,
    ROWS,
    candidates,
    date_failure,
    entity_failures,
    failures,
    mlfs_rows,
    pcf_rows,
    pdc_rows,
    players,
    psza_rows,
    tdza_rows,
)

ENTITY = {"psza": "player_lookup", "tdza": "team_abbr", "pdc": "player_lookup", "pcf": "player_lookup",
          "mlfs": "player_lookup"}


@pytest.fixture(autouse=True)
def _default_config(monkeypatch):
    monkeypatch.delenv("NBA_PRECOMPUTE_CHECKS_CONFIG", raising=False)


def result(results: pd.DataFrame, check: str, date=D) -> pd.Series:
    hit = results[(results["check"] == check) & (results["analysis_date"] == pd.Timestamp(date))]
    assert len(hit) == 1, f"{check} on {date}: {len(hit)} results"
    return hit.iloc[0]


def good(asset: str, date=D):
    """A valid partition: rows, a few entity failures, the candidates and the slate size."""
    rows = ROWS[asset](date)
    key = ENTITY[asset]
    extra = [f"{key[:4]}_failed{i}" for i in range(3)]
    fails = entity_failures(asset, date, extra)
    cands = candidates(date, list(rows[key]) + extra, key)
    return rows, fails, cands, len(cands)


# --- good partitions --------------------------------------------------------------------------
@pytest.mark.parametrize("asset", list(CHECK_NAMES))
def test_every_check_passes_on_a_good_partition(asset):
    rows, fails, cands, n = good(asset)
    res = evaluate_checks(asset, [D], rows, fails, cands, {D: n})
    assert list(res.columns) == RESULT_COLUMNS
    assert list(res["check"]) == list(CHECK_NAMES[asset])
    # volume needs the season calendar and earlier dates (test_volume_*); every other check applies
    assert result(res, "volume")["detail"] == "not applicable: no season calendar given"
    res = res[res["check"] != "volume"]
    assert res["applicable"].all(), res[~res["applicable"]][["check", "detail"]]
    assert res["passed"].all(), failed(res)[["check", "detail"]].to_string()
    assert not has_error_failures(res)
    assert (result_labels(res) == "PASS").all()
    assert result(res, "entity_accounting")["detail"] == (
        f"{n} candidates = {len(rows)} rows + 3 entity failures")
    assert all(CHECKS[c].description for c in CHECK_NAMES[asset])


def test_check_names_per_asset():
    base = ["primary_key_unique", "keys_not_null", "outcome_consistent", "entity_accounting", "row_minimum",
            "volume", "value_ranges"]
    assert list(CHECK_NAMES["psza"]) == base + ["zone_rates_sum"]
    assert list(CHECK_NAMES["tdza"]) == base and list(CHECK_NAMES["pdc"]) == base
    assert list(CHECK_NAMES["pcf"]) == base + ["non_constant_features"]
    assert list(CHECK_NAMES["mlfs"]) == base + ["non_constant_features"]


def test_severities_come_from_the_config():
    rows, fails, cands, n = good("psza")
    res = evaluate_checks("psza", [D], rows, fails, cands)
    sev = dict(zip(res["check"], res["severity"]))
    assert sev == {"primary_key_unique": "ERROR", "keys_not_null": "ERROR", "outcome_consistent": "ERROR",
                   "entity_accounting": "ERROR", "row_minimum": "WARN", "volume": "WARN", "value_ranges": "ERROR",
                   "zone_rates_sum": "ERROR"}


# --- primary_key_unique -----------------------------------------------------------------------
def test_duplicate_row_key_fails():
    rows = psza_rows(names=["jamesharden", "lebronjames", "lebronjames", "stephencurry"])
    cands = candidates(D, ["jamesharden", "lebronjames", "stephencurry"])
    res = evaluate_checks("psza", [D], rows, failures(), cands)
    r = result(res, "primary_key_unique")
    assert not r["passed"] and r["applicable"] and r["severity"] == "ERROR"
    assert r["detail"] == "1 duplicate row key (2 rows): (2022-11-15, lebronjames) x2"
    assert r["observed"] == 1
    assert has_error_failures(res)
    # the duplicate does not make the entity unaccounted
    assert result(res, "entity_accounting")["passed"]


def test_duplicate_failure_key_fails():
    dl = date_failure("tdza", D)
    res = evaluate_checks("tdza", [D], tdza_rows(names=[]), failures(dl, dl))
    r = result(res, "primary_key_unique")
    assert not r["passed"]
    assert r["detail"] == "1 duplicate failure key (2 rows): (tdza, 2022-11-15, DATE_LEVEL) x2"


def test_duplicate_keys_are_listed_up_to_the_configured_number():
    names = [f"p{i}" for i in range(7)]
    rows = psza_rows(names=names + names)
    res = evaluate_checks("psza", [D], rows, failures(), config=config_from_dict({"detail_max_items": 2}))
    assert result(res, "primary_key_unique")["detail"] == (
        "7 duplicate row keys (14 rows): (2022-11-15, p0) x2, (2022-11-15, p1) x2, ... and 5 more")


# --- keys_not_null ----------------------------------------------------------------------------
def test_null_entity_key_fails():
    rows = psza_rows(names=["jamesharden", None, "stephencurry"])
    fails = entity_failures("psza", D, [None])
    res = evaluate_checks("psza", [D], rows, fails)
    r = result(res, "keys_not_null")
    assert not r["passed"] and r["observed"] == 2
    assert r["detail"] == "1 row with NULL player_lookup; 1 failure row with NULL entity_id"
    assert result(res, "primary_key_unique")["passed"]


def test_null_analysis_date_is_reported_on_the_partition():
    rows = tdza_rows(names=["BOS", "LAL"])
    rows.loc[1, "analysis_date"] = pd.NaT
    res = evaluate_checks("tdza", [D], rows, failures())
    r = result(res, "keys_not_null")
    assert not r["passed"]
    assert r["detail"] == "1 row with NULL analysis_date (team_abbr: LAL)"
    res2 = evaluate_checks("tdza", [D, D2], rows, failures())
    assert result(res2, "keys_not_null", D)["detail"] == (
        "1 row with NULL analysis_date (team_abbr: LAL) (date unknown; reported on the first date checked)")
    assert result(res2, "keys_not_null", D2)["passed"]


# --- outcome_consistent -----------------------------------------------------------------------
def test_rows_beside_a_date_level_failure_fail():
    rows = pcf_rows(names=["jamesharden", "lebronjames"])
    missing = entity_failures("pcf", D, ["x"], Category.MISSING_DATA, "UPCG row lacks team_abbr")
    fails = failures(date_failure("pcf", D), missing)
    res = evaluate_checks("pcf", [D], rows, fails, candidates(D, ["jamesharden", "lebronjames", "x"]))
    r = result(res, "outcome_consistent")
    assert not r["passed"] and r["severity"] == "ERROR"
    assert r["detail"] == "DATE_LEVEL failure (MISSING_DEPENDENCY) beside 2 rows and 1 entity failure"
    assert r["observed"] == 3
    # entity accounting does not apply after a date-level failure
    ea = result(res, "entity_accounting")
    assert not ea["applicable"] and ea["passed"]
    assert ea["detail"] == "not applicable: date-level failure (MISSING_DEPENDENCY)"


def test_a_clean_date_level_failure_passes():
    fails = date_failure("psza", D, Category.BOOTSTRAP_PERIOD,
                         "Bootstrap period: day 3 of 14 after opener 2022-11-12")
    res = evaluate_checks("psza", [D], psza_rows(names=[]), fails, candidates(D, ["a"]))
    r = result(res, "outcome_consistent")
    assert r["passed"] and r["detail"] == "DATE_LEVEL failure (BOOTSTRAP_PERIOD), 0 rows"
    labels = dict(zip(res["check"], result_labels(res)))
    assert labels == {"primary_key_unique": "PASS", "keys_not_null": "PASS", "outcome_consistent": "PASS",
                      "entity_accounting": "N/A", "row_minimum": "N/A", "volume": "N/A", "value_ranges": "N/A",
                      "zone_rates_sum": "N/A"}


def test_entity_failures_without_rows_or_date_level_failure_fail():
    res = evaluate_checks("tdza", [D], tdza_rows(names=[]), entity_failures("tdza", D, ["BOS", "LAL"]))
    r = result(res, "outcome_consistent")
    assert not r["passed"]
    assert r["detail"] == ("2 entity failures but 0 rows and no DATE_LEVEL failure "
                           "(a compute that leaves 0 rows is a PROCESSING_ERROR)")


# --- entity_accounting ------------------------------------------------------------------------
def test_a_dropped_player_without_a_failure_row_fails():
    rows = psza_rows(names=["jamesharden", "lebronjames"])
    fails = entity_failures("psza", D, ["kevindurant"])
    cands = candidates(D, ["jamesharden", "kevindurant", "lebronjames", "stephencurry"])
    res = evaluate_checks("psza", [D], rows, fails, cands)
    r = result(res, "entity_accounting")
    assert r["applicable"] and not r["passed"] and r["severity"] == "ERROR"
    assert r["detail"] == "1 of 4 candidates without a row or a failure: stephencurry"
    assert r["observed"] == 1


def test_an_entity_with_both_a_row_and_a_failure_and_a_non_candidate_fail():
    rows = pdc_rows(names=["jamesharden", "lebronjames", "nobody"])
    fails = entity_failures("pdc", D, ["lebronjames"], Category.STALE_DATA, "No played game in 40 days (max 30)")
    res = evaluate_checks("pdc", [D], rows, fails, candidates(D, ["jamesharden", "lebronjames"]))
    r = result(res, "entity_accounting")
    assert not r["passed"] and r["observed"] == 2
    assert r["detail"] == ("1 entity with both a row and a failure: lebronjames; "
                           "1 non-candidate with a row or a failure: nobody")


def test_entity_accounting_needs_candidates():
    res = evaluate_checks("tdza", [D], tdza_rows(names=["BOS"]), failures())
    r = result(res, "entity_accounting")
    assert not r["applicable"] and r["detail"] == "not applicable: candidates unknown"
    # candidates known for another date only: this one did not reach the compute step
    res = evaluate_checks("tdza", [D, D2], tdza_rows(names=["BOS"]), failures(),
                          candidates(D2, ["BOS"], "team_abbr"), candidate_dates=[D2])
    assert result(res, "entity_accounting", D)["detail"] == "not applicable: compute step not reached"
    assert result(res, "entity_accounting", D2)["detail"] == (
        "1 of 1 candidate without a row or a failure (nothing stored for this date): BOS")


def test_candidates_may_name_the_entity_entity_id():
    cands = pd.DataFrame({"analysis_date": [D, D], "entity_id": ["BOS", "LAL"]})
    res = evaluate_checks("tdza", [D], tdza_rows(names=["BOS"]), failures(), cands)
    assert result(res, "entity_accounting")["detail"] == "1 of 2 candidates without a row or a failure: LAL"


# --- row_minimum ------------------------------------------------------------------------------
def test_row_minimum_is_a_warning_with_the_requirement():
    res = evaluate_checks("psza", [D], psza_rows(n=99), failures())
    r = result(res, "row_minimum")
    assert not r["passed"] and r["severity"] == "WARN" and r["observed"] == 99
    assert r["detail"] == "99 rows < 100 required"
    assert not has_error_failures(res)
    assert result(evaluate_checks("psza", [D], psza_rows(n=100), failures()), "row_minimum")["detail"] == (
        "100 rows >= 100")
    assert result(evaluate_checks("tdza", [D], tdza_rows(n=24), failures()), "row_minimum")["detail"] == (
        "24 rows < 25 required")


def test_row_minimum_of_slate_assets_uses_the_slate_size():
    res = evaluate_checks("pcf", [D], pcf_rows(n=7), failures(), slate_sizes={D: 10})
    assert result(res, "row_minimum")["detail"] == "7 rows < 8 required (max(1, ceil(0.8 x 10)))"
    res = evaluate_checks("pdc", [D], pdc_rows(n=7), failures(), slate_sizes=pd.Series({D: 10}))
    assert result(res, "row_minimum")["detail"] == "7 rows >= 7 (max(1, ceil(0.7 x 10)))"
    # without slate sizes, the candidate count of the date is N
    cands = candidates(D, players(10))
    res = evaluate_checks("mlfs", [D], mlfs_rows(n=7), entity_failures("mlfs", D, players(10)[7:]), cands)
    assert result(res, "row_minimum")["detail"] == "7 rows < 8 required (max(1, ceil(0.8 x 10)))"
    res = evaluate_checks("mlfs", [D], mlfs_rows(n=7), failures())
    assert result(res, "row_minimum")["detail"] == "not applicable: slate size N unknown"


# --- value_ranges -----------------------------------------------------------------------------
def test_pcf_fatigue_out_of_range_fails():
    names = ["jamesharden", "lebronjames"]
    res = evaluate_checks("pcf", [D], pcf_rows(names=names, fatigue_score=[130, 90]), failures())
    r = result(res, "value_ranges")
    assert not r["passed"] and r["observed"] == 1
    assert r["detail"] == "fatigue_score 130 outside [0, 100] for jamesharden"


def test_mlfs_f10_and_other_features_out_of_range_fail():
    names = ["a", "b", "c", "d"]
    rows = mlfs_rows(names=names, f10_injury_risk=[0.0, 4.0, 1.0, 3.0], f15_home_away=[0.0, 1.0, 0.5, 1.0],
                     f21_pct_free_throw=[0.1, 0.1, 0.1, 0.6], f09_rest_advantage=[-3.0, 0.0, 0.0, 0.0])
    res = evaluate_checks("mlfs", [D], rows, failures())
    r = result(res, "value_ranges")
    assert not r["passed"] and r["observed"] == 4
    assert r["detail"] == ("4 values out of range: f09_rest_advantage -3 outside [-2, 2] for a; "
                           "f10_injury_risk 4 outside [0, 3] for b; f15_home_away 0.5 not in {0, 1} for c; "
                           "f21_pct_free_throw 0.6 outside [0, 0.5] for d")


@pytest.mark.parametrize(
    "asset, column, value, detail",
    [
        ("psza", "paint_pct_last_10", 1.2, "paint_pct_last_10 1.2 outside [0, 1] for x"),
        ("psza", "games_in_sample_10", 11, "games_in_sample_10 11 outside [0, 10] for x"),
        ("psza", "games_in_sample_20", 21, "games_in_sample_20 21 outside [0, 20] for x"),
        ("psza", "total_shots_last_10", -1, "total_shots_last_10 -1 outside [0, inf) for x"),
        ("psza", "assisted_rate_last_10", 100.5, "assisted_rate_last_10 100.5 outside [0, 100] for x"),
        ("tdza", "games_in_sample", 16, "games_in_sample 16 outside [0, 15] for x"),
        ("tdza", "three_pt_pct_allowed_last_15", -0.1, "three_pt_pct_allowed_last_15 -0.1 outside [0, 1] for x"),
        ("pdc", "ts_pct_last_10", 1.6, "ts_pct_last_10 1.6 outside [0, 1.5] for x"),
        ("pdc", "usage_rate_last_10", 120.0, "usage_rate_last_10 120 outside [0, 100] for x"),
        ("pdc", "games_played_season", -2, "games_played_season -2 outside [0, 82] for x"),
        ("pcf", "shot_zone_mismatch_score", -10.5, "shot_zone_mismatch_score -10.5 outside [-10, 10] for x"),
        ("pcf", "pace_score", np.inf, "pace_score inf outside [-3, 3] for x"),
        ("pcf", "total_composite_adjustment", 16.01, "total_composite_adjustment 16.01 outside [-21, 16] for x"),
        ("pcf", "data_completeness_pct", 1.2, "data_completeness_pct 1.2 outside [0, 1] for x"),
        ("mlfs", "f05_fatigue_score", 101.0, "f05_fatigue_score 101 outside [0, 100] for x"),
        ("mlfs", "f24_team_win_pct", 1.5, "f24_team_win_pct 1.5 outside [0, 1] for x"),
        ("mlfs", "feature_quality_score", -1.0, "feature_quality_score -1 outside [0, 100] for x"),
        ("mlfs", "default_feature_count", 26, "default_feature_count 26 outside [0, 25] for x"),
    ],
)
def test_each_range(asset, column, value, detail):
    key = ENTITY[asset]
    rows = ROWS[asset](names=["x", "y"])
    rows[column] = rows[column].astype("float64")
    rows.loc[rows[key] == "x", column] = value
    res = evaluate_checks(asset, [D], rows, failures())
    r = result(res, "value_ranges")
    assert not r["passed"]
    assert r["detail"] == detail


def test_null_values_and_the_range_bounds_pass():
    rows = pcf_rows(names=["a", "b", "c"], fatigue_score=[0, 100, None], pace_score=[-3.0, 3.0, None])
    rows2 = pdc_rows(names=["a", "b"], ts_pct_last_10=[1.5, 1.4], team_off_rating_last_10=[200.0, 50.0])
    assert result(evaluate_checks("pcf", [D], rows, failures()), "value_ranges")["passed"]
    # team_off_rating_last_10 is a rating, not a *_rate: its own range [50, 200], bounds included
    assert result(evaluate_checks("pdc", [D], rows2, failures()), "value_ranges")["passed"]


# --- zone_rates_sum ---------------------------------------------------------------------------
def test_psza_zone_rates_not_summing_to_100_fail():
    names = ["jamesharden", "lebronjames", "stephencurry", "kevindurant", "lukadoncic"]
    rows = psza_rows(
        names=names,
        paint_rate_last_10=[50.0, 33.33, 33.33, None, 33.33],
        mid_range_rate_last_10=[10.0, 33.33, 33.33, None, None],
        three_pt_rate_last_10=[30.0, 33.33, 33.32, None, 66.67],
    )
    res = evaluate_checks("psza", [D], rows, failures())
    r = result(res, "zone_rates_sum")
    assert not r["passed"] and r["observed"] == 2 and r["severity"] == "ERROR"
    assert r["detail"] == (
        "2 rows with inconsistent zone rates: paint_rate_last_10 + mid_range_rate_last_10 + three_pt_rate_last_10"
        " = 90 (not 100 +- 0.02) for jamesharden; mid_range_rate_last_10 NULL beside non-NULL rates for lukadoncic")


def test_rounded_rates_within_the_tolerance_pass():
    rows = psza_rows(names=["a", "b", "c"], paint_rate_last_10=[33.33, 33.33, None],
                     mid_range_rate_last_10=[33.33, 33.33, None], three_pt_rate_last_10=[33.33, 33.32, None])
    r = result(evaluate_checks("psza", [D], rows, failures()), "zone_rates_sum")
    assert r["passed"]
    assert r["detail"] == "2 rows sum to 100 +- 0.02, the others have all rates NULL"
    rows.loc[1, "three_pt_rate_last_10"] = 33.31  # 99.97
    assert not result(evaluate_checks("psza", [D], rows, failures()), "zone_rates_sum")["passed"]


# --- volume -----------------------------------------------------------------------------------
def _calendar(dates, teams_per_date: int = 20):
    """A season whose every date in `dates` schedules `teams_per_date` teams."""
    from nba_precompute.season import SeasonCalendar

    games = teams_per_date // 2
    records = [{"game_id": f"{d:%Y%m%d}_{g}", "game_date": d, "season_year": 2022, "is_regular_season": True,
                "home_team_abbr": f"H{g:02d}", "away_team_abbr": f"A{g:02d}"}
               for d in pd.DatetimeIndex(dates) for g in range(games)]
    opener = {"game_id": "opener", "game_date": pd.Timestamp("2022-10-18"), "season_year": 2022,
              "is_regular_season": True, "home_team_abbr": "H00", "away_team_abbr": "A00"}
    return SeasonCalendar(pd.DataFrame([opener] + records))


VOLUME_DATES = pd.date_range("2022-12-01", periods=10, freq="D")
PER_TEAM = [10.5, 10.2, 10.8, 10.4, 10.6, 10.5, 10.3, 10.7, 8.4, 10.5]  # the 9th date is 20% thin


def _pcf_range(per_team, dates):
    rows = pd.concat([pcf_rows(date=d, n=round(p * 20)) for d, p in zip(dates, per_team)], ignore_index=True)
    return rows


def test_volume_fails_the_date_20_percent_thinner_than_the_earlier_dates_of_the_range():
    res = evaluate_checks("pcf", VOLUME_DATES, _pcf_range(PER_TEAM, VOLUME_DATES), failures(),
                          calendar=_calendar(VOLUME_DATES))
    vol = res[res["check"] == "volume"]
    min_reference = load_config().volume.min_reference
    assert vol["applicable"].tolist() == [False] * min_reference + [True] * (10 - min_reference)
    assert vol["detail"].iloc[0] == "not applicable: 0 reference date(s) in group 2022, need 5"
    assert [d.strftime("%Y-%m-%d") for d in failed(vol)["analysis_date"]] == ["2022-12-09"]
    thin = result(res, "volume", "2022-12-09")
    assert thin["severity"] == "WARN" and thin["observed"] == 168 and thin["observed"] < thin["threshold"]
    assert thin["measures"]["exposure"] == 20 and thin["measures"]["expected"] == pytest.approx(209.0, abs=3)
    assert "168 rows, expected" in thin["detail"] and "-20%" in thin["detail"]
    assert result(res, "volume", "2022-12-10")["passed"]  # the thin date is no reference


def test_volume_of_a_one_date_run_takes_its_references_from_the_stored_history():
    history = pd.DataFrame({"asset": "pcf", "date": VOLUME_DATES[:8],
                            "rows": [round(p * 20) for p in PER_TEAM[:8]], "entity_failures": 0})
    day = VOLUME_DATES[8]
    cal = _calendar(VOLUME_DATES)
    thin = evaluate_checks("pcf", [day], _pcf_range([8.4], [day]), failures(), calendar=cal, history=history)
    r = result(thin, "volume", day)
    assert r["applicable"] and not r["passed"] and r["measures"]["reference_dates"] == 8
    # the stored rows of the checked date itself (a re-run) and other assets' counts are no reference
    rerun = pd.concat([history, pd.DataFrame({"asset": ["pcf", "mlfs"], "date": [day, day], "rows": [999, 1],
                                              "entity_failures": 0})])
    full = evaluate_checks("pcf", [day], _pcf_range([10.5], [day]), failures(), calendar=cal, history=rerun)
    r = result(full, "volume", day)
    assert r["passed"] and r["measures"]["reference_dates"] == 8


# --- non_constant_features --------------------------------------------------------------------
def test_a_constant_feature_is_a_warning():
    rows = mlfs_rows(n=60, f13_opponent_def_rating=112.0)
    res = evaluate_checks("mlfs", [D], rows, failures())
    r = result(res, "non_constant_features")
    assert not r["passed"] and r["severity"] == "WARN" and r["observed"] == 1
    assert r["detail"] == "1 constant column: f13_opponent_def_rating = 112 in all 60 non-NULL values"
    assert not has_error_failures(res)


def test_pcf_constant_factor_scores_are_flagged():
    rows = pcf_rows(n=55, fatigue_score=100, usage_spike_score=0.0)
    r = result(evaluate_checks("pcf", [D], rows, failures()), "non_constant_features")
    assert r["detail"] == ("2 constant columns: fatigue_score = 100 in all 55 non-NULL values; "
                           "usage_spike_score = 0 in all 55 non-NULL values")


def test_constant_feature_thresholds():
    # f16 / f17 are constant in good data and never flagged (they are in the fixture: both 0)
    assert result(evaluate_checks("mlfs", [D], mlfs_rows(n=60), failures()), "non_constant_features")["passed"]
    # fewer than 50 rows: not applicable
    r = result(evaluate_checks("mlfs", [D], mlfs_rows(n=49, f13_opponent_def_rating=112.0), failures()),
               "non_constant_features")
    assert not r["applicable"] and r["detail"] == "not applicable: 49 rows < 50"
    # 60 rows but only 49 non-NULL equal values: not flagged
    values = [112.0] * 49 + [None] * 11
    r = result(evaluate_checks("mlfs", [D], mlfs_rows(n=60, f13_opponent_def_rating=values), failures()),
               "non_constant_features")
    assert r["passed"]


# --- many dates at once -----------------------------------------------------------------------
def test_a_range_equals_its_dates_one_by_one():
    rows = pd.concat([psza_rows(D, n=101), psza_rows(D2, names=players(90) + ["dup", "dup"])], ignore_index=True)
    rows.loc[3, "paint_rate_last_10"] = 120.0
    fails = failures(entity_failures("psza", D, ["f1"]), date_failure("psza", D2))
    cands = pd.concat([candidates(D, players(101) + ["f1", "lost"]), candidates(D2, ["x"])], ignore_index=True)
    together = evaluate_checks("psza", [D, D2], rows, fails, cands)
    one_by_one = pd.concat(
        [evaluate_checks("psza", [d], rows, fails, cands[cands["analysis_date"] == d]) for d in (D, D2)],
        ignore_index=True,
    )
    pd.testing.assert_frame_equal(together, one_by_one)
    bad = failed(together)
    assert sorted(zip(bad["analysis_date"].dt.strftime("%m-%d"), bad["check"])) == [
        ("11-15", "entity_accounting"), ("11-15", "value_ranges"), ("11-15", "zone_rates_sum"),
        ("11-16", "outcome_consistent"), ("11-16", "primary_key_unique"), ("11-16", "row_minimum"),
    ]
    assert result(together, "entity_accounting", D)["detail"] == (
        "1 of 103 candidates without a row or a failure: lost")


def test_rows_and_failures_outside_the_dates_and_of_other_assets_are_ignored():
    rows = pd.concat([tdza_rows(D, n=30), tdza_rows(D2, names=["BOS", "BOS"])], ignore_index=True)
    fails = failures(date_failure("psza", D), date_failure("tdza", D2))
    res = evaluate_checks("tdza", [D], rows, fails)
    assert set(res["analysis_date"]) == {D}
    assert failed(res).empty


def test_no_dates_no_results():
    res = evaluate_checks("pdc", [], pdc_rows(n=3), failures())
    assert res.empty and list(res.columns) == RESULT_COLUMNS


def test_config_severity_override_changes_the_outcome():
    rows = pcf_rows(names=["jamesharden"], fatigue_score=[130])
    cfg = config_from_dict({"checks": {"value_ranges": {"severity": "WARN"}}})
    res = evaluate_checks("pcf", [D], rows, failures(), config=cfg)
    assert result(res, "value_ranges")["severity"] == "WARN"
    assert not has_error_failures(res) and len(failed(res, "WARN")) >= 1


def test_evaluate_range_result_uses_computed_dates():
    rows = tdza_rows(D, names=["BOS", "LAL"])
    days = pd.DataFrame({"analysis_date": [D, D2], "outcome": ["COMPUTED", "NO_GAMES"]})
    fake = types.SimpleNamespace(asset="tdza", dates=pd.DatetimeIndex([D, D2]), days=days, rows=rows,
                                 failures=failures(), candidates=candidates(D, ["BOS", "LAL", "NYK"], "team_abbr"))
    res = evaluate_range_result(fake)
    assert result(res, "entity_accounting", D)["detail"] == "1 of 3 candidates without a row or a failure: NYK"
    assert result(res, "entity_accounting", D2)["detail"] == (
        "not applicable: compute step not reached (0 rows, no failure)")
    # a slate column of result.days is N for the slate assets' row minimum
    pcf_days = pd.DataFrame({"analysis_date": [D], "outcome": ["COMPUTED"], "slate": [10]})
    fake = types.SimpleNamespace(asset="pcf", dates=pd.DatetimeIndex([D]), days=pcf_days, rows=pcf_rows(n=7),
                                 failures=failures(), candidates=None)
    res = evaluate_range_result(fake)
    assert result(res, "row_minimum")["detail"] == "7 rows < 8 required (max(1, ceil(0.8 x 10)))"
    assert result(res, "entity_accounting")["detail"] == "not applicable: candidates unknown"


def test_default_config_is_the_shipped_file():
    assert load_config().sources == ("nba_precompute/checks/thresholds.yaml",)
