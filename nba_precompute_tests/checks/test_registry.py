"""The registry of checks and the structured part of their results (what the Dagster checks
put in their metadata): observed, threshold, examples and measures as data."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

from nba_precompute.checks.config import ENV_VAR, ChecksConfigError, Severity, defaults_text, load_config
from nba_precompute.checks.evaluate import RESULT_COLUMNS, check_results, evaluate_checks
from nba_precompute.checks.registry import CHECK_NAMES, CHECKS, checks_for
from nba_precompute.registry import ASSET_NAMES as ASSETS
from nba_precompute_tests.checks.builders import (
    D,
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


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)


def result(results: pd.DataFrame, check: str, date=D):
    (hit,) = [r for r in check_results(results) if r.check == check and r.analysis_date == pd.Timestamp(date)]
    return hit


# --- the registry -----------------------------------------------------------------------------
def test_the_registry_holds_the_eight_checks_of_section_8_and_volume_in_order():
    assert [(d.name, d.severity, d.applies_when_text) for d in CHECKS.values()] == [
        ("primary_key_unique", Severity.ERROR, "always"),
        ("keys_not_null", Severity.ERROR, "always"),
        ("outcome_consistent", Severity.ERROR, "always"),
        ("entity_accounting", Severity.ERROR, "the compute step ran (candidates known, no DATE_LEVEL failure)"),
        ("row_minimum", Severity.WARN, "rows > 0 and N(D) known when ROW_MIN is slate-relative"),
        ("volume", Severity.WARN, "rows > 0 and min_reference earlier dates of its group (the season calendar given)"),
        ("value_ranges", Severity.ERROR, "rows > 0"),
        ("zone_rates_sum", Severity.ERROR, "rows > 0"),
        ("non_constant_features", Severity.WARN, "rows >= min_rows"),
    ]
    assert CHECKS["zone_rates_sum"].assets == ("psza",)
    assert CHECKS["non_constant_features"].assets == ("pcf", "mlfs")
    assert CHECKS["volume"].assets == tuple(ASSETS)
    assert {a: [d.name for d in checks_for(a)] for a in ASSETS} == {a: list(n) for a, n in CHECK_NAMES.items()}
    with pytest.raises(KeyError, match="unknown asset 'xyz'"):
        checks_for("xyz")


def test_descriptions_read_as_dagster_check_descriptions():
    for d in CHECKS.values():
        assert d.description.endswith(".") and "\n" not in d.description and 40 < len(d.description) < 300, d.name
        assert d.observed, d.name
    assert CHECKS["row_minimum"].description.startswith("Minimum records:")


def test_every_check_has_its_section_in_the_shipped_thresholds():
    shipped = yaml.safe_load(defaults_text())["checks"]
    assert list(shipped) == list(CHECKS)
    cfg = load_config()
    for name, d in CHECKS.items():
        assert isinstance(cfg.check(name), d.settings)
        assert cfg.severity(name) is d.severity  # the shipped file keeps the registry's severities


def test_a_section_without_thresholds_may_be_omitted_and_a_severity_overridden(tmp_path):
    path = tmp_path / "deploy.yaml"
    path.write_text("checks:\n  keys_not_null: {severity: warn}\n  primary_key_unique: null\n")
    cfg = load_config(path)
    assert cfg.severity("keys_not_null") is Severity.WARN
    assert cfg.severity("primary_key_unique") is Severity.ERROR  # the registry's default
    path.write_text("checks:\n  zone_rates_sum: null\n")  # a check with thresholds needs them
    with pytest.raises(ChecksConfigError, match=r"checks\.zone_rates_sum: missing key\(s\) columns, total, tolerance$"):
        load_config(path)


def test_unknown_checks_are_errors():
    with pytest.raises(KeyError, match="unknown check 'min_records'"):
        load_config().check("min_records")


# --- structured results -----------------------------------------------------------------------
def test_row_minimum_carries_count_and_threshold():
    r = result(evaluate_checks("pcf", [D], pcf_rows(n=7), failures(), slate_sizes={D: 10}), "row_minimum")
    assert (r.observed, r.threshold, r.measures) == (7, 8, {"rows": 7, "required": 8, "slate_size": 10})
    assert r.failed and r.examples == []
    r = result(evaluate_checks("psza", [D], psza_rows(n=120), failures()), "row_minimum")
    assert (r.observed, r.threshold, r.measures, r.passed) == (120, 100, {"rows": 120, "required": 100}, True)


def test_value_ranges_examples_name_column_value_range_and_entity():
    rows = mlfs_rows(names=["a", "b", "c"], f10_injury_risk=[0.0, 4.0, 1.0], f15_home_away=[0.0, 1.0, 0.5])
    r = result(evaluate_checks("mlfs", [D], rows, failures()), "value_ranges")
    assert r.observed == 2 and r.measures["ranged_columns"] == len(load_config().value_ranges.ranges_for("mlfs"))
    assert r.examples == [
        {"column": "f10_injury_risk", "value": 4.0, "range": {"low": 0.0, "high": 3.0}, "entity": "b"},
        {"column": "f15_home_away", "value": 0.5, "range": {"values": [0.0, 1.0]}, "entity": "c"},
    ]


def test_examples_stop_at_detail_max_items():
    from nba_precompute.checks.config import config_from_dict

    names = [f"p{i}" for i in range(7)]
    res = evaluate_checks("psza", [D], psza_rows(names=names + names), failures(),
                          config=config_from_dict({"detail_max_items": 2}))
    r = result(res, "primary_key_unique")
    assert r.observed == 7 and r.measures["duplicate_row_keys"] == 7
    assert r.examples == [
        {"table": "rows", "analysis_date": "2022-11-15", "player_lookup": "p0", "count": 2},
        {"table": "rows", "analysis_date": "2022-11-15", "player_lookup": "p1", "count": 2},
    ]


def test_duplicate_failure_keys_and_null_keys_as_data():
    dl = date_failure("tdza", D)
    r = result(evaluate_checks("tdza", [D], tdza_rows(names=[]), failures(dl, dl)), "primary_key_unique")
    assert r.examples == [{"table": "failures", "processor_name": "tdza", "analysis_date": "2022-11-15",
                           "entity_id": "DATE_LEVEL", "count": 2}]
    rows = psza_rows(names=["a", None, "c"])
    rows.loc[rows["player_lookup"] == "c", "analysis_date"] = pd.NaT
    r = result(evaluate_checks("psza", [D], rows, entity_failures("psza", D, [None])), "keys_not_null")
    assert r.observed == 3
    assert r.examples == [
        {"table": "rows", "null_column": "player_lookup", "rows": 1},
        {"table": "failures", "null_column": "entity_id", "rows": 1},
        {"table": "rows", "null_column": "analysis_date", "rows": 1, "entities": ["c"]},
    ]


def test_entity_accounting_and_outcome_measures():
    rows = pdc_rows(names=["jamesharden", "lebronjames", "nobody"])
    fails = entity_failures("pdc", D, ["lebronjames"])
    res = evaluate_checks("pdc", [D], rows, fails, candidates(D, ["jamesharden", "lebronjames", "kd"]))
    r = result(res, "entity_accounting")
    assert r.measures == {"candidates": 3, "rows": 3, "entity_failures": 1, "unaccounted": 1,
                          "row_and_failure": 1, "non_candidate": 1}
    assert r.examples == [{"entity": "kd", "problem": "unaccounted"},
                          {"entity": "lebronjames", "problem": "row_and_failure"},
                          {"entity": "nobody", "problem": "non_candidate"}]
    assert result(res, "outcome_consistent").measures == {
        "rows": 3, "entity_failures": 1, "date_level_failures": 0, "date_level_categories": []}


def test_zone_rates_and_constant_features_as_data():
    rows = psza_rows(names=["a", "b"], paint_rate_last_10=[50.0, 40.0], mid_range_rate_last_10=[10.0, None],
                     three_pt_rate_last_10=[30.0, 60.0])
    r = result(evaluate_checks("psza", [D], rows, failures()), "zone_rates_sum")
    assert r.threshold == 0.02 and r.measures == {"rows_with_rates": 1, "total": 100.0, "tolerance": 0.02}
    assert r.examples == [{"entity": "a", "problem": "sum", "sum": 90.0},
                          {"entity": "b", "problem": "partly_null", "null_columns": ["mid_range_rate_last_10"]}]
    r = result(evaluate_checks("mlfs", [D], mlfs_rows(n=60, f13_opponent_def_rating=112.0), failures()),
               "non_constant_features")
    assert r.threshold == 50 and r.measures == {"columns_checked": 23}
    assert r.examples == [{"column": "f13_opponent_def_rating", "value": 112.0, "non_null": 60}]


def test_a_check_that_does_not_apply_carries_no_data():
    res = evaluate_checks("pcf", [D], pcf_rows(names=[]), date_failure("pcf", D), candidates(D, players(3)))
    for name in ("entity_accounting", "row_minimum", "value_ranges", "non_constant_features"):
        r = result(res, name)
        assert not r.applicable and r.passed and r.detail.startswith("not applicable: ")
        assert pd.isna(r.observed) and pd.isna(r.threshold) and r.examples == [] and r.measures == {}
        assert r.metadata() == {"applicable": False, "detail": r.detail}


def test_metadata_is_json_data_for_every_result():
    rows = pcf_rows(n=60, fatigue_score=[130] + [50] * 59)
    rows.loc[1, "pace_score"] = float("inf")  # after conform, which would make it NULL
    res = pd.concat([
        evaluate_checks("pcf", [D], rows, failures(date_failure("pcf", D)), candidates(D, players(61)), {D: 61}),
        evaluate_checks("psza", [D], psza_rows(n=3), failures()),
    ], ignore_index=True)
    assert list(res.columns) == RESULT_COLUMNS
    for r in check_results(res):
        meta = r.metadata()
        json.dumps(meta, allow_nan=False)  # strict JSON: no NaN, no numpy types
        assert meta["detail"] == r.detail
    pcf = res[res["asset"] == "pcf"]
    r = result(pcf, "value_ranges")
    assert r.metadata()["observed"] == 2 and r.metadata()["examples"][1]["value"] == "inf"
    row_min = result(pcf, "row_minimum").metadata()
    assert (row_min["observed"], row_min["threshold"], row_min["required"]) == (60, 49, 49)
