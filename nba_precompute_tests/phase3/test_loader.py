"""The Phase 3 loader: validation messages, nothing written on error, idempotent reloads, the CLI,
and the two real seasons of ../shared/data.

Small Phase 3 folders are built in code (three games, six players of BOS/NYK/PHI) and loaded into
real DuckDB files under tmp_path.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from nba_precompute.cli import main
from nba_precompute.phase3.contract import (
    PHASE3_TABLES,
    PLAYER_GAME_SUMMARY,
    SCHEDULE,
    TEAM_DEFENSE_GAME_SUMMARY,
    TEAM_OFFENSE_GAME_SUMMARY,
    UPCOMING_PLAYER_GAME_CONTEXT,
    UPCOMING_TEAM_GAME_CONTEXT,
    Table,
    file_name,
)
from nba_precompute.phase3.loader import Phase3ValidationError, load_phase3, read_folder
from nba_precompute.warehouse.duckdb import DuckDBWarehouse

# --- a tiny valid Phase 3 folder, built in code -----------------------------------------------

ARROW_TYPES = {
    "STRING": pa.string(),
    "DATE": pa.date32(),
    "INT64": pa.int64(),
    "FLOAT64": pa.float64(),
    "BOOL": pa.bool_(),
    "TIMESTAMP": pa.timestamp("us", tz="UTC"),
}

SEASON = 2021
PROCESSED_AT = dt.datetime(2021, 10, 25, 12, 0, tzinfo=dt.timezone.utc)
# game_id, game_date, home, away, home points, away points
GAMES = [
    ("0022100001", dt.date(2021, 10, 20), "NYK", "BOS", 138, 134),
    ("0022100002", dt.date(2021, 10, 22), "BOS", "PHI", 88, 109),
    ("0022100003", dt.date(2021, 10, 24), "PHI", "NYK", 99, 112),
]
FIRST_DATE, LAST_DATE = GAMES[0][1], GAMES[-1][1]
ROSTERS = {
    "BOS": [("jaysontatum", "tatumja01", "Jayson Tatum"), ("jaylenbrown", "brownja02", "Jaylen Brown")],
    "NYK": [("juliusrandle", "randlju01", "Julius Randle"), ("rjbarrett", None, "RJ Barrett")],
    "PHI": [("joelembiid", "embiijo01", "Joel Embiid"), ("tyresemaxey", "maxeyty01", "Tyrese Maxey")],
}


def _frame(table: Table, rows: list[dict]) -> pd.DataFrame:
    """Rows as a frame with exactly the contract's columns; unset columns are NULL."""
    unknown = {c for r in rows for c in r} - set(table.column_names)
    assert not unknown, f"test bug: {unknown} are not columns of {table.fqn}"
    return pd.DataFrame([[r.get(c) for c in table.column_names] for r in rows],
                        columns=table.column_names, dtype=object)


