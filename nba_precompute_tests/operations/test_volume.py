"""Volume anomalies: bands from the slate and the recent past, on small frames and real seasons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nba_precompute.checks.config import ChecksConfigError, Severity, config_from_dict, load_config
from nba_precompute.checks.rules import VolumeSettings
from nba_precompute.operations import volume as v
from nba_precompute.season import SeasonCalendar
from nba_precompute_tests.conftest import load_real_season

CONFIG = load_config(use_env=False).volume


def volume_config(**overrides) -> VolumeSettings:
    return config_from_dict({"checks": {"volume": overrides}}).volume


def slate_obs(per_team: list[float], teams: list[int], asset: str = "pcf") -> pd.DataFrame:
    dates = pd.date_range("2022-12-01", periods=len(per_team), freq="D")
    return pd.DataFrame({
        "asset": asset, "date": dates, "observed": [round(p * t) for p, t in zip(per_team, teams)],
        "exposure": [float(t) for t in teams], "group": "2022",
    })


def test_defaults_are_warn_and_catch_a_slate_20_percent_below_the_prediction():
    assert CONFIG.severity is Severity.WARN
    assert CONFIG.max_tolerance < 0.2


def test_steady_slate_is_not_flagged_and_a_20_percent_thinner_one_is():
    per_team = [10.5, 10.2, 10.8, 10.4, 10.6, 10.5, 10.3, 10.7, 10.5 * 0.8, 10.5]
    res = v.evaluate(slate_obs(per_team, [20] * 10), CONFIG)
    assert res["anomaly"].tolist() == [False] * 8 + [True, False]
    thin = res.iloc[8]
    assert thin["expected"] == pytest.approx(10.5 * 20)
    assert thin["ratio"] == pytest.approx(168 / 20)
    assert thin["band_low"] < thin["expected"] < thin["band_high"]
    assert "168 rows, expected 210" in thin["reason"] and "-20%" in thin["reason"]


def test_band_is_wider_on_a_one_game_slate_than_on_a_full_one():
    per_team = [10.5, 10.0, 11.0, 10.3, 10.8, 10.6, 10.4, 10.5]
    small = v.evaluate(slate_obs(per_team + [10.5], [20] * 8 + [2]), CONFIG).iloc[-1]
    large = v.evaluate(slate_obs(per_team + [10.5], [20] * 8 + [30]), CONFIG).iloc[-1]
    assert small["tolerance"] > large["tolerance"]
    assert CONFIG.min_tolerance <= large["tolerance"] <= small["tolerance"] <= CONFIG.max_tolerance


def test_first_dates_of_a_group_are_not_evaluated_until_enough_references():
    res = v.evaluate(slate_obs([10.5] * 7, [20] * 7), CONFIG)
    n = CONFIG.min_reference
    assert res["evaluated"].tolist() == [False] * n + [True] * (7 - n)
    assert res.iloc[0]["reason"] == f"not evaluated: 0 reference date(s) in group 2022, need {n}"


def test_zero_row_date_is_left_to_its_outcome_and_not_a_reference():
    obs = slate_obs([10.5] * 8, [20] * 8)
    obs.loc[6, "observed"] = 0
    res = v.evaluate(obs, CONFIG)
    assert not res.iloc[6]["evaluated"] and not res.iloc[6]["anomaly"]
    assert res.iloc[6]["reason"].startswith("not evaluated: no rows")
    assert res.iloc[7]["reference_dates"] == 6


def test_a_flagged_date_does_not_lower_the_band_of_the_next():
    per_team = [10.5] * 6 + [6.0] + [10.5]
    res = v.evaluate(slate_obs(per_team, [20] * 8), CONFIG)
    assert res["anomaly"].tolist()[6:] == [True, False]
    assert res.iloc[7]["expected_ratio"] == pytest.approx(10.5)
    assert res.iloc[7]["reference_dates"] == 6


def test_reference_dates_stay_within_their_group():
    obs = slate_obs([10.5] * 6 + [8.0] * 6, [20] * 12)
    obs.loc[6:, "group"] = "2023"
    res = v.evaluate(obs, CONFIG)
    assert not res["anomaly"].any()
    assert res.iloc[6]["reason"].startswith("not evaluated: 0 reference date(s) in group 2023")


def test_high_side_is_flagged_only_when_configured():
    per_team = [10.5] * 6 + [14.0]
    assert not v.evaluate(slate_obs(per_team, [20] * 7), CONFIG)["anomaly"].any()
    strict = volume_config(flag_high=True)
    assert v.evaluate(slate_obs(per_team, [20] * 7), strict)["anomaly"].tolist()[-1]


def test_observations_use_scheduled_teams_and_history_candidates():
    schedule = pd.DataFrame({
        "game_id": ["g1", "g2", "g3"], "game_date": pd.to_datetime(["2022-10-18", "2022-11-10", "2022-11-10"]),
        "season_year": 2022, "home_team_abbr": ["BOS", "BOS", "LAL"], "away_team_abbr": ["PHI", "MIA", "DEN"],
        "is_regular_season": True,
    })
    counts = pd.DataFrame({
        "asset": ["pcf", "psza", "tdza"], "date": ["2022-11-10"] * 3, "rows": [42, 300, 28],
        "entity_failures": [3, 150, 2],
    })
    obs = v.observations(counts, SeasonCalendar(schedule), CONFIG).set_index("asset")
    assert obs.loc["pcf", "exposure"] == 4  # teams scheduled on D, not the slate
    assert obs.loc["psza", "exposure"] == 450  # rows + entity failures = players with history
    assert obs.loc["psza", "group"] == "2022/min_games=10"  # day 23: m_p = 10
    assert obs.loc["tdza", "group"] == "2022"


def test_thresholds_live_in_the_checks_config_and_bad_ones_are_one_line_errors(tmp_path):
    assert (CONFIG.window, CONFIG.min_reference, CONFIG.history_days) == (20, 5, 90)
    assert list(CONFIG.assets) == ["psza", "tdza", "pdc", "pcf", "mlfs"]
    bad = tmp_path / "deploy.yaml"
    bad.write_text("checks:\n  volume:\n    windw: 3\n")
    with pytest.raises(ChecksConfigError, match=r"deploy\.yaml\): checks\.volume: unknown key 'windw'; allowed: "):
        load_config(bad)
    with pytest.raises(ChecksConfigError, match=r"checks\.volume\.min_reference: min_reference 30 exceeds window 20$"):
        volume_config(min_reference=30)
    with pytest.raises(ChecksConfigError, match=r"checks\.volume\.max_tolerance: max_tolerance must be in \[0, 1\)"):
        volume_config(max_tolerance=1.5)
    with pytest.raises(ChecksConfigError, match=r"checks\.volume\.assets\.pcf: unknown key 'exposur'"):
        volume_config(assets={"pcf": {"exposur": "teams", "noise": "per_team"}})
    assert volume_config(severity="error").severity is Severity.ERROR


# --- real seasons ---------------------------------------------------------------------------------
def _upcg_observations(season: str, drop: dict[str, float] | None = None) -> pd.DataFrame:
    t = load_real_season(season)
    upcg = t["nba_analytics.upcoming_player_game_context"]
    if drop:  # thin the slate of some dates: keep (1 - share) of each team's players
        keep = []
        for (d, team), g in upcg.groupby(["game_date", "team_abbr"]):
            share = drop.get(str(pd.Timestamp(d).date()), 0.0)
            keep.append(g.iloc[: len(g) - int(round(share * len(g)))])
        upcg = pd.concat(keep)
    counts = upcg.groupby("game_date")["player_lookup"].nunique().rename("rows").reset_index()
    counts = counts.rename(columns={"game_date": "date"}).assign(asset="pcf", entity_failures=0)
    return v.observations(counts, SeasonCalendar(t["nba_reference.schedule"]), CONFIG)


@pytest.mark.shared_data
@pytest.mark.parametrize("season", ["nba-2022-23", "nba-2021-22"])
def test_real_season_slate_raises_no_anomaly(season):
    res = v.evaluate(_upcg_observations(season), CONFIG)
    assert res["evaluated"].sum() >= 155
    assert v.anomalies(res).empty
    # the day-to-day variation the band tolerates: about +-0.55 players per team
    ratio = res.loc[res["evaluated"], "ratio"]
    assert 0.45 < ratio.std() < 0.65


@pytest.mark.shared_data
def test_real_season_with_one_slate_20_percent_thinner_flags_exactly_that_date():
    res = v.evaluate(_upcg_observations("nba-2022-23", drop={"2023-01-18": 0.2}), CONFIG)
    flagged = v.anomalies(res)
    assert [str(d.date()) for d in flagged["date"]] == ["2023-01-18"]
    assert flagged.iloc[0]["observed"] < flagged.iloc[0]["band_low"]


@pytest.mark.shared_data
def test_real_dates_thinned_by_20_percent_are_flagged_on_most_dates():
    res = v.evaluate(_upcg_observations("nba-2022-23"), CONFIG)
    e = res[res["evaluated"]]
    flagged = np.floor(0.8 * e["observed"]) < e["band_low"]
    # measured 148 of 159: the misses are dates whose real slate was above the prediction
    assert flagged.mean() >= 0.9
    # a slate 20% below what the recent past predicts is flagged on every evaluated date
    assert (0.8 * e["expected"] < e["band_low"]).all()


def test_trend_plot_marks_the_anomaly_below_the_band(tmp_path):
    import matplotlib.image as mpimg

    from nba_precompute.operations.volume_plot import ANOMALY, render_volume_png

    per_team = [10.5, 10.2, 10.8, 10.4, 10.6, 10.5, 10.3, 10.7, 8.0, 10.5, 10.4]
    res = v.evaluate(pd.concat([slate_obs(per_team, [20] * 11, "pcf"), slate_obs(per_team[:8] + [10.5] * 3,
                                                                                   [20] * 11, "mlfs")]), CONFIG)
    info = render_volume_png(res, tmp_path / "trend.png")
    assert list(info.anomaly_centres) == [("pcf", "2022-12-09")]
    img = mpimg.imread(info.path)
    assert img.shape[:2] == (info.height, info.width)
    x, y = info.anomaly_centres[("pcf", "2022-12-09")]
    want = [int(ANOMALY[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    assert np.allclose(img[y, x, :3], want, atol=0.02)
