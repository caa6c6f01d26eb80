"""The checks configuration: shipped defaults, shared constants with the dependency rules,
deployment overrides through NBA_PRECOMPUTE_CHECKS_CONFIG, and clear errors."""

from __future__ import annotations

import math
from importlib import resources

import numpy as np
import pandas as pd
import pytest

from nba_precompute import registry
from nba_precompute.checks.config import (
    ENV_VAR,
    ChecksConfigError,
    RowMinimum,
    Severity,
    ValueRange,
    config_from_dict,
    load_config,
)
from nba_precompute.settings import SETTINGS, Settings
from nba_precompute.registry import ASSET_TABLES
from nba_precompute.tables import FEATURE_NAMES


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)


def test_the_yaml_ships_in_the_package():
    assert resources.files("nba_precompute.checks").joinpath("thresholds.yaml").is_file()


def test_defaults():
    cfg = load_config()
    assert cfg.severity("primary_key_unique") is Severity.ERROR
    assert cfg.severity("row_minimum") is Severity.WARN
    assert cfg.severity("non_constant_features") is Severity.WARN
    assert cfg.zone_rates_sum.tolerance == 0.02 and cfg.zone_rates_sum.total == 100
    assert cfg.non_constant_features.min_rows == SETTINGS.constant_feature_min_rows == 50
    assert cfg.non_constant_features.columns["pcf"] == (
        "fatigue_score", "shot_zone_mismatch_score", "pace_score", "usage_spike_score")
    expected_mlfs = tuple(f for f in FEATURE_NAMES if f not in ("f16_back_to_back", "f17_playoff_game"))
    assert cfg.non_constant_features.columns["mlfs"] == expected_mlfs
    assert cfg.row_minimum.row_min["psza"] == RowMinimum(rows=100)
    assert cfg.row_minimum.row_min["tdza"] == RowMinimum(rows=25)
    assert cfg.row_minimum.row_min["pdc"] == RowMinimum(slate_ratio=0.7)
    assert cfg.row_minimum.row_min["pcf"] == RowMinimum(slate_ratio=0.8)
    assert cfg.row_minimum.row_min["mlfs"] == RowMinimum(slate_ratio=0.8)


def test_thresholds_are_the_settings_the_dependency_rules_use():
    """ROW_MIN and the other shared numbers come from Settings: another Settings changes them."""
    custom = Settings(dep_psza_min_for_mlfs=150, dep_tdza_min_rows=28, dep_ratio=0.9, dep_ratio_pdc=0.6,
                      constant_feature_min_rows=40, psza_sample_window=12, tdza_window=20)
    cfg = load_config(settings=custom)
    assert cfg.row_minimum.row_min["psza"].rows == 150
    assert cfg.row_minimum.row_min["tdza"].rows == 28
    assert cfg.row_minimum.row_min["pdc"].slate_ratio == 0.6
    assert cfg.row_minimum.row_min["pcf"].slate_ratio == 0.9
    assert cfg.non_constant_features.min_rows == 40
    ranges = cfg.value_ranges.ranges_for("psza")
    assert ranges["games_in_sample_10"] == ValueRange(0, 12)
    assert cfg.value_ranges.ranges_for("tdza")["games_in_sample"] == ValueRange(0, 20)


def test_row_min_is_the_strictest_consumer_requirement_of_section_5():
    """ROW_MIN[asset] equals the largest requirement any §5 rule places on the asset's table,
    for every slate size (same constants, same rounding)."""
    cfg = load_config()
    slates = np.arange(0, 600)
    days = pd.DataFrame({"analysis_date": pd.Timestamp("2022-11-15"), "slate": slates, "teams": 10})
    for asset, table in ASSET_TABLES.items():
        rules = [r for r in registry.RULES if r.upstream.fqn == table.fqn]
        if rules:
            required = np.max([r.required(days, SETTINGS) for r in rules], axis=0)
        else:  # mlfs: no consumer; the same ratio as pcf
            required = np.array([max(1, math.ceil(SETTINGS.dep_ratio * n)) for n in slates])
        mine = np.array([cfg.row_minimum.row_min[asset].required(int(n)) for n in slates])
        assert (mine == required).all(), asset