def valid_tables() -> dict[Table, pd.DataFrame]:
    """The six tables of a small, valid 2021-22 folder: 3 games, 2 players per team and game."""
    schedule, pgs, togs, tdgs, upcg, utgc = [], [], [], [], [], []
    for n, (game_id, date, home, away, home_pts, away_pts) in enumerate(GAMES):
        schedule.append(dict(game_id=game_id, game_date=date, season_year=SEASON, home_team_abbr=home,
                             away_team_abbr=away, game_status=3, is_regular_season=True, is_playoffs=False))
        for team, opp, is_home, pts, opp_pts in ((home, away, True, home_pts, away_pts),
                                                 (away, home, False, away_pts, home_pts)):
            common = dict(game_id=game_id, game_date=date)
            togs.append(dict(common, season_year=SEASON, team_abbr=team, opponent_team_abbr=opp,
                             home_game=is_home, win_flag=pts > opp_pts, points=pts,
                             possessions=100.0 + n, pace=98.5 + n,
                             offensive_rating=float(pts) / (1.0 + n / 100),
                             processed_at=PROCESSED_AT))
            tdgs.append(dict(common, season_year=SEASON, defending_team_abbr=team, opponent_team_abbr=opp,
                             points_allowed=opp_pts, defensive_rating=float(opp_pts), opponent_pace=98.5 + n,
                             opp_three_pt_makes=12, opp_three_pt_attempts=35, three_pt_points_allowed=36,
                             processed_at=PROCESSED_AT))
            utgc.append(dict(common, team_abbr=team, opponent_team_abbr=opp, home_game=is_home,
                             days_rest=None if n == 0 else 1, opponent_days_rest=None if n == 0 else 1,
                             processed_at=PROCESSED_AT))
            for i, (lookup, upid, name) in enumerate(ROSTERS[team]):
                points = 20 + 3 * i + n
                pgs.append(dict(common, player_lookup=lookup, universal_player_id=upid, player_name=name,
                                season_year=SEASON, team_abbr=team, opponent_team_abbr=opp, home_game=is_home,
                                starter=True, is_active=True, is_dnp=False, minutes_played=33.5 - i,
                                points=points, fg_makes=8, fg_attempts=17, three_pt_makes=2,
                                three_pt_attempts=6, ft_makes=points - 18, ft_attempts=points - 16,
                                offensive_rebounds=1, defensive_rebounds=6, assists=4, turnovers=2,
                                usage_rate=27.5 - i, ts_pct=0.58, processed_at=PROCESSED_AT))
                upcg.append(dict(common, player_lookup=lookup, team_abbr=team, opponent_team_abbr=opp,
                                 home_game=is_home, back_to_back=False, season_phase="early",
                                 days_rest=None if n == 0 else 1, games_in_last_7_days=min(n, 2),
                                 games_in_last_14_days=n, minutes_in_last_7_days=33.0 * min(n, 2),
                                 minutes_in_last_14_days=33.0 * n, back_to_backs_last_14_days=0,
                                 player_status="available", processed_at=PROCESSED_AT))
    return {
        SCHEDULE: _frame(SCHEDULE, schedule),
        PLAYER_GAME_SUMMARY: _frame(PLAYER_GAME_SUMMARY, pgs),
        TEAM_OFFENSE_GAME_SUMMARY: _frame(TEAM_OFFENSE_GAME_SUMMARY, togs),
        TEAM_DEFENSE_GAME_SUMMARY: _frame(TEAM_DEFENSE_GAME_SUMMARY, tdgs),
        UPCOMING_PLAYER_GAME_CONTEXT: _frame(UPCOMING_PLAYER_GAME_CONTEXT, upcg),
        UPCOMING_TEAM_GAME_CONTEXT: _frame(UPCOMING_TEAM_GAME_CONTEXT, utgc),
    }


def write_table(folder: Path, table: Table, frame: pd.DataFrame,
                arrow_types: dict[str, pa.DataType] | None = None) -> Path:
    """One Parquet file with the contract's arrow types (or `arrow_types` overrides per column)."""
    arrow_types = arrow_types or {}
    arrays = [pa.array(frame[c].tolist(), type=arrow_types.get(c, ARROW_TYPES[table.types[c]]))
              for c in frame.columns]
    path = folder / file_name(table)
    pq.write_table(pa.Table.from_arrays(arrays, names=list(frame.columns)), path)
    return path


def write_folder(folder: Path, tables: dict[Table, pd.DataFrame] | None = None, *,
                 arrow_types: dict[Table, dict[str, pa.DataType]] | None = None,
                 skip: tuple[Table, ...] = ()) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    tables = valid_tables() if tables is None else tables
    for table, frame in tables.items():
        if table not in skip:
            write_table(folder, table, frame, (arrow_types or {}).get(table))
    return folder


def contents(wh: DuckDBWarehouse, table: Table, start: dt.date | None = None,
             end: dt.date | None = None) -> pd.DataFrame:
    """Every row of a table (in a date window), sorted by its key: comparable with assert_frame_equal."""
    frame = wh.read(table, start, end)
    return frame.sort_values(list(table.key)).reset_index(drop=True)


def snapshot(wh: DuckDBWarehouse, start=None, end=None) -> dict[str, pd.DataFrame]:
    return {t.fqn: contents(wh, t, start, end) for t in PHASE3_TABLES}


def assert_same(before: dict[str, pd.DataFrame], after: dict[str, pd.DataFrame]) -> None:
    assert before.keys() == after.keys()
    for fqn in before:
        pd.testing.assert_frame_equal(before[fqn], after[fqn], obj=fqn)


