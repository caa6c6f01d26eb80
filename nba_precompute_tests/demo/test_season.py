"""The synthetic demo season: determinism, the contract, box-score consistency, the calendar,
the nov-2021-gaps scenario, the upcoming-context derivation, and realism against the real seasons."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from nba_precompute_demo import season as demo
from nba_precompute.phase3.contract import (
    PHASE3_TABLES,
    PLAYER_GAME_SUMMARY,
    SCHEDULE,
    TEAM_DEFENSE_GAME_SUMMARY,
    TEAM_OFFENSE_GAME_SUMMARY,
    UPCOMING_PLAYER_GAME_CONTEXT,
    UPCOMING_TEAM_GAME_CONTEXT,
    file_name,
)
from nba_precompute.phase3.loader import read_folder
from nba_precompute_tests.conftest import load_real_season

PGS, TOGS, TDGS = PLAYER_GAME_SUMMARY.fqn, TEAM_OFFENSE_GAME_SUMMARY.fqn, TEAM_DEFENSE_GAME_SUMMARY.fqn
UPCG, UTGC, SCHED = UPCOMING_PLAYER_GAME_CONTEXT.fqn, UPCOMING_TEAM_GAME_CONTEXT.fqn, SCHEDULE.fqn
REAL_TRICODES = {
    "ATL", "BKN", "BOS", "CHA", "CHI", "CLE", "DAL", "DEN", "DET", "GSW", "HOU", "IND", "LAC", "LAL", "MEM",
    "MIA", "MIL", "MIN", "NOP", "NYK", "OKC", "ORL", "PHI", "PHX", "POR", "SAC", "SAS", "TOR", "UTA", "WAS",
}
ZONE_COLUMNS = ("paint_makes", "paint_attempts", "mid_range_makes", "mid_range_attempts")
PANDAS_DTYPES = {"STRING": "object", "DATE": "object", "INT64": "Int64", "FLOAT64": "float64", "BOOL": "bool",
                 "TIMESTAMP": "datetime64[us, UTC]"}
ARROW_TYPES = {"STRING": pa.string(), "DATE": pa.date32(), "INT64": pa.int64(), "FLOAT64": pa.float64(),
               "BOOL": pa.bool_(), "TIMESTAMP": pa.timestamp("us", tz="UTC")}


@pytest.fixture(scope="module")
def season() -> dict[str, pd.DataFrame]:
    return demo.generate_season(2021, seed=0)


@pytest.fixture(scope="module")
def gaps_season() -> dict[str, pd.DataFrame]:
    return demo.generate_season(2021, seed=0, scenario="nov-2021-gaps")


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo-2021-seed0")
    return folder, demo.write_season(folder, season_year=2021, seed=0)


@pytest.fixture(scope="module")
def played(season) -> pd.DataFrame:
    pgs = season[PGS]
    return pgs[pgs["is_active"]].copy()


def team_game_totals(played: pd.DataFrame) -> pd.DataFrame:
    cols = ["points", "fg_makes", "fg_attempts", "three_pt_makes", "three_pt_attempts", "ft_makes",
            "ft_attempts", "offensive_rebounds", "turnovers", "minutes_played", *ZONE_COLUMNS]
    totals = played.groupby(["game_id", "team_abbr"])[cols].sum()
    return totals.astype({c: "int64" for c in cols if c != "minutes_played"})


# --------------------------------------------------------------------------------------------
# Determinism
# --------------------------------------------------------------------------------------------


def test_two_writes_with_the_same_arguments_are_byte_identical(written, tmp_path):
    first_folder, first_paths = written
    again = demo.write_season(tmp_path / "again", season_year=2021, seed=0)
    assert [p.name for p in again] == [file_name(t) for t in PHASE3_TABLES]
    for a, b in zip(first_paths, again):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_another_seed_writes_different_bytes_and_a_different_season(written, tmp_path):
    _, first_paths = written
    other = demo.write_season(tmp_path / "seed1", season_year=2021, seed=1)
    for a, b in zip(first_paths, other):
        assert a.read_bytes() != b.read_bytes(), a.name
    assert pd.read_parquet(other[0])["game_date"].min() == dt.date(2021, 10, 19)  # same calendar rules


def test_processed_at_is_noon_utc_on_the_last_regular_season_date(season):
    expected = pd.Timestamp("2022-04-10 12:00", tz="UTC")
    for table in PHASE3_TABLES:
        if "processed_at" in table.column_names:
            assert set(season[table.fqn]["processed_at"]) == {expected}, table.fqn


# --------------------------------------------------------------------------------------------
# The contract
# --------------------------------------------------------------------------------------------


def test_frames_have_the_contract_columns_in_order_with_pandas_types_of_the_real_files(season):
    assert list(season) == [t.fqn for t in PHASE3_TABLES]
    for table in PHASE3_TABLES:
        frame = season[table.fqn]
        assert list(frame.columns) == table.column_names, table.fqn
        for column, logical in table.columns:
            assert str(frame[column].dtype) == PANDAS_DTYPES[logical], (table.fqn, column)
        assert all(type(d) is dt.date for d in frame["game_date"].head(50)), table.fqn


def test_written_files_have_exact_arrow_types_and_read_back_equal(season, written):
    folder, paths = written
    for table, path in zip(PHASE3_TABLES, paths):
        assert path == folder / f"{table.dataset}.{table.name}.parquet"
        schema = pq.read_schema(path)
        assert schema.names == table.column_names
        types = [schema.field(c).type for c in table.column_names]
        assert types == [ARROW_TYPES[t] for _, t in table.columns]
        assert pq.ParquetFile(path).metadata.row_group(0).column(0).compression == "ZSTD"
        pd.testing.assert_frame_equal(pd.read_parquet(path), season[table.fqn])


@pytest.mark.shared_data
def test_written_files_have_the_schema_and_pandas_dtypes_of_the_real_files(written, shared_data_dir):
    folder, _ = written
    for table in PHASE3_TABLES:
        real_path = shared_data_dir / "nba-2021-22" / file_name(table)
        mine, real = pq.read_schema(folder / file_name(table)), pq.read_schema(real_path)
        assert mine.names == real.names and mine.types == real.types, table.fqn
        mine_dtypes = pd.read_parquet(folder / file_name(table)).dtypes.to_dict()
        assert mine_dtypes == pd.read_parquet(real_path).dtypes.to_dict(), table.fqn


def test_the_phase3_loader_validates_the_written_folder(written):
    folder, _ = written
    loaded = read_folder(folder)
    assert loaded.season_years == (2021,)
    assert (loaded.start, loaded.end) == (dt.date(2021, 10, 19), dt.date(2022, 4, 10))
    assert {t.fqn: len(f) for t, f in loaded.frames.items()}[SCHED] == 1230


def test_every_table_is_unique_on_its_contract_key_and_has_no_null_keys(season):
    for table in PHASE3_TABLES:
        frame = season[table.fqn]
        assert not frame.duplicated(list(table.key)).any(), table.fqn
        assert frame[list(table.not_null)].notna().all().all(), table.fqn


def test_columns_without_a_source_are_null_like_the_real_data(season):
    pgs, upcg, utgc = season[PGS], season[UPCG], season[UTGC]
    assert pgs[["assisted_fg_makes", "unassisted_fg_makes"]].isna().all().all()
    assert upcg[["player_age", "star_teammates_out"]].isna().all().all()
    assert set(upcg["player_status"]) == {"available"}
    assert utgc[["game_total", "game_spread"]].isna().all().all()


def test_player_keys_are_normalised_names_and_ids_look_like_basketball_reference(season):
    pgs = season[PGS]
    players = pgs.drop_duplicates("player_lookup")
    assert players["player_lookup"].str.fullmatch(r"[a-z0-9]+").all()
    assert (players["player_name"].map(demo.player_lookup_key) == players["player_lookup"]).all()
    assert players["universal_player_id"].str.fullmatch(r"[a-z]{3,7}\d{2}").all()
    assert players["universal_player_id"].is_unique
    assert demo.player_lookup_key("Nikola Jokić") == "nikolajokic"
    assert demo.player_lookup_key("Gary Trent Jr.") == "garytrentjr"
    # rosters of 15, every player with one team all season
    assert pgs.groupby("team_abbr")["player_lookup"].nunique().eq(15).all()
    assert pgs.groupby("player_lookup")["team_abbr"].nunique().eq(1).all()


# --------------------------------------------------------------------------------------------
# Box-score consistency
# --------------------------------------------------------------------------------------------


def test_player_points_sum_to_team_points_and_points_follow_from_makes(season, played):
    totals = team_game_totals(played)
    togs = season[TOGS].set_index(["game_id", "team_abbr"])
    assert (totals["points"] == togs.loc[totals.index, "points"].astype("int64")).all()
    assert len(totals) == len(togs) == 2460
    p = played
    assert (p["points"] == 2 * p["fg_makes"] + p["three_pt_makes"] + p["ft_makes"]).all()
    assert (p["fg_makes"] <= p["fg_attempts"]).all()
    assert (p["three_pt_makes"] <= p["three_pt_attempts"]).all()
    assert (p["three_pt_attempts"] <= p["fg_attempts"]).all()
    assert (p["ft_makes"] <= p["ft_attempts"]).all()
    counts = ["points", "fg_attempts", "offensive_rebounds", "defensive_rebounds", "assists", "turnovers"]
    assert (p[counts] >= 0).all().all()


def test_shot_zones_add_up_to_field_goals_for_every_player_game(played):
    p = played
    assert p[list(ZONE_COLUMNS)].notna().all().all()
    assert (p["paint_attempts"] + p["mid_range_attempts"] + p["three_pt_attempts"] == p["fg_attempts"]).all()
    assert (p["paint_makes"] + p["mid_range_makes"] + p["three_pt_makes"] == p["fg_makes"]).all()
    assert (p["paint_makes"] <= p["paint_attempts"]).all()
    assert (p["mid_range_makes"] <= p["mid_range_attempts"]).all()


NON_STATS = {"player_lookup", "universal_player_id", "player_name", "game_id", "game_date", "season_year",
             "team_abbr", "opponent_team_abbr", "home_game", "starter", "is_active", "is_dnp", "processed_at"}


def test_dnp_rows_have_null_stats_and_played_rows_have_all_stats(season):
    pgs = season[PGS]
    dnp = pgs[pgs["is_dnp"]]
    assert (dnp["is_active"] == False).all() and (dnp["starter"] == False).all()  # noqa: E712
    stat_cols = [c for c in PLAYER_GAME_SUMMARY.column_names if c not in NON_STATS]
    assert dnp[stat_cols].isna().all().all()
    assert (pgs["is_dnp"] == ~pgs["is_active"]).all()
    played = pgs[pgs["is_active"]]
    box = ["minutes_played", "points", "fg_makes", "fg_attempts", "three_pt_makes", "three_pt_attempts",
           "ft_makes", "ft_attempts", "offensive_rebounds", "defensive_rebounds", "assists", "turnovers"]
    assert played[box].notna().all().all()
    # five starters per team-game, all of whom played
    assert pgs.groupby(["game_id", "team_abbr"])["starter"].sum().eq(5).all()
    assert played["starter"].sum() == pgs["starter"].sum()


def test_usage_rate_and_true_shooting_follow_the_readme_formulas(played):
    p = played.copy()
    team = p.groupby(["game_id", "team_abbr"]).agg(
        tmin=("minutes_played", "sum"), tfga=("fg_attempts", "sum"), tfta=("ft_attempts", "sum"),
        ttov=("turnovers", "sum"),
    )
    p = p.join(team, on=["game_id", "team_abbr"])
    fga, fta, tov = (p[c].astype(float) for c in ("fg_attempts", "ft_attempts", "turnovers"))
    plays_t = p["tfga"].astype(float) + 0.44 * p["tfta"].astype(float) + p["ttov"].astype(float)
    minutes = p["minutes_played"]
    usage = 100 * ((fga + 0.44 * fta + tov) * (p["tmin"] / 5)) / (minutes * plays_t)
    has_minutes = minutes > 0
    np.testing.assert_allclose(p.loc[has_minutes, "usage_rate"], usage[has_minutes], rtol=1e-12)
    assert p.loc[~has_minutes, "usage_rate"].isna().all()
    den = 2 * (fga + 0.44 * fta)
    ts = p.loc[den > 0, "points"].astype(float) / den[den > 0]
    np.testing.assert_allclose(p.loc[den > 0, "ts_pct"], ts, rtol=1e-12)
    assert p.loc[den == 0, "ts_pct"].isna().all()
    assert (~has_minutes).sum() <= 20  # a handful of 0:00 appearances, like the real seasons


def test_minutes_fill_five_positions_for_regulation_plus_overtime(season, played):
    minutes = played.groupby(["game_id", "team_abbr"])["minutes_played"].sum()
    periods = (minutes - 240) / 25
    np.testing.assert_allclose(periods, np.round(periods), atol=1e-9)
    assert set(np.round(periods).astype(int)) <= {0, 1, 2, 3}
    assert (np.round(periods) == 0).mean() > 0.9  # mostly regulation, some overtime
    assert (np.round(periods) >= 1).sum() > 20
    assert minutes.groupby(level="game_id").nunique().eq(1).all()  # both teams play the same minutes
    assert played["minutes_played"].max() <= 48 + 5 * 3


def test_team_offense_possessions_pace_rating_and_winner_follow_from_the_box(season, played):
    totals = team_game_totals(played)
    togs = season[TOGS].set_index(["game_id", "team_abbr"]).loc[totals.index]
    poss = np.round(totals["fg_attempts"] - totals["offensive_rebounds"] + totals["turnovers"]
                    + 0.44 * totals["ft_attempts"])
    np.testing.assert_array_equal(togs["possessions"], poss.astype(float))
    both = togs.groupby(level="game_id")["possessions"].transform("sum") / 2
    np.testing.assert_allclose(togs["pace"], 48 * both / (totals["minutes_played"] / 5), rtol=1e-12)
    ortg = 100 * togs["points"].astype(float) / togs["possessions"]
    np.testing.assert_allclose(togs["offensive_rating"], ortg, rtol=1e-12)
    points = togs["points"].astype(int)
    assert points.groupby(level="game_id").nunique().eq(2).all()  # no ties
    assert (togs["win_flag"] == points.eq(points.groupby(level="game_id").transform("max"))).all()
    assert togs.groupby(level="game_id")["win_flag"].sum().eq(1).all()


def test_team_defense_is_the_opponents_offense_and_box_score(season, played):
    totals = team_game_totals(played)
    togs = season[TOGS].set_index(["game_id", "team_abbr"])
    tdgs = season[TDGS]
    opp_key = pd.MultiIndex.from_frame(tdgs[["game_id", "opponent_team_abbr"]])
    opp_off = togs.loc[opp_key]
    opp_box = totals.loc[opp_key]
    assert (tdgs["points_allowed"].to_numpy() == opp_off["points"].to_numpy()).all()
    np.testing.assert_allclose(tdgs["defensive_rating"], 100 * opp_off["points"].astype(float).to_numpy()
                               / opp_off["possessions"].to_numpy())
    np.testing.assert_allclose(tdgs["opponent_pace"], opp_off["pace"].to_numpy())
    for zone in ("paint_makes", "paint_attempts", "mid_range_makes", "mid_range_attempts", "three_pt_makes",
                 "three_pt_attempts"):
        assert (tdgs[f"opp_{zone}"].to_numpy() == opp_box[zone].to_numpy()).all(), zone
    assert (tdgs["points_in_paint_allowed"] == 2 * tdgs["opp_paint_makes"]).all()
    assert (tdgs["mid_range_points_allowed"] == 2 * tdgs["opp_mid_range_makes"]).all()
    assert (tdgs["three_pt_points_allowed"] == 3 * tdgs["opp_three_pt_makes"]).all()


def test_box_score_teams_and_home_flags_agree_with_the_schedule(season):
    sched = season[SCHED].set_index("game_id")
    for fqn, team_col in ((PGS, "team_abbr"), (TOGS, "team_abbr"), (UTGC, "team_abbr")):
        frame = season[fqn]
        s = sched.loc[frame["game_id"]]
        expected_team = np.where(frame["home_game"], s["home_team_abbr"], s["away_team_abbr"])
        expected_opp = np.where(frame["home_game"], s["away_team_abbr"], s["home_team_abbr"])
        assert (frame[team_col].to_numpy() == expected_team).all(), fqn
        assert (frame["opponent_team_abbr"].to_numpy() == expected_opp).all(), fqn
        assert (frame["game_date"].to_numpy() == s["game_date"].to_numpy()).all(), fqn


# --------------------------------------------------------------------------------------------
# The schedule
# --------------------------------------------------------------------------------------------


def team_dates(schedule: pd.DataFrame) -> pd.DataFrame:
    rows = pd.concat([
        schedule[["game_date", "home_team_abbr"]].set_axis(["game_date", "team"], axis=1).assign(home=True),
        schedule[["game_date", "away_team_abbr"]].set_axis(["game_date", "team"], axis=1).assign(home=False),
    ])
    rows["game_date"] = pd.to_datetime(rows["game_date"])
    rows = rows.sort_values(["team", "game_date"])
    rows["gap"] = rows.groupby("team")["game_date"].diff().dt.days
    return rows


def test_schedule_has_30_real_teams_82_games_each_41_at_home_and_1230_games(season):
    sched = season[SCHED]
    assert len(sched) == 1230 and sched["game_id"].is_unique
    rows = team_dates(sched)
    assert set(rows["team"]) == REAL_TRICODES
    assert rows.groupby("team").size().eq(82).all()
    assert rows.groupby("team")["home"].sum().eq(41).all()
    assert (sched["home_team_abbr"] != sched["away_team_abbr"]).all()
    assert sched["game_id"].tolist() == [f"00221{n:05d}" for n in range(1, 1231)]
    assert sched["game_date"].is_monotonic_increasing
    assert (sched["game_status"] == 3).all()
    assert sched["is_regular_season"].all() and not sched["is_playoffs"].any()
    assert (sched["season_year"] == 2021).all()


def test_schedule_runs_from_the_2021_opener_to_april_with_real_rest_patterns(season):
    sched = season[SCHED]
    assert sched["game_date"].min() == dt.date(2021, 10, 19)
    assert sched["game_date"].max() == dt.date(2022, 4, 10)
    rows = team_dates(sched)
    assert not rows.groupby(["team", "game_date"]).size().gt(1).any()  # one game a day
    b2b = rows["gap"].eq(1).groupby(rows["team"]).sum()
    assert 12 <= b2b.mean() <= 16 and b2b.min() >= 9 and b2b.max() <= 19
    three_in_three = rows.groupby("team")["game_date"].diff(2).dt.days.eq(2)
    assert not three_in_three.any()
    gaps = rows["gap"].dropna()
    assert 0.55 <= (gaps == 2).mean() <= 0.72 and (gaps == 3).mean() >= 0.1


def test_no_game_holidays_and_the_all_star_break_fall_inside_the_season(season):
    dates = set(season[SCHED]["game_date"])
    for holiday in (dt.date(2021, 11, 25), dt.date(2021, 12, 24), dt.date(2022, 4, 4)):
        assert holiday not in dates
    assert not dates & {dt.date(2022, 2, 18) + dt.timedelta(days=k) for k in range(6)}
    assert dt.date(2021, 12, 25) in dates  # Christmas Day has games
    calendar = {dt.date(2021, 10, 19) + dt.timedelta(days=k) for k in range(174)}
    assert calendar - dates == set(demo.no_game_dates(2021))
    assert len(dates) == 165


def test_openers_are_the_third_tuesday_of_october_for_any_season():
    assert demo.season_opener(2021) == dt.date(2021, 10, 19)
    assert demo.season_opener(2022) == dt.date(2022, 10, 18)
    assert demo.season_last_day(2022) == dt.date(2023, 4, 9)
    opener = demo.season_opener(2025)
    assert opener.weekday() == 1 and opener.month == 10 and 15 <= opener.day <= 21


# --------------------------------------------------------------------------------------------
# Scenarios and zones
# --------------------------------------------------------------------------------------------


def test_nov_2021_gaps_removes_every_team_context_row_on_exactly_the_four_dates(season, gaps_season):
    gap_dates = {dt.date(2021, 11, 9), dt.date(2021, 11, 11), dt.date(2021, 11, 16), dt.date(2021, 11, 23)}
    assert set(demo.NOV_2021_GAP_DATES) == gap_dates
    sched = gaps_season[SCHED]
    assert sched["game_date"].min() == dt.date(2021, 10, 19)
    assert gap_dates <= set(sched["game_date"])  # they are game dates
    utgc = gaps_season[UTGC]
    assert not utgc["game_date"].isin(gap_dates).any()
    # present, two rows per game, on every other game date
    per_date = utgc.groupby("game_date").size()
    games = sched.groupby("game_date").size()
    assert set(per_date.index) == set(games.index) - gap_dates
    assert (per_date == 2 * games.loc[per_date.index]).all()
    full = season[UTGC]
    expected = full[~full["game_date"].isin(gap_dates)].reset_index(drop=True)
    pd.testing.assert_frame_equal(utgc, expected)
    assert len(full) - len(utgc) == 2 * int(games.loc[sorted(gap_dates)].sum())


def test_nov_2021_gaps_leaves_every_other_table_intact(season, gaps_season):
    for table in PHASE3_TABLES:
        if table.fqn != UTGC:
            pd.testing.assert_frame_equal(gaps_season[table.fqn], season[table.fqn])


def test_scenarios_reject_unknown_names_and_other_seasons():
    assert "nov-2021-gaps" in demo.SCENARIOS
    with pytest.raises(ValueError, match="season_year 2021"):
        demo.generate_season(2022, scenario="nov-2021-gaps")
    with pytest.raises(ValueError, match="unknown demo scenario"):
        demo.generate_season(2021, scenario="no-such-scenario")


def test_a_zoneless_season_has_null_paint_and_mid_range_but_the_same_box_scores(season):
    bare = demo.generate_season(2021, seed=0, zones=False)
    pgs, tdgs = bare[PGS], bare[TDGS]
    assert pgs[list(ZONE_COLUMNS)].isna().all().all()
    zone_def = ["opp_paint_makes", "opp_paint_attempts", "opp_mid_range_makes", "opp_mid_range_attempts",
                "points_in_paint_allowed", "mid_range_points_allowed"]
    assert tdgs[zone_def].isna().all().all()
    keep = [c for c in pgs.columns if c not in ZONE_COLUMNS]
    pd.testing.assert_frame_equal(pgs[keep], season[PGS][keep])
    keep_def = [c for c in tdgs.columns if c not in zone_def]
    pd.testing.assert_frame_equal(tdgs[keep_def], season[TDGS][keep_def])
    assert tdgs["opp_three_pt_makes"].notna().all()
    pd.testing.assert_frame_equal(demo.generate_season(2021, seed=0, scenario="no-zones")[PGS], pgs)


# --------------------------------------------------------------------------------------------
# Upcoming contexts
# --------------------------------------------------------------------------------------------


def test_upcoming_player_context_has_one_row_per_player_who_played(season, played):
    upcg = season[UPCG]
    assert len(upcg) == len(played)
    keys = ["player_lookup", "game_id"]
    assert upcg[keys].reset_index(drop=True).equals(played[keys].reset_index(drop=True))
    assert (upcg["home_game"].to_numpy() == played["home_game"].to_numpy()).all()


def recompute_player_context(season, player: str, date: dt.date) -> dict:
    """Independent, row-by-row recomputation of one UPCG row from PGS, TOGS and the schedule."""
    pgs, togs, sched = season[PGS], season[TOGS], season[SCHED]
    mine = pgs[(pgs["player_lookup"] == player) & pgs["is_active"]]
    today = mine[mine["game_date"] == date].iloc[0]
    before = mine[mine["game_date"] < date].sort_values("game_date")
    prev = before["game_date"].max() if len(before) else None

    def window(days):
        return before[before["game_date"] >= date - dt.timedelta(days=days)]

    w7, w14 = window(7), window(14)
    d14 = set(w14["game_date"])
    b2b14 = sum(1 for d in d14 if d - dt.timedelta(days=1) in d14)

    def last_pace(team, n=10):
        t = togs[(togs["team_abbr"] == team) & (togs["game_date"] < date)].sort_values("game_date")
        return t["pace"].tail(n).mean() if len(t) else np.nan

    last_30 = (togs["game_date"] >= date - dt.timedelta(days=30)) & (togs["game_date"] < date)
    league = togs.loc[last_30, "pace"].mean()
    opp = today["opponent_team_abbr"]
    opp_games = pd.concat([sched[sched["home_team_abbr"] == opp], sched[sched["away_team_abbr"] == opp]])
    opp_prev = opp_games[opp_games["game_date"] < date]["game_date"].max()
    opener, last = sched["game_date"].min(), sched["game_date"].max()
    phase = "early" if (date - opener).days < 30 else ("late" if (last - date).days < 30 else "mid")
    return {
        "days_rest": None if prev is None else (date - prev).days - 1,
        "back_to_back": prev == date - dt.timedelta(days=1),
        "games_in_last_7_days": len(w7),
        "games_in_last_14_days": len(w14),
        "minutes_in_last_7_days": w7["minutes_played"].sum(),
        "minutes_in_last_14_days": w14["minutes_played"].sum(),
        "avg_minutes_per_game_last_7": w7["minutes_played"].mean() if len(w7) else np.nan,
        "back_to_backs_last_14_days": b2b14,
        "avg_usage_rate_last_7_games": before["usage_rate"].tail(7).mean(),
        "projected_usage_rate": before["usage_rate"].tail(10).mean(),
        "opponent_pace_last_10": last_pace(opp),
        "pace_differential": (last_pace(today["team_abbr"]) + last_pace(opp)) / 2 - league,
        "opponent_days_rest": None if pd.isna(opp_prev) else (date - opp_prev).days - 1,
        "season_phase": phase,
    }


def test_upcoming_player_context_matches_an_independent_recomputation(season, played):
    upcg = season[UPCG]
    # a star mid-season, the last game of the player with the fewest appearances, a second night
    # of a back-to-back, a late-season row and an opening-night row
    top = played.groupby("player_lookup")["minutes_played"].sum().idxmax()
    bench = played.groupby("player_lookup").size().idxmin()
    b2b_row = upcg[upcg["back_to_back"] & (upcg["back_to_backs_last_14_days"] >= 1)].iloc[100]
    cases = [
        (top, played[(played["player_lookup"] == top) & (played["game_date"] > dt.date(2022, 1, 15))]
         ["game_date"].iloc[0]),
        (bench, played[played["player_lookup"] == bench]["game_date"].iloc[-1]),
        (b2b_row["player_lookup"], b2b_row["game_date"]),
        (played["player_lookup"].iloc[0], dt.date(2021, 10, 19)),
        tuple(played[played["game_date"] >= dt.date(2022, 3, 20)][["player_lookup", "game_date"]].iloc[0]),
    ]
    for player, date in cases:
        row = upcg[(upcg["player_lookup"] == player) & (upcg["game_date"] == date)].iloc[0]
        for column, expected in recompute_player_context(season, player, date).items():
            got = row[column]
            if expected is None or (isinstance(expected, float) and np.isnan(expected)):
                assert pd.isna(got), (player, date, column)
            elif isinstance(expected, float):
                assert got == pytest.approx(expected, rel=1e-12, abs=1e-9), (player, date, column)
            else:
                assert got == expected, (player, date, column)
    first_night = upcg[upcg["game_date"] == dt.date(2021, 10, 19)]
    assert first_night["days_rest"].isna().all() and first_night["pace_differential"].isna().all()
    assert (first_night["games_in_last_14_days"] == 0).all()


def test_upcoming_team_context_has_one_row_per_team_per_game_with_schedule_rest(season):
    utgc, sched = season[UTGC], season[SCHED]
    assert len(utgc) == 2 * len(sched)
    rows = team_dates(sched)
    first_games = utgc.groupby("team_abbr").head(1)
    assert first_games["days_rest"].isna().all() and len(first_games) == 30
    later = utgc.drop(first_games.index)
    assert later["days_rest"].notna().all()
    expected = rows.set_index(["team", "game_date"])["gap"] - 1
    got = later.set_index(["team_abbr", pd.to_datetime(later["game_date"])])["days_rest"].astype(float)
    np.testing.assert_array_equal(got.to_numpy(), expected.loc[got.index].to_numpy())
    mirror = utgc.set_index(["game_id", "team_abbr"])["days_rest"]
    opp = mirror.loc[pd.MultiIndex.from_frame(utgc[["game_id", "opponent_team_abbr"]])]
    assert (opp.fillna(-1).to_numpy() == utgc["opponent_days_rest"].fillna(-1).to_numpy()).all()


@pytest.mark.shared_data
def test_the_derivation_reproduces_the_real_upcoming_tables_from_real_history():
    for name in ("nba-2021-22", "nba-2022-23"):
        real = load_real_season(name)
        processed_at = real[UPCG]["processed_at"].iloc[0]
        upcg = demo.derive_upcoming_player_game_context(real[SCHED], real[PGS], real[TOGS], processed_at)
        pd.testing.assert_frame_equal(upcg, real[UPCG], check_exact=False, rtol=1e-12, atol=1e-9)
        utgc = demo.derive_upcoming_team_game_context(real[SCHED], processed_at)
        pd.testing.assert_frame_equal(utgc, real[UTGC])


# --------------------------------------------------------------------------------------------
# Realism
# --------------------------------------------------------------------------------------------


def test_stars_rotation_and_bench_get_nba_minutes_and_usage(played):
    per_player = played.groupby(["team_abbr", "player_lookup"]).agg(
        minutes=("minutes_played", "mean"), usage=("usage_rate", "mean"), games=("game_id", "size"))
    regulars = per_player[per_player["games"] >= 40]
    top_minutes = regulars.groupby(level="team_abbr")["minutes"].max()
    top_usage = regulars.groupby(level="team_abbr")["usage"].max()
    assert 33.5 <= top_minutes.median() <= 37.5
    assert 27 <= top_usage.median() <= 33
    assert 17 <= played["usage_rate"].mean() <= 21
    by_rank = played.assign(
        rank=played.groupby(["game_id", "team_abbr"])["minutes_played"].rank(ascending=False, method="first")
    ).groupby("rank")["minutes_played"].mean()
    assert 34 <= by_rank[1.0] <= 39 and 10 <= by_rank[9.0] <= 15 and by_rank[12.0] < 7


def test_injuries_make_players_miss_runs_of_games(season):
    pgs = season[PGS]
    team_games = pgs.drop_duplicates(["team_abbr", "game_id"])[["team_abbr", "game_id"]]
    listed = set(zip(pgs["player_lookup"], pgs["game_id"]))
    longest = {}
    for (team, player), _ in pgs.groupby(["team_abbr", "player_lookup"]):
        games = team_games[team_games["team_abbr"] == team]["game_id"]
        run = best = 0
        for g in games:
            run = 0 if (player, g) in listed else run + 1
            best = max(best, run)
        longest[player] = best
    runs = pd.Series(longest)
    assert (runs >= 5).sum() >= 30  # dozens of multi-game absences
    assert (runs == 0).sum() >= 30  # and iron men who never missed one


def real_measures(frames: dict[str, pd.DataFrame]) -> dict[str, float]:
    pgs, togs, sched = frames[PGS], frames[TOGS], frames[SCHED]
    played = pgs[pgs["is_active"]]
    team_games = len(togs)
    rows = team_dates(sched)
    return {
        "points": togs["points"].astype(float).mean(),
        "pace": togs["pace"].mean(),
        "three_share": played["three_pt_attempts"].sum() / played["fg_attempts"].sum(),
        "dnp_share": pgs["is_dnp"].mean(),
        "listed_per_team_game": len(pgs) / team_games,
        "played_per_team_game": len(played) / team_games,
        "minutes_per_team_game": played["minutes_played"].sum() / team_games,
        "back_to_backs_per_team": rows["gap"].eq(1).groupby(rows["team"]).sum().mean(),
        "games_per_team_min": rows.groupby("team").size().min(),
        "games_per_team_max": rows.groupby("team").size().max(),
    }


TOLERANCES = {
    "points": 2.5,
    "pace": 1.0,
    "three_share": 0.015,
    "dnp_share": 0.03,
    "listed_per_team_game": 0.6,
    "played_per_team_game": 0.4,
    "minutes_per_team_game": 1.0,
    "back_to_backs_per_team": 1.5,
    "games_per_team_min": 0,
    "games_per_team_max": 0,
}


@pytest.mark.shared_data
@pytest.mark.parametrize("season_year, folder", [(2021, "nba-2021-22"), (2022, "nba-2022-23")])
def test_demo_distributions_match_the_real_season(season, season_year, folder):
    real = real_measures(load_real_season(folder))
    frames = season if season_year == 2021 else demo.generate_season(season_year, seed=0)
    mine = real_measures(frames)
    for name, tolerance in TOLERANCES.items():
        assert abs(mine[name] - real[name]) <= tolerance, (name, mine[name], real[name])
    assert mine["games_per_team_min"] == 82