def test_value_range_resolution():
    cfg = load_config()
    pdc = cfg.value_ranges.ranges_for("pdc")
    assert pdc["ts_pct_last_10"] == ValueRange(0, 1.5)  # explicit beats the pct word
    assert pdc["usage_rate_last_10"] == ValueRange(0, 100)
    assert pdc["games_played_season"] == ValueRange(0, 82)  # explicit: settings.pdc_max_season_games
    assert cfg.value_ranges.ranges_for("psza")["total_shots_last_10"] == ValueRange(0, None)  # INT64 count
    assert pdc["team_off_rating_last_10"] == ValueRange(50, 200)  # explicit: a rating is not a *_rate
    mlfs = cfg.value_ranges.ranges_for("mlfs")
    assert mlfs["f15_home_away"] == ValueRange(values=(0.0, 1.0))
    assert mlfs["f10_injury_risk"] == ValueRange(0, 3)
    assert mlfs["f13_opponent_def_rating"] == ValueRange(50, 200)
    assert len([c for c in mlfs if c[0] == "f" and c[1:3].isdigit()]) == 25  # every feature is ranged
    assert str(ValueRange(0, None)) == "[0, inf)" and str(ValueRange(None, 3)) == "(-inf, 3]"
    assert str(ValueRange(values=(0, 1))) == "{0, 1}"
    bad = ValueRange(0, 100).violations(np.array([0, 100, -1, 101, np.nan, np.inf]))
    assert bad.tolist() == [False, False, True, True, False, True]


def test_override_through_the_environment(tmp_path, monkeypatch):
    path = tmp_path / "checks.yaml"
    path.write_text(
        "detail_max_items: 3\n"
        "checks:\n"
        "  value_ranges:\n"
        "    severity: warn\n"
        "    columns:\n"
        "      pcf:\n"
        "        fatigue_score: [0, 120]\n"
        "  row_minimum:\n"
        "    row_min:\n"
        "      psza: 120\n"
        "      tdza: {slate_ratio: 0.5}\n"
        "  zone_rates_sum:\n"
        "    tolerance: 0.05\n"
        "  non_constant_features:\n"
        "    columns:\n"
        "      pcf: [fatigue_score]\n"
    )
    monkeypatch.setenv(ENV_VAR, str(path))
    cfg = load_config()
    assert cfg.sources == ("nba_precompute/checks/thresholds.yaml", str(path))
    assert cfg.detail_max_items == 3
    assert cfg.severity("value_ranges") is Severity.WARN
    assert cfg.value_ranges.ranges_for("pcf")["fatigue_score"] == ValueRange(0, 120)
    assert cfg.value_ranges.ranges_for("pcf")["pace_score"] == ValueRange(-3, 3)  # merged, not replaced
    assert cfg.row_minimum.row_min["psza"] == RowMinimum(rows=120)
    assert cfg.row_minimum.row_min["tdza"] == RowMinimum(slate_ratio=0.5)  # a mapping replaces a number
    assert cfg.row_minimum.row_min["pdc"] == RowMinimum(slate_ratio=SETTINGS.dep_ratio_pdc)
    assert cfg.zone_rates_sum.tolerance == 0.05
    assert cfg.non_constant_features.columns["pcf"] == ("fatigue_score",)  # a list replaces
    assert len(cfg.non_constant_features.columns["mlfs"]) == 23
    # and the checks read it
    from nba_precompute.checks.evaluate import evaluate_checks
    from nba_precompute_tests.checks.builders import D, failures, pcf_rows

    res = evaluate_checks("pcf", [D], pcf_rows(names=["a"], fatigue_score=[110]), failures())
    assert res.set_index("check").loc["value_ranges", "passed"]


