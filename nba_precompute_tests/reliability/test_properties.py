"""Property-based tests (hypothesis) over small random seasons (seasons.py): whatever the season,

* no look-ahead: changing, dropping or adding Phase 3 rows dated D or later (after D for the
  upcoming_* tables, which are read at D) never changes the rows or failures of D;
* accounting: on a computed date every candidate (slate player for pdc/pcf/mlfs) is exactly one
  row or one entity failure; a date-level outcome is exactly one DATE_LEVEL record and 0 rows;
  off-season and no-game dates hold nothing;
* ranges: every value lies in its PRECOMPUTE.md §8 range; psza zone rates sum to 100;
* reruns and range splits give identical frames, and valid input never raises.

Two levels: the five pure functions called directly on tiny leagues (every computation path,
no dependency rule in the way), and the whole §4 flow (pipeline.materialize_range for the five
assets in order, consumers reading what producers wrote) on league-sized seasons.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, Phase, given, settings, strategies as st

from nba_precompute.failures import DATE_LEVEL
from nba_precompute.features.composite_factors import compute_pcf
from nba_precompute.features.daily_cache import compute_pdc
from nba_precompute.features.feature_store import compute_mlfs
from nba_precompute.features.shot_zones import compute_psza
from nba_precompute.features.team_defense import compute_tdza
from nba_precompute.phase3.contract import (
    PHASE3_TABLES,
    PLAYER_GAME_SUMMARY as PGS,
    SCHEDULE,
    TEAM_DEFENSE_GAME_SUMMARY as TDGS,
    TEAM_OFFENSE_GAME_SUMMARY as TOGS,
    UPCOMING_PLAYER_GAME_CONTEXT as UPCG,
    UPCOMING_TEAM_GAME_CONTEXT as UTGC,
)
from nba_precompute.phase3.integrity import check_folder, load_bounds
from nba_precompute.pipeline import BOOTSTRAP, COMPUTED, DEPENDENCY, NO_GAMES, OFF_SEASON
from nba_precompute.season import SeasonCalendar
from nba_precompute.settings import SETTINGS
from nba_precompute.registry import ASSET_NAMES as ASSETS, ASSET_TABLES, ENTITY_COLUMN

from .helpers import run_chain
from .seasons import OPENER, SEASON_YEAR, Shape, random_season

SLATE_ASSETS = ("pdc", "pcf", "mlfs")
# Deterministic (a fixed example sequence, no example database), no deadline, and no shrinking:
# an example costs about a second, so a failure is reported as drawn (with its reproduce blob)
# instead of after minutes of shrinking. NBA_PRECOMPUTE_PROPERTY_SCALE=10 runs ten times more
# examples; NBA_PRECOMPUTE_PROPERTY_RANDOM=1 draws fresh ones on every run (exploration).
SCALE = int(os.environ.get("NBA_PRECOMPUTE_PROPERTY_SCALE", "1"))
RANDOM = os.environ.get("NBA_PRECOMPUTE_PROPERTY_RANDOM") == "1"
PROPERTY_SETTINGS = dict(deadline=None, derandomize=not RANDOM, database=None, print_blob=True,
                         phases=[Phase.explicit, Phase.generate],
                         suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def shapes(teams, players, days) -> st.SearchStrategy[Shape]:
    p = st.floats(0.0, 1.0)
    return st.builds(
        Shape, teams=teams, players=players, days=days, play_prob=st.floats(0.3, 0.9),
        dnp_prob=st.floats(0.0, 0.4), zero_minutes_prob=st.floats(0.0, 0.1),
        zone_null_prob=st.sampled_from([0.0, 0.02, 0.3]), season_without_zones=st.booleans(),
        slate_missing_prob=st.floats(0.0, 0.2), slate_snapshot_prob=p.map(lambda x: x * 0.3),
        slate_no_team_prob=st.sampled_from([0.0, 0.01, 0.1]), team_context_missing_prob=st.floats(0.0, 0.3),
        seed=st.integers(0, 2**31 - 1),
    )


TINY = shapes(st.integers(2, 8), st.integers(1, 6), st.integers(16, 36))
LEAGUE = shapes(st.integers(26, 30), st.integers(8, 10), st.integers(22, 30)).map(
    # a league whose dependency rules can pass: few DNPs and slate gaps, so all five assets compute
    lambda s: Shape(**{**s.__dict__, "dnp_prob": s.dnp_prob / 8, "slate_missing_prob": s.slate_missing_prob / 8,
                       "play_prob": max(s.play_prob, 0.6), "team_context_missing_prob": 0.0}))


# A random league (1-10 players a team, uniform box scores) has team totals no real game has: its
# team scoring bounds are widened through the same override a deployment uses (pace and possessions
# stay); every other rule of the contract applies.
TINY_LEAGUE_BOUNDS = {fqn: dict(columns) for fqn, columns in load_bounds(use_env=False).items()}
for _fqn in ("nba_analytics.team_offense_game_summary", "nba_analytics.team_defense_game_summary"):
    TINY_LEAGUE_BOUNDS[_fqn].update({c: (0, None) for c in TINY_LEAGUE_BOUNDS[_fqn]
                                     if c not in ("season_year", "possessions", "pace", "opponent_pace")})


# --- independent expectations --------------------------------------------------------------------
def assert_valid_phase3(frames: dict[str, pd.DataFrame]) -> None:
    """The generator's seasons satisfy the loader's contract (the premise of 'valid input')."""
    assert check_folder({t: frames[t.fqn] for t in PHASE3_TABLES}, bounds=TINY_LEAGUE_BOUNDS) == []


def expected_candidates(asset: str, frames: dict[str, pd.DataFrame], day: pd.Timestamp) -> set[str]:
    """PRECOMPUTE.md §7, written out again: who must be a row or an entity failure on D."""
    if asset in SLATE_ASSETS:
        upcg = frames[UPCG.fqn]
        return set(upcg.loc[pd.to_datetime(upcg["game_date"]) == day, "player_lookup"])
    table = frames[PGS.fqn] if asset == "psza" else frames[TDGS.fqn]
    when = pd.to_datetime(table["game_date"])
    before = (when < day) & (when >= pd.Timestamp(OPENER)) & (table["season_year"] == SEASON_YEAR)
    if asset == "tdza":
        return set(table.loc[before, "defending_team_abbr"])
    played = (table["is_active"].astype(bool) & ~table["is_dnp"].astype(bool) & table["points"].notna()
              & ((table["minutes_played"].fillna(0) > 0) | (table["fg_attempts"].fillna(0) > 0)
                 | (table["ft_attempts"].fillna(0) > 0)))
    return set(table.loc[before & played, "player_lookup"])


FIXED_RANGES = {
    "fatigue_score": (0, 100), "f05_fatigue_score": (0, 100), "feature_quality_score": (0, 100),
    "shot_zone_mismatch_score": (-10, 10), "f06_shot_zone_mismatch_score": (-10, 10),
    "pace_score": (-3, 3), "usage_spike_score": (-3, 3), "f07_pace_score": (-3, 3), "f08_usage_spike_score": (-3, 3),
    "total_composite_adjustment": (-21, 16), "f09_rest_advantage": (-2, 2), "f11_recent_trend": (-2, 2),
    "f12_minutes_change": (-2, 2), "f10_injury_risk": (0, 3), "f15_home_away": (0, 1), "f16_back_to_back": (0, 1),
    "f17_playoff_game": (0, 1), "f18_pct_paint": (0, 1), "f19_pct_mid_range": (0, 1), "f20_pct_three": (0, 1),
    "f24_team_win_pct": (0, 1), "f21_pct_free_throw": (0, 0.5), "default_feature_count": (0, 25),
    "games_in_sample_10": (0, 10), "games_in_sample_20": (0, 20), "ts_pct_last_10": (0, 1.5),
}


def range_violations(asset: str, rows: pd.DataFrame) -> list[str]:
    """§8 value ranges (NULL passes, ±Inf fails), and the psza zone-rate sum."""
    out = []
    types = ASSET_TABLES[asset].types
    for column in rows.columns:
        words = column.split("_")
        if column in FIXED_RANGES:
            low, high = FIXED_RANGES[column]
        elif asset == "tdza" and column == "games_in_sample":
            low, high = 0, SETTINGS.tdza_window
        elif "rate" in words:
            low, high = 0, 100
        elif "pct" in words:
            low, high = 0, 1
        elif types.get(column) == "INT64":
            low, high = 0, np.inf
        else:
            continue
        values = pd.to_numeric(rows[column], errors="coerce").astype("float64")
        bad = values.notna() & ((values < low) | (values > high) | np.isinf(values))
        if bad.any():
            out.append(f"{asset}.{column}: {values[bad].head(3).tolist()} outside [{low}, {high}]")
        if column == "f15_home_away" or column.startswith(("f16", "f17")):
            if not values.dropna().isin([0.0, 1.0]).all():
                out.append(f"{asset}.{column} not 0/1")
    if asset == "psza" and len(rows):
        rates = rows[["paint_rate_last_10", "mid_range_rate_last_10", "three_pt_rate_last_10"]].astype("float64")
        some = rates.notna().any(axis=1)
        if not rates[some].notna().all(axis=1).all():
            out.append("psza: zone rates partly NULL")
        if ((rates[some].sum(axis=1) - 100).abs() > 0.02).any():
            out.append("psza: zone rates do not sum to 100")
    return out


def check_accounting(asset: str, rows: pd.DataFrame, failures: pd.DataFrame, candidates: set[str],
                     day: pd.Timestamp) -> None:
    entity = ENTITY_COLUMN[asset]
    got_rows = rows.loc[pd.to_datetime(rows["analysis_date"]) == day, entity]
    got_fail = failures.loc[pd.to_datetime(failures["analysis_date"]) == day]
    assert DATE_LEVEL not in set(got_fail["entity_id"]), (asset, day)
    assert not got_rows.duplicated().any() and not got_fail["entity_id"].duplicated().any(), (asset, day)
    assert not set(got_rows) & set(got_fail["entity_id"]), (asset, day)  # never both
    assert set(got_rows) | set(got_fail["entity_id"]) == candidates, (asset, day)


# --- future data, changed beyond recognition -------------------------------------------------------
def future_changed(frames: dict[str, pd.DataFrame], day: pd.Timestamp, seed: int) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    out = dict(frames)
    for table in (PGS, TOGS, TDGS, UPCG, UTGC):
        f = frames[table.fqn].copy()
        first = day if table not in (UPCG, UTGC) else day + pd.Timedelta(days=1)
        late = (pd.to_datetime(f["game_date"]) >= first).to_numpy()
        for column, kind in table.columns:
            if kind in ("INT64", "FLOAT64") and column != "season_year":
                values = pd.to_numeric(f[column], errors="coerce").astype("float64").to_numpy()
                changed = np.round(values * rng.uniform(0.2, 3.0, len(f)) + rng.integers(0, 9, len(f)))
                f[column] = pd.Series(np.where(late, changed, values)).astype(f[column].dtype)
            elif kind == "BOOL":
                f[column] = np.where(late, rng.random(len(f)) < 0.5, f[column].astype(bool))
        keep = ~late | (rng.random(len(f)) < 0.7)  # drop some future rows
        extra = f[late].assign(game_id=lambda x: "9" + x["game_id"].str[1:])  # and add other games
        out[table.fqn] = pd.concat([f[keep], extra], ignore_index=True)
    return out


# --- level 1: the pure functions on tiny leagues --------------------------------------------------
def pure_chain(frames: dict[str, pd.DataFrame], dates) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """The five pure functions over `dates` (slate assets over its game dates), each consumer
    given its producers' rows: {asset: (rows, failures)}."""
    cal = SeasonCalendar(frames[SCHEDULE.fqn])
    dates = pd.DatetimeIndex(dates)
    games = pd.DatetimeIndex([d for d in dates if cal.is_game_date(d)])
    pgs, togs, tdgs, upcg, utgc = (frames[t.fqn] for t in (PGS, TOGS, TDGS, UPCG, UTGC))
    psza = compute_psza(pgs, cal, dates)
    tdza = compute_tdza(tdgs, cal, dates)
    out = {"psza": psza, "tdza": tdza}
    if len(games):
        out["pdc"] = compute_pdc(pgs, togs, upcg, psza.rows, cal, games)
        out["pcf"] = compute_pcf(upcg, utgc, psza.rows, tdza.rows, cal, games)
        out["mlfs"] = compute_mlfs(out["pdc"].rows, out["pcf"].rows, psza.rows, tdza.rows, pgs, upcg, togs, cal, games)
    return {a: (r.rows, r.failures) for a, r in out.items()}