@pytest.fixture
def warehouse(tmp_path) -> DuckDBWarehouse:
    return DuckDBWarehouse(database=str(tmp_path / "warehouse.duckdb"))


def preview_row(message: str, *values) -> bool:
    """True if the message shows a preview line (index, then the values) with these values in order."""
    pattern = r"^\s*\d+\s+" + r"\s+".join(re.escape(str(v)) for v in values) + r"\s*$"
    return re.search(pattern, message, re.MULTILINE) is not None


# --- a valid folder ---------------------------------------------------------------------------

def test_valid_folder_is_read_with_its_season_window_and_every_row(tmp_path):
    loaded = read_folder(write_folder(tmp_path / "p3"))

    assert loaded.season_years == (2021,)
    assert (loaded.start, loaded.end) == (FIRST_DATE, LAST_DATE)
    assert {t: len(f) for t, f in loaded.frames.items()} == {
        SCHEDULE: 3, PLAYER_GAME_SUMMARY: 12, TEAM_OFFENSE_GAME_SUMMARY: 6, TEAM_DEFENSE_GAME_SUMMARY: 6,
        UPCOMING_PLAYER_GAME_CONTEXT: 12, UPCOMING_TEAM_GAME_CONTEXT: 6,
    }
    summary = loaded.summary().set_index("table")
    assert summary.loc["nba_analytics.player_game_summary", "rows"] == 12
    assert summary.loc["nba_reference.schedule", "first_date"] == FIRST_DATE
    assert summary.loc["nba_analytics.upcoming_team_game_context", "last_date"] == LAST_DATE


def test_load_writes_every_table_with_the_folder_values(tmp_path, warehouse):
    load_phase3(write_folder(tmp_path / "p3"), warehouse)

    pgs = contents(warehouse, PLAYER_GAME_SUMMARY)
    assert len(pgs) == 12
    assert list(pgs.columns) == PLAYER_GAME_SUMMARY.column_names
    tatum = pgs[(pgs.player_lookup == "jaysontatum") & (pgs.game_id == "0022100002")].iloc[0]
    assert tatum.points == 21 and tatum.minutes_played == 33.5 and tatum.team_abbr == "BOS"
    assert pd.Timestamp(tatum.game_date).date() == dt.date(2021, 10, 22)
    assert pd.Timestamp(tatum.processed_at) == pd.Timestamp(PROCESSED_AT)
    barrett = pgs[pgs.player_lookup == "rjbarrett"]
    assert barrett.universal_player_id.isna().all()
    assert pgs.paint_makes.isna().all()  # nullable columns stay NULL, nothing invented
    schedule = contents(warehouse, SCHEDULE)
    assert schedule.game_id.tolist() == ["0022100001", "0022100002", "0022100003"]
    assert schedule.home_team_abbr.tolist() == ["NYK", "BOS", "PHI"]
    assert len(contents(warehouse, UPCOMING_TEAM_GAME_CONTEXT)) == 6


# --- one test per validation error kind -------------------------------------------------------

def test_missing_file_is_rejected_naming_the_file_and_the_table(tmp_path):
    folder = write_folder(tmp_path / "p3", skip=(TEAM_DEFENSE_GAME_SUMMARY,))

    with pytest.raises(Phase3ValidationError) as err:
        read_folder(folder)

    message = str(err.value)
    assert str(folder / "nba_analytics.team_defense_game_summary.parquet") in message
    assert "missing file for table nba_analytics.team_defense_game_summary" in message


def test_missing_folder_is_rejected(tmp_path):
    with pytest.raises(Phase3ValidationError, match="no such folder"):
        read_folder(tmp_path / "nowhere")


def test_missing_column_is_rejected_naming_the_file_and_the_column(tmp_path):
    tables = valid_tables()
    tables[TEAM_OFFENSE_GAME_SUMMARY] = tables[TEAM_OFFENSE_GAME_SUMMARY].drop(columns=["pace"])

    with pytest.raises(Phase3ValidationError) as err:
        read_folder(write_folder(tmp_path / "p3", tables))

    assert str(err.value) == (
        "nba_analytics.team_offense_game_summary.parquet: missing column(s) pace "
        "of nba_analytics.team_offense_game_summary"
    )