def test_override_file_must_exist(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "nope.yaml"))
    message = r"nope\.yaml \(from \$NBA_PRECOMPUTE_CHECKS_CONFIG\) does not exist"
    with pytest.raises(ChecksConfigError, match=message):
        load_config()


@pytest.mark.parametrize(
    "text, message",
    [
        ("checks:\n  row_minimum:\n    row_mni: {}\n",
         r"checks\.row_minimum: unknown key 'row_mni'; allowed: severity, row_min"),
        ("checks:\n  value_range:\n    severity: WARN\n",
         r"checks: unknown key 'value_range'; allowed: primary_key_unique, .*non_constant_features"),
        ("detail_items: 3\n", r"<top>: unknown key 'detail_items'; allowed: detail_max_items, checks"),
        ("checks:\n  keys_not_null:\n    severity: FATAL\n",
         r"checks\.keys_not_null\.severity: severity must be ERROR or WARN, got 'FATAL'"),
        ("checks:\n  row_minimum:\n    row_min:\n      psza: settings.dep_psza_min\n",
         r"checks\.row_minimum\.row_min\.psza: unknown setting 'dep_psza_min'"),
        ("checks:\n  row_minimum:\n    row_min:\n      xyz: 3\n",
         r"checks\.row_minimum\.row_min: unknown key 'xyz'; allowed: psza, tdza, pdc, pcf, mlfs"),
        ("checks:\n  row_minimum:\n    row_min:\n      pcf: {slate_ratio: 1.5}\n",
         r"checks\.row_minimum\.row_min\.pcf\.slate_ratio: expected a ratio in \(0, 1\], got 1\.5"),
        ("checks:\n  value_ranges:\n    columns:\n      pcf:\n        fatigue: [0, 100]\n",
         r"checks\.value_ranges\.columns\.pcf\.fatigue: "
         r"nba_precompute\.player_composite_factors has no column 'fatigue'"),
        ("checks:\n  value_ranges:\n    columns:\n      pcf:\n        fatigue_score: [100, 0]\n",
         r"checks\.value_ranges\.columns\.pcf\.fatigue_score: low 100 > high 0"),
        ("checks:\n  value_ranges:\n    columns:\n      pcf:\n        fatigue_score: 100\n",
         r"checks\.value_ranges\.columns\.pcf\.fatigue_score: expected \[low, high\]"),
        ("checks:\n  non_constant_features:\n    columns:\n      psza: [paint_rate_last_10]\n",
         r"checks\.non_constant_features\.columns\.psza: unknown asset 'psza'; allowed: pcf, mlfs"),
        ("checks:\n  zone_rates_sum:\n    tolerance: high\n",
         r"checks\.zone_rates_sum\.tolerance: expected a number or 'settings\.<name>', got 'high'"),
        ("checks: [1, 2]\n", r"checks: expected a mapping"),
        ("- a\n", r"must be a mapping at the top level"),
        ("checks: {\n", r"is not valid YAML"),
    ],
)
def test_a_bad_deployment_file_is_a_clear_error(tmp_path, monkeypatch, text, message):
    path = tmp_path / "deploy-checks.yaml"
    path.write_text(text)
    monkeypatch.setenv(ENV_VAR, str(path))
    with pytest.raises(ChecksConfigError, match=message) as info:
        load_config()
    assert "deploy-checks.yaml" in str(info.value) and "\n" not in str(info.value)


def test_an_empty_override_keeps_the_defaults(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("# nothing overridden\n")
    assert load_config(path).row_minimum == load_config().row_minimum


def test_config_from_dict():
    cfg = config_from_dict({"checks": {"row_minimum": {"severity": "ERROR"}}})
    assert cfg.severity("row_minimum") is Severity.ERROR
    with pytest.raises(ChecksConfigError, match="unknown key 'sevrity'"):
        config_from_dict({"checks": {"row_minimum": {"sevrity": "ERROR"}}})