def on_day(frame: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    return frame[pd.to_datetime(frame["analysis_date"]) == day].reset_index(drop=True)


def assert_same_frame(a: pd.DataFrame, b: pd.DataFrame, what: str) -> None:
    if a.empty and b.empty:  # an empty frame's dtypes carry no data
        assert list(a.columns) == list(b.columns), what
    else:
        pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), obj=what)


@settings(max_examples=12 * SCALE, **PROPERTY_SETTINGS)
@given(shape=TINY, pick=st.integers(0, 10_000))
def test_pure_functions_on_tiny_leagues(shape, pick):
    frames = random_season(shape)
    assert_valid_phase3(frames)
    cal = SeasonCalendar(frames[SCHEDULE.fqn])
    season = cal.seasons[0]
    dates = pd.date_range(season.opener + pd.Timedelta(days=SETTINGS.bootstrap_days), season.last_day)
    results = pure_chain(frames, dates)

    for asset, (rows, failures) in results.items():
        assert not range_violations(asset, rows), range_violations(asset, rows)
        assert not rows.duplicated(["analysis_date", ENTITY_COLUMN[asset]]).any()
        for day in (dates if asset not in SLATE_ASSETS else [d for d in dates if cal.is_game_date(d)]):
            check_accounting(asset, rows, failures, expected_candidates(asset, frames, day), day)

    # One date alone gives what the range gave for it (ranges = dates, reruns identical), and
    # nothing dated D or later, however changed, reaches it.
    day = dates[pick % len(dates)]
    single = pure_chain(frames, [day])
    changed = pure_chain(future_changed(frames, day, pick), [day])
    for asset, (rows, failures) in results.items():
        for i, frame in enumerate((rows, failures)):
            expected = on_day(frame, day)
            got = single[asset][i] if asset in single else expected.iloc[0:0]
            assert_same_frame(got, expected, f"{asset} {day:%Y-%m-%d} alone")
            assert_same_frame(changed[asset][i] if asset in changed else got.iloc[0:0], got,
                              f"{asset} {day:%Y-%m-%d} with the future changed")