def test_points_stored_as_string_is_rejected_naming_the_column_and_both_types(tmp_path):
    tables = valid_tables()
    tables[PLAYER_GAME_SUMMARY]["points"] = tables[PLAYER_GAME_SUMMARY]["points"].map(str)
    folder = write_folder(tmp_path / "p3", tables, arrow_types={PLAYER_GAME_SUMMARY: {"points": pa.string()}})

    with pytest.raises(Phase3ValidationError) as err:
        read_folder(folder)

    assert str(err.value) == (
        "nba_analytics.player_game_summary.parquet: column points has type string, the contract says INT64"
    )


def test_game_date_stored_as_string_is_rejected_naming_the_column_and_both_types(tmp_path):
    tables = valid_tables()
    tables[SCHEDULE]["game_date"] = tables[SCHEDULE]["game_date"].map(dt.date.isoformat)
    folder = write_folder(tmp_path / "p3", tables, arrow_types={SCHEDULE: {"game_date": pa.string()}})

    with pytest.raises(Phase3ValidationError) as err:
        read_folder(folder)

    assert str(err.value) == (
        "nba_reference.schedule.parquet: column game_date has type string, the contract says DATE"
    )


def test_duplicate_keys_are_rejected_showing_the_first_offending_rows(tmp_path):
    tables = valid_tables()
    pgs = tables[PLAYER_GAME_SUMMARY]
    tables[PLAYER_GAME_SUMMARY] = pd.concat([pgs, pgs.iloc[[0]]], ignore_index=True)  # tatum twice in game 1

    with pytest.raises(Phase3ValidationError) as err:
        read_folder(write_folder(tmp_path / "p3", tables))

    message = str(err.value)
    first = pgs.iloc[0]
    assert (first.player_lookup, first.game_id) == ("juliusrandle", "0022100001")
    assert message == (
        "nba_analytics.player_game_summary.parquet: column player_lookup, game_id: 2 row(s) share one key "
        "(duplicates); first: player_lookup=juliusrandle, game_id=0022100001, game_date=2021-10-20"
    )


def test_null_key_is_rejected_naming_the_column_and_showing_the_rows(tmp_path):
    tables = valid_tables()
    tables[UPCOMING_PLAYER_GAME_CONTEXT].loc[3, "player_lookup"] = None

    with pytest.raises(Phase3ValidationError) as err:
        read_folder(write_folder(tmp_path / "p3", tables))

    game_id = tables[UPCOMING_PLAYER_GAME_CONTEXT].loc[3, "game_id"]
    assert str(err.value) == (
        "nba_analytics.upcoming_player_game_context.parquet: column player_lookup: 1 row(s) NULL in a column "
        f"that is never NULL; first: player_lookup=NULL, game_id={game_id}, processed_at=2021-10-25T12:00:00+00:00, "
        "game_date=2021-10-20"
    )


def test_date_outside_the_schedule_season_is_rejected_showing_the_rows(tmp_path):
    tables = valid_tables()
    utgc = tables[UPCOMING_TEAM_GAME_CONTEXT]
    utgc.loc[5, "game_date"] = LAST_DATE + dt.timedelta(days=1)
    utgc.loc[0, "game_date"] = FIRST_DATE - dt.timedelta(days=30)

    with pytest.raises(Phase3ValidationError) as err:
        read_folder(write_folder(tmp_path / "p3", tables))

    violations = [str(v) for v in err.value.violations]
    assert violations == [
        "nba_analytics.upcoming_team_game_context.parquet: column game_date: 1 row(s) dated outside the seasons "
        "the schedule declares (2021: 2021-10-01..2022-06-30); first: team_abbr=NYK, game_id=0022100001, "
        "processed_at=2021-10-25T12:00:00+00:00, game_date=2021-09-20",
        "nba_analytics.upcoming_team_game_context.parquet: column game_date: 2 row(s) dated differently from "
        "their game in the schedule; first: team_abbr=NYK, game_id=0022100001, "
        "processed_at=2021-10-25T12:00:00+00:00, game_date=2021-09-20, schedule_game_date=2021-10-20",
    ]
    assert str(err.value) == violations[0] + " (and 1 more violation(s); load-phase3 --report lists them all)"


def test_season_year_not_in_the_schedule_is_rejected_showing_the_rows(tmp_path):
    tables = valid_tables()
    tables[TEAM_DEFENSE_GAME_SUMMARY].loc[2, "season_year"] = 2020

    with pytest.raises(Phase3ValidationError) as err:
        read_folder(write_folder(tmp_path / "p3", tables))

    row = tables[TEAM_DEFENSE_GAME_SUMMARY].loc[2]
    assert str(err.value) == (
        "nba_analytics.team_defense_game_summary.parquet: column season_year: 1 row(s) with a season_year other "
        f"than their game's in the schedule; first: defending_team_abbr={row.defending_team_abbr}, "
        f"game_id={row.game_id}, game_date={row.game_date}, season_year=2020, schedule_season_year=2021"
    )


# --- nothing is written when a folder is rejected ---------------------------------------------

def _drop_file(tables):
    return dict(tables), {}, (UPCOMING_TEAM_GAME_CONTEXT,)


def _drop_column(tables):
    tables[PLAYER_GAME_SUMMARY] = tables[PLAYER_GAME_SUMMARY].drop(columns=["usage_rate"])
    return tables, {}, ()


def _points_as_string(tables):
    tables[PLAYER_GAME_SUMMARY]["points"] = tables[PLAYER_GAME_SUMMARY]["points"].map(str)
    return tables, {PLAYER_GAME_SUMMARY: {"points": pa.string()}}, ()


def _duplicate_key(tables):
    togs = tables[TEAM_OFFENSE_GAME_SUMMARY]
    tables[TEAM_OFFENSE_GAME_SUMMARY] = pd.concat([togs, togs.iloc[[1]]], ignore_index=True)
    return tables, {}, ()


def _null_key(tables):
    tables[PLAYER_GAME_SUMMARY].loc[7, "game_id"] = None
    return tables, {}, ()


def _date_outside_season(tables):
    tables[UPCOMING_PLAYER_GAME_CONTEXT].loc[11, "game_date"] = dt.date(2022, 6, 1)
    return tables, {}, ()


def _season_year_not_scheduled(tables):
    tables[PLAYER_GAME_SUMMARY].loc[4, "season_year"] = 2022
    return tables, {}, ()


BREAKAGES = {
    "missing file": (_drop_file, "nba_analytics.upcoming_team_game_context.parquet"),
    "missing column": (_drop_column, "missing column(s) usage_rate"),
    "wrong type": (_points_as_string, "column points has type string"),
    "duplicate key": (_duplicate_key, "column team_abbr, game_id: 2 row(s) share one key"),
    "null key": (_null_key, "column game_id: 1 row(s) NULL in a column that is never NULL"),
    "date outside season": (_date_outside_season, "column game_date: 1 row(s) dated differently from their game"),
    "season_year not scheduled": (_season_year_not_scheduled, "column season_year: 1 row(s) with a season_year other"),
}


def broken_folder(folder: Path, kind: str) -> Path:
    """A folder that differs from the valid one by changed values AND one contract violation,
    so any partial write would be visible in the warehouse."""
    tables = valid_tables()
    tables[PLAYER_GAME_SUMMARY]["points"] = tables[PLAYER_GAME_SUMMARY]["points"].map(lambda p: p + 7)
    tables[PLAYER_GAME_SUMMARY]["ft_makes"] = tables[PLAYER_GAME_SUMMARY]["ft_makes"].map(lambda p: p + 7)
    tables[PLAYER_GAME_SUMMARY]["ft_attempts"] = tables[PLAYER_GAME_SUMMARY]["ft_attempts"].map(lambda p: p + 7)
    tables[SCHEDULE]["game_status"] = 1
    tables, arrow_types, skip = BREAKAGES[kind][0](tables)
    return write_folder(folder, tables, arrow_types=arrow_types, skip=skip)


@pytest.mark.parametrize("kind", list(BREAKAGES))
def test_rejected_folder_creates_no_table_in_an_empty_warehouse(tmp_path, warehouse, kind):
    with pytest.raises(Phase3ValidationError, match=re.escape(BREAKAGES[kind][1])):
        load_phase3(broken_folder(tmp_path / "broken", kind), warehouse)

    assert [t.fqn for t in PHASE3_TABLES if warehouse.table_exists(t)] == []