# --- level 2: the whole flow on league-sized seasons -----------------------------------------------
@settings(max_examples=4 * SCALE, **PROPERTY_SETTINGS)
@given(shape=LEAGUE, pick=st.integers(0, 10_000))
def test_the_materialization_flow_on_random_leagues(shape, pick):
    frames = random_season(shape)
    assert_valid_phase3(frames)
    cal = SeasonCalendar(frames[SCHEDULE.fqn])
    season = cal.seasons[0]
    dates = pd.date_range(season.opener - pd.Timedelta(days=1), season.last_day + pd.Timedelta(days=1))
    results = run_chain(frames, dates)

    computed = 0
    for asset, result in results.items():
        assert result.error is None, (asset, result.error)  # valid input never raises
        assert not range_violations(asset, result.rows), range_violations(asset, result.rows)
        for day, outcome in zip(result.days["analysis_date"], result.days["outcome"]):
            rows = result.rows[pd.to_datetime(result.rows["analysis_date"]) == day]
            fails = result.failures[pd.to_datetime(result.failures["analysis_date"]) == day]
            if outcome in (OFF_SEASON, NO_GAMES):
                assert rows.empty and fails.empty, (asset, day, outcome)
                assert (outcome == OFF_SEASON) == (season.opener > day or day > season.last_day)
            elif outcome in (BOOTSTRAP, DEPENDENCY):
                assert rows.empty and fails["entity_id"].tolist() == [DATE_LEVEL], (asset, day)
                assert fails["failure_category"].tolist() == [outcome]
                assert (outcome == BOOTSTRAP) == ((day - season.opener).days < SETTINGS.bootstrap_days)
            else:
                assert outcome == COMPUTED, (asset, day, outcome)
                computed += 1
                check_accounting(asset, result.rows, result.failures, expected_candidates(asset, frames, day), day)
    assert computed > 0  # the leagues are large enough to get past the dependency rules

    day = dates[SETTINGS.bootstrap_days + 1 + pick % (len(dates) - SETTINGS.bootstrap_days - 2)]
    again, changed = run_chain(frames, [day]), run_chain(future_changed(frames, day, pick), [day])
    for asset in ASSETS:
        full = results[asset]
        assert_same_frame(again[asset].rows, on_day(full.rows, day), f"{asset} alone")
        assert_same_frame(again[asset].failures, on_day(full.failures, day), f"{asset} failures alone")
        assert_same_frame(changed[asset].rows, again[asset].rows, f"{asset} with the future changed")
        assert_same_frame(changed[asset].failures, again[asset].failures, f"{asset} failures, future changed")