@pytest.mark.parametrize("kind", list(BREAKAGES))
def test_rejected_folder_leaves_previously_loaded_tables_unchanged(tmp_path, warehouse, kind):
    load_phase3(write_folder(tmp_path / "valid"), warehouse)
    before = snapshot(warehouse)

    with pytest.raises(Phase3ValidationError, match=re.escape(BREAKAGES[kind][1])):
        load_phase3(broken_folder(tmp_path / "broken", kind), warehouse)

    assert_same(before, snapshot(warehouse))


# --- idempotency --------------------------------------------------------------------------------

def test_loading_the_same_folder_twice_leaves_every_table_identical(tmp_path, warehouse):
    folder = write_folder(tmp_path / "p3")
    load_phase3(folder, warehouse)
    first = snapshot(warehouse)

    load_phase3(folder, warehouse)

    assert_same(first, snapshot(warehouse))
    assert {fqn: len(f) for fqn, f in first.items()} == {
        "nba_reference.schedule": 3,
        "nba_analytics.player_game_summary": 12,
        "nba_analytics.team_offense_game_summary": 6,
        "nba_analytics.team_defense_game_summary": 6,
        "nba_analytics.upcoming_player_game_context": 12,
        "nba_analytics.upcoming_team_game_context": 6,
    }


def test_reloading_a_folder_with_a_changed_row_replaces_that_row_without_duplicates(tmp_path, warehouse):
    load_phase3(write_folder(tmp_path / "v1"), warehouse)
    before = snapshot(warehouse)
    tables = valid_tables()
    pgs = tables[PLAYER_GAME_SUMMARY]
    changed = (pgs.player_lookup == "jaysontatum") & (pgs.game_id == "0022100002")
    assert changed.sum() == 1
    pgs.loc[changed, "points"] = 45

    load_phase3(write_folder(tmp_path / "v2", tables), warehouse)

    after = snapshot(warehouse)
    new_pgs = after["nba_analytics.player_game_summary"]
    assert len(new_pgs) == 12
    assert not new_pgs.duplicated(list(PLAYER_GAME_SUMMARY.key)).any()
    row = new_pgs[(new_pgs.player_lookup == "jaysontatum") & (new_pgs.game_id == "0022100002")]
    assert row.points.tolist() == [45]
    # Everything else is exactly as before.
    old_pgs = before["nba_analytics.player_game_summary"]
    mask = (old_pgs.player_lookup == "jaysontatum") & (old_pgs.game_id == "0022100002")
    assert old_pgs.loc[mask, "points"].tolist() == [21]
    pd.testing.assert_frame_equal(new_pgs[~mask.values].reset_index(drop=True),
                                  old_pgs[~mask].reset_index(drop=True))
    assert_same({k: v for k, v in before.items() if k != "nba_analytics.player_game_summary"},
                {k: v for k, v in after.items() if k != "nba_analytics.player_game_summary"})


# --- the command line ---------------------------------------------------------------------------

@pytest.fixture
def cli_env(monkeypatch, tmp_path):
    """The CLI sets NBA_PRECOMPUTE_WAREHOUSE itself; monkeypatch restores it after the test."""
    monkeypatch.delenv("NBA_PRECOMPUTE_TARGET", raising=False)
    monkeypatch.setenv("NBA_PRECOMPUTE_WAREHOUSE", str(tmp_path / "unused.duckdb"))
    return tmp_path / "cli.duckdb"


def test_cli_load_phase3_returns_0_prints_the_summary_and_loads_the_warehouse(tmp_path, cli_env, capsys):
    folder = write_folder(tmp_path / "p3")

    code = main(["--warehouse", str(cli_env), "load-phase3", str(folder)])

    out, err = capsys.readouterr()
    assert code == 0, err
    assert err == ""
    assert f"loaded {folder} (season 2021, 2021-10-20..2021-10-24)" in out
    for fqn, rows in [("nba_reference.schedule", 3), ("nba_analytics.player_game_summary", 12),
                      ("nba_analytics.team_offense_game_summary", 6),
                      ("nba_analytics.team_defense_game_summary", 6),
                      ("nba_analytics.upcoming_player_game_context", 12),
                      ("nba_analytics.upcoming_team_game_context", 6)]:
        line = rf"^\s*{re.escape(fqn)}\s+{rows}\s+2021-10-20\s+2021-10-24\s*$"
        assert re.search(line, out, re.MULTILINE), out
    assert len(DuckDBWarehouse(database=str(cli_env)).read(PLAYER_GAME_SUMMARY)) == 12
    assert not (tmp_path / "unused.duckdb").exists()


def test_cli_load_phase3_of_a_broken_folder_returns_2_with_a_one_line_error(tmp_path, cli_env, capsys):
    folder = broken_folder(tmp_path / "broken", "wrong type")

    code = main(["--warehouse", str(cli_env), "load-phase3", str(folder)])

    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err == (
        "error: nba_analytics.player_game_summary.parquet: column points has type string, "
        "the contract says INT64\n"
    )
    wh = DuckDBWarehouse(database=str(cli_env))
    assert not any(wh.table_exists(t) for t in PHASE3_TABLES)


# --- the real seasons of ../shared/data ----------------------------------------------------------

REAL_ROWS = {
    "nba-2021-22": {
        "nba_reference.schedule": 1230,
        "nba_analytics.player_game_summary": 31284,
        "nba_analytics.team_offense_game_summary": 2460,
        "nba_analytics.team_defense_game_summary": 2460,
        "nba_analytics.upcoming_player_game_context": 26039,
        "nba_analytics.upcoming_team_game_context": 2460,
    },
    "nba-2022-23": {
        "nba_reference.schedule": 1230,
        "nba_analytics.player_game_summary": 31512,
        "nba_analytics.team_offense_game_summary": 2460,
        "nba_analytics.team_defense_game_summary": 2460,
        "nba_analytics.upcoming_player_game_context": 25894,
        "nba_analytics.upcoming_team_game_context": 2460,
    },
}
REAL_WINDOWS = {
    "nba-2021-22": (2021, dt.date(2021, 10, 19), dt.date(2022, 4, 10)),
    "nba-2022-23": (2022, dt.date(2022, 10, 18), dt.date(2023, 4, 9)),
}


def _row_counts(wh: DuckDBWarehouse, start: dt.date, end: dt.date) -> dict[str, int]:
    return {t.fqn: len(wh.read(t, start, end, columns=[t.date_column])) for t in PHASE3_TABLES}


@pytest.mark.shared_data
def test_both_real_seasons_load_into_one_warehouse_with_the_readme_row_counts(shared_data_dir, warehouse):
    for season, (year, start, end) in REAL_WINDOWS.items():
        loaded = load_phase3(shared_data_dir / season, warehouse)
        assert loaded.season_years == (year,)
        assert (loaded.start, loaded.end) == (start, end)

    for season, (_, start, end) in REAL_WINDOWS.items():
        assert _row_counts(warehouse, start, end) == REAL_ROWS[season], season
    total = {t.fqn: len(warehouse.read(t, columns=[t.date_column])) for t in PHASE3_TABLES}
    assert total == {fqn: REAL_ROWS["nba-2021-22"][fqn] + REAL_ROWS["nba-2022-23"][fqn] for fqn in total}
    dates = warehouse.read(SCHEDULE, columns=["game_date"])["game_date"]
    assert dates.nunique() == 165 + 164


@pytest.mark.shared_data
def test_reloading_one_real_season_leaves_the_other_untouched(shared_data_dir, warehouse):
    for season in REAL_WINDOWS:
        load_phase3(shared_data_dir / season, warehouse)
    _, start21, end21 = REAL_WINDOWS["nba-2021-22"]
    _, start22, end22 = REAL_WINDOWS["nba-2022-23"]
    season21 = snapshot(warehouse, start21, end21)
    season22 = snapshot(warehouse, start22, end22)

    load_phase3(shared_data_dir / "nba-2022-23", warehouse)

    assert_same(season21, snapshot(warehouse, start21, end21))
    assert_same(season22, snapshot(warehouse, start22, end22))
    assert _row_counts(warehouse, start22, end22) == REAL_ROWS["nba-2022-23"]
