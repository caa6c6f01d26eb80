"""The integrity contract at the door (PHASE3.md §Integrity; issue 13): a hostile upstream's folder
is refused whole, before anything is written, with one line per violation naming the file, the
column, how many rows and the first one's key and date; the warehouse keeps every byte.

One test per class of the issue, each with variants beyond the reproductions: NULL flags and
NULLs in non-nullable columns, schedule dates outside their season window, loads that would touch
another season, rows off the schedule's calendar, implausible values, empty files, unreadable
files, and `load-phase3 --report` listing every violation at once."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from nba_precompute.cli import main
from nba_precompute.phase3.contract import (
    PHASE3_TABLES,
    PLAYER_GAME_SUMMARY as PGS,
    SCHEDULE,
    TEAM_DEFENSE_GAME_SUMMARY as TDGS,
    TEAM_OFFENSE_GAME_SUMMARY as TOGS,
    UPCOMING_PLAYER_GAME_CONTEXT as UPCG,
    UPCOMING_TEAM_GAME_CONTEXT as UTGC,
    Table,
    file_name,
)
from nba_precompute_demo.season import arrow_schema
from nba_precompute.phase3.integrity import CONFIG_ENV, load_bounds
from nba_precompute.phase3.loader import Phase3ValidationError, load_phase3, read_folder
from nba_precompute.warehouse.duckdb import DuckDBWarehouse

from .helpers import copy_warehouse


# --- tools ------------------------------------------------------------------------------------------
def write_frame(folder: Path, table: Table, frame: pd.DataFrame) -> None:
    """One table file with the contract's exact schema; NULLs stay NULL (flags included)."""
    pq.write_table(pa.Table.from_pandas(frame[table.column_names], schema=arrow_schema(table),
                                        preserve_index=False), folder / file_name(table))


def variant(root: Path, source: Path, changes: dict[Table, pd.DataFrame], name: str = "variant") -> Path:
    folder = root / name
    shutil.copytree(source, folder)
    for table, frame in changes.items():
        write_frame(folder, table, frame)
    return folder


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def contents_digest(db: Path, start=None, end=None) -> dict[str, str]:
    """sha256 of every Phase 3 table's rows (in a date window), sorted by key, every column."""
    wh = DuckDBWarehouse(database=str(db))
    out = {}
    for t in PHASE3_TABLES:
        frame = wh.read(t, start, end).sort_values(list(t.key), kind="mergesort").reset_index(drop=True)
        out[t.fqn] = hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()
    return out


def assert_refused(folder: Path, db: Path, *expected: str) -> str:
    """load_phase3 refuses the folder with one line containing every `expected` part, and the
    warehouse file is byte for byte as before (no WAL left either)."""
    digest = file_digest(db)
    with pytest.raises(Phase3ValidationError) as err:
        load_phase3(folder, DuckDBWarehouse(database=str(db)))
    text = str(err.value)
    assert "\n" not in text
    for part in expected:
        assert part in text, (part, text)
    assert file_digest(db) == digest
    assert not Path(str(db) + ".wal").exists()
    return text


@pytest.fixture
def db(tmp_path, old_db) -> Path:
    """A copy of the warehouse holding season A's Phase 3 tables and Phase 4 partitions."""
    return copy_warehouse(old_db, tmp_path / "w.duckdb")


@pytest.fixture
def frames(season_a) -> dict[Table, pd.DataFrame]:
    return {t: season_a[t.fqn].copy() for t in PHASE3_TABLES}


def played_index(pgs: pd.DataFrame, k: int = 0) -> int:
    mask = pgs["is_active"].astype(bool) & pgs["points"].notna() & (pgs["fg_attempts"].fillna(0) > 0)
    return int(mask[mask].index[k])


# --- 1. NULLs -----------------------------------------------------------------------------------------
def _all_null_regular_season(f):
    s = f[SCHEDULE].astype({"is_regular_season": object})
    s["is_regular_season"] = None
    return SCHEDULE, s, ("nba_reference.schedule.parquet: column is_regular_season: 1230 row(s) NULL in a "
                         "column that is never NULL; first: game_id=",)


def _one_null_playoff_flag(f):
    s = f[SCHEDULE].astype({"is_playoffs": object})
    s.loc[500, "is_playoffs"] = None
    return SCHEDULE, s, ("column is_playoffs: 1 row(s) NULL", f"game_id={s.loc[500, 'game_id']}",
                         f"game_date={s.loc[500, 'game_date']}")


def _one_null_dnp_flag(f):
    p = f[PGS].astype({"is_dnp": object})
    p.loc[77, "is_dnp"] = None
    return PGS, p, ("nba_analytics.player_game_summary.parquet: column is_dnp: 1 row(s) NULL",
                    f"player_lookup={p.loc[77, 'player_lookup']}")


def _points_null_on_a_played_row(f):
    p = f[PGS].copy()
    i = played_index(p, 3)
    p.loc[i, "points"] = pd.NA
    return PGS, p, ("column points: 1 row(s) NULL on a row that is not a DNP", "is_active=True, is_dnp=False")


def _one_null_team_pace(f):
    t = f[TOGS].copy()
    t.loc[9, "pace"] = None
    return TOGS, t, ("nba_analytics.team_offense_game_summary.parquet: column pace: 1 row(s) NULL",)


def _null_season_phase(f):
    u = f[UPCG].copy()
    u.loc[u.index[-2:], "season_phase"] = None
    return UPCG, u, ("column season_phase: 2 row(s) NULL",)


NULLS = {"all is_regular_season NULL (issue case 1)": _all_null_regular_season,
         "one is_playoffs NULL": _one_null_playoff_flag, "one is_dnp NULL": _one_null_dnp_flag,
         "points NULL on a played row": _points_null_on_a_played_row, "one team pace NULL": _one_null_team_pace,
         "upcoming season_phase NULL": _null_season_phase}


@pytest.mark.parametrize("kind", list(NULLS))
def test_a_null_in_a_non_nullable_column_is_refused_and_nothing_changes(kind, tmp_path, folders, frames, db):
    table, frame, expected = NULLS[kind](frames)
    assert_refused(variant(tmp_path, folders["a"], {table: frame}), db, *expected)


def test_nulls_the_contract_allows_load(tmp_path, folders, frames, db):
    """DNP rows without a box score, nullable zones, a slate row without a team (MISSING_DATA
    downstream) are valid input."""
    u = frames[UPCG].copy()
    u.loc[u.index[5], "team_abbr"] = None
    p = frames[PGS].copy()
    p.loc[played_index(p, 1), ["paint_makes", "paint_attempts", "usage_rate"]] = [pd.NA, pd.NA, None]
    folder = variant(tmp_path, folders["a"], {UPCG: u, PGS: p})
    loaded = load_phase3(folder, DuckDBWarehouse(database=str(db)))
    assert loaded.season_years == (2021,)
    assert (frames[PGS]["is_dnp"] & frames[PGS]["points"].isna()).sum() > 1000  # DNP rows were in it


# --- 2. schedule dates outside their season -----------------------------------------------------------
@pytest.mark.parametrize("new_date, expected", [
    ("2021-01-15", "dated before 1 October of their season_year"),  # the issue: a year too early
    ("2021-09-30", "dated before 1 October of their season_year"),  # one day before the window
    ("2022-07-01", "dated after 30 June following their season_year"),  # one day after
    ("2023-01-15", "dated after 30 June following their season_year"),  # the next season's January
])
def test_a_schedule_date_outside_its_season_window_is_refused(new_date, expected, tmp_path, folders, frames, db):
    s = frames[SCHEDULE].copy()
    s.loc[600, "game_date"] = pd.Timestamp(new_date).date()
    text = assert_refused(variant(tmp_path, folders["a"], {SCHEDULE: s}), db,
                          f"nba_reference.schedule.parquet: column game_date: 1 row(s) {expected}",
                          f"game_id={s.loc[600, 'game_id']}, game_date={new_date}, season_year=2021")
    assert "more violation" in text  # the game's rows in the other tables no longer match it either


def test_the_window_edges_belong_to_the_season(tmp_path, folders, frames):
    """1 October and 30 June themselves are inside (a game moved there, with all its rows)."""
    s = frames[SCHEDULE].copy()
    game = s.loc[0, "game_id"]
    changes = {SCHEDULE: s}
    s.loc[0, "game_date"] = pd.Timestamp("2021-10-01").date()
    for table in PHASE3_TABLES[1:]:
        f = frames[table].copy()
        f.loc[f["game_id"] == game, "game_date"] = pd.Timestamp("2021-10-01").date()
        changes[table] = f
    assert read_folder(variant(tmp_path, folders["a"], changes)).start == pd.Timestamp("2021-10-01").date()


# --- 3. one calendar ----------------------------------------------------------------------------------
def _game_dated_a_day_early(f):
    """The issue's case 3: every PGS row of one game dated one day before its schedule date."""
    p = f[PGS].copy()
    game = p.loc[played_index(p, 200), "game_id"]
    rows = p["game_id"] == game
    day = f[SCHEDULE].set_index("game_id").loc[game, "game_date"]
    p.loc[rows, "game_date"] = day - pd.Timedelta(days=1)
    return PGS, p, (f"column game_date: {int(rows.sum())} row(s) dated differently from their game in the "
                    "schedule", f"game_id={game}", f"schedule_game_date={day}")


def _togs_game_not_scheduled(f):
    t = f[TOGS].copy()
    t.loc[t.index[-1], "game_id"] = "0022100000"
    return TOGS, t, ("team_offense_game_summary.parquet: column game_id: 1 row(s) not in the schedule",
                     "game_id=0022100000")


def _utgc_team_not_in_its_game(f):
    u = f[UTGC].copy()
    sched = f[SCHEDULE].set_index("game_id")
    game = u.loc[4, "game_id"]
    other = next(t for t in sorted(set(sched["home_team_abbr"]))
                 if t not in (sched.loc[game, "home_team_abbr"], sched.loc[game, "away_team_abbr"]))
    u.loc[4, "team_abbr"] = other
    return UTGC, u, ("upcoming_team_game_context.parquet: column team_abbr: 1 row(s) with a team that does not "
                     "play in their game", f"team_abbr={other}")


def _tdgs_opponent_is_itself(f):
    t = f[TDGS].copy()
    t.loc[3, "opponent_team_abbr"] = t.loc[3, "defending_team_abbr"]
    return TDGS, t, ("column opponent_team_abbr: 1 row(s) equal to defending_team_abbr",)


def _upcg_season_mismatch_date(f):
    u = f[UPCG].copy()
    u.loc[10, "game_date"] = pd.Timestamp("2022-08-01").date()  # the off-season: no season declares it
    return UPCG, u, ("column game_date: 1 row(s) dated outside the seasons the schedule declares "
                     "(2021: 2021-10-01..2022-06-30)",)


CALENDAR = {"a game's PGS rows dated a day early (issue case 3)": _game_dated_a_day_early,
            "a TOGS game missing from the schedule": _togs_game_not_scheduled,
            "a UTGC team not in its game": _utgc_team_not_in_its_game,
            "a TDGS opponent equal to the team": _tdgs_opponent_is_itself,
            "an upcoming row in the off-season": _upcg_season_mismatch_date}


@pytest.mark.parametrize("kind", list(CALENDAR))
def test_rows_off_the_schedules_calendar_are_refused(kind, tmp_path, folders, frames, db):
    table, frame, expected = CALENDAR[kind](frames)
    assert_refused(variant(tmp_path, folders["a"], {table: frame}), db, *expected)


# --- 4. implausible values ----------------------------------------------------------------------------
def _set(table: Table, column: str, value, k: int = 0):
    def change(f):
        frame = f[table].copy()
        i = played_index(frame, k) if table is PGS else frame.index[k]
        frame.loc[i, column] = value
        shown = f"{value:g}" if isinstance(value, float) else str(value)
        return table, frame, (f"column {column}: 1 row(s) outside the plausible range", f"{column}={shown}")
    return change


def _makes_above_attempts(f):
    p = f[PGS].copy()
    i = played_index(p, 7)
    p.loc[i, "ft_makes"] = int(p.loc[i, "ft_attempts"]) + 3
    return PGS, p, ("column ft_makes: 1 row(s) greater than ft_attempts",)


IMPLAUSIBLE = {
    "points 10^9 (issue case 4)": _set(PGS, "points", 10**9),
    "101 points": _set(PGS, "points", 101),
    "negative pace (issue case 4)": _set(TOGS, "pace", -102.18),
    "offensive rating 250": _set(TOGS, "offensive_rating", 250.0),
    "ts_pct 2": _set(PGS, "ts_pct", 2.0, 5),
    "minutes 75": _set(PGS, "minutes_played", 75.0, 9),
    "negative defensive rating": _set(TDGS, "defensive_rating", -5.0),
    "player_age 12": _set(UPCG, "player_age", 12, 3),
    "game_spread 55": _set(UTGC, "game_spread", 55.0, 2),
    "makes above attempts": _makes_above_attempts,
}


@pytest.mark.parametrize("kind", list(IMPLAUSIBLE))
def test_implausible_values_are_refused(kind, tmp_path, folders, frames, db):
    table, frame, expected = IMPLAUSIBLE[kind](frames)
    assert_refused(variant(tmp_path, folders["a"], {table: frame}), db, *expected)


def test_the_bounds_are_configuration(tmp_path, monkeypatch, folders, frames):
    """A deployment file in NBA_PRECOMPUTE_INTEGRITY_CONFIG widens (or tightens) a bound; a typo in
    it is an error, never a silent default."""
    table, frame, _ = _set(PGS, "ts_pct", 2.0, 5)(frames)
    folder = variant(tmp_path, folders["a"], {table: frame})
    config = tmp_path / "integrity.yaml"
    config.write_text("bounds:\n  nba_analytics.player_game_summary:\n    ts_pct: [0, 2.5]\n")
    monkeypatch.setenv(CONFIG_ENV, str(config))
    assert read_folder(folder).season_years == (2021,)
    assert load_bounds()[PGS.fqn]["points"] == (0, 100)  # the rest keeps the defaults
    config.write_text("bounds:\n  nba_analytics.player_game_summary:\n    points: [0, 30]\n")
    with pytest.raises(Phase3ValidationError, match="column points: .* outside the plausible range \\[0, 30\\]"):
        read_folder(folders["a"])
    config.write_text("bounds:\n  nba_analytics.player_game_summary:\n    ponits: [0, 60]\n")
    with pytest.raises(ValueError, match="bounds.nba_analytics.player_game_summary.ponits: not a numeric column"):
        load_bounds()


def test_every_numeric_contract_column_has_a_plausible_range():
    bounds = load_bounds(use_env=False)
    for table in PHASE3_TABLES:
        numeric = {c for c, t in table.columns if t in ("INT64", "FLOAT64")}
        assert numeric == set(bounds[table.fqn]), table.fqn


# --- 5. a load touches exactly its own seasons ----------------------------------------------------------
WINDOWS = {"nba-2021-22": ("2021-10-01", "2022-06-30"), "nba-2022-23": ("2022-10-01", "2023-06-30")}


@pytest.fixture(scope="module")
def two_seasons(tmp_path_factory, shared_data_dir) -> Path:
    db = tmp_path_factory.mktemp("two-seasons") / "w.duckdb"
    for season in WINDOWS:
        load_phase3(shared_data_dir / season, DuckDBWarehouse(database=str(db)))
    return db


@pytest.mark.shared_data
def test_loading_a_season_leaves_the_other_season_byte_for_byte(tmp_path, two_seasons, shared_data_dir):
    db = copy_warehouse(two_seasons, tmp_path / "w.duckdb")
    before = contents_digest(db, *map(pd.Timestamp, WINDOWS["nba-2021-22"]))
    all_before = contents_digest(db)

    load_phase3(shared_data_dir / "nba-2022-23", DuckDBWarehouse(database=str(db)))

    assert contents_digest(db, *map(pd.Timestamp, WINDOWS["nba-2021-22"])) == before
    assert contents_digest(db) == all_before  # and the reloaded season is what it was


@pytest.mark.shared_data
@pytest.mark.parametrize("kind", ["schedule game re-dated into the other season (issue case 2)",
                                  "PGS rows dated in the other season"])
def test_a_folder_reaching_into_another_season_is_refused(kind, tmp_path, two_seasons, shared_data_dir):
    db = copy_warehouse(two_seasons, tmp_path / "w.duckdb")
    folder = tmp_path / "2022-23"
    shutil.copytree(shared_data_dir / "nba-2022-23", folder)
    if kind.startswith("schedule"):
        s = read_folder(shared_data_dir / "nba-2022-23").frames[SCHEDULE]
        i = s.index[s["game_date"] == pd.Timestamp("2023-01-15").date()][0]
        s.loc[i, "game_date"] = pd.Timestamp("2022-01-15").date()
        write_frame(folder, SCHEDULE, s)
        expected = ("column game_date: 1 row(s) dated before 1 October of their season_year",
                    "game_date=2022-01-15, season_year=2022")
    else:
        p = read_folder(shared_data_dir / "nba-2022-23").frames[PGS]
        rows = p.index[:25]
        p.loc[rows, "game_date"] = pd.Timestamp("2022-03-01").date()
        write_frame(folder, PGS, p)
        expected = ("player_game_summary.parquet: column game_date: 25 row(s) dated outside the seasons the "
                    "schedule declares (2022: 2022-10-01..2023-06-30)",)
    assert_refused(folder, db, *expected)
    counts = DuckDBWarehouse(database=str(db)).query(
        "SELECT season_year, count(*) AS n FROM nba_analytics.player_game_summary GROUP BY 1 ORDER BY 1")
    assert counts["n"].tolist() == [31284, 31512]  # the loss (62,796 -> 47,853) cannot happen


# --- 6. empty and unreadable files, through the command line --------------------------------------------
@pytest.fixture
def cli(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("NBA_PRECOMPUTE_TARGET", raising=False)
    monkeypatch.setenv("NBA_PRECOMPUTE_WAREHOUSE", str(tmp_path / "unused.duckdb"))

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err
    return run


def test_an_empty_file_is_refused_unless_allowed(tmp_path, folders, frames, db, cli):
    folder = variant(tmp_path, folders["a"], {TOGS: frames[TOGS].iloc[0:0]})
    digest = file_digest(db)
    code, out, err = cli("--warehouse", str(db), "load-phase3", str(folder))
    assert (code, out) == (2, "")
    assert err == ("error: nba_analytics.team_offense_game_summary.parquet: the file has 0 rows; pass "
                   "--allow-empty team_offense_game_summary to replace the season's rows with none\n")
    assert file_digest(db) == digest

    code, out, err = cli("--warehouse", str(db), "load-phase3", str(folder), "--allow-empty", "team_offense_game_summary")
    assert code == 0 and err == ""
    assert len(DuckDBWarehouse(database=str(db)).read(TOGS)) == 0
    assert len(DuckDBWarehouse(database=str(db)).read(PGS)) == len(frames[PGS])


def test_an_empty_schedule_is_refused_even_when_empty_files_are_allowed(tmp_path, folders, frames, db, cli):
    folder = variant(tmp_path, folders["a"], {SCHEDULE: frames[SCHEDULE].iloc[0:0]})
    code, _, err = cli("--warehouse", str(db), "load-phase3", str(folder), "--allow-empty", "schedule")
    assert code == 2 and err.startswith("error: --allow-empty schedule: the schedule declares the seasons")
    code, _, err = cli("--warehouse", str(db), "load-phase3", str(folder))
    assert code == 2 and "nba_reference.schedule.parquet: the file has 0 rows" in err


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])


def _flip_bytes(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for i in range(200, len(data) // 2, 499):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def _text(path: Path) -> None:
    path.write_text("game_id,game_date\n0022100001,2021-10-19\n")


def _folder(path: Path) -> None:
    path.unlink()
    path.mkdir()


@pytest.mark.parametrize("damage, cause", [
    (_truncate, "Parquet magic bytes not found"), (_flip_bytes, ""), (_text, "Parquet magic bytes not found"),
    (_folder, "a folder, not a file"),
], ids=["truncated", "corrupt pages", "csv named .parquet", "folder named .parquet"])
def test_an_unreadable_file_is_named_on_one_line_without_a_traceback(damage, cause, tmp_path, folders, db, cli):
    folder = variant(tmp_path, folders["a"], {})
    target = folder / file_name(PGS)
    damage(target)
    digest = file_digest(db)
    code, out, err = cli("--warehouse", str(db), "load-phase3", str(folder))
    assert (code, out) == (2, "")
    assert err.startswith(f"error: {target}: ") and err.count("\n") == 1, err
    assert cause in err and "Traceback" not in err
    assert file_digest(db) == digest


def test_report_lists_every_violation_of_a_folder_at_once(tmp_path, folders, frames, db, cli):
    changes = {}
    for kind in ("points 10^9 (issue case 4)", "negative pace (issue case 4)"):
        table, frame, _ = IMPLAUSIBLE[kind](frames)
        changes[table] = frame
    table, frame, _ = NULLS["all is_regular_season NULL (issue case 1)"](frames)
    changes[table] = frame
    folder = variant(tmp_path, folders["a"], changes)
    (folder / file_name(UTGC)).write_bytes(b"PAR1 not really")
    digest = file_digest(db)

    code, out, err = cli("--warehouse", str(db), "load-phase3", str(folder), "--report")

    lines = out.splitlines()
    assert code == 2
    assert err == f"error: {folder}: {len(lines)} violation(s) of the Phase 3 contract; nothing was loaded\n"
    assert lines[0].startswith(f"{folder / file_name(UTGC)}: not a readable Parquet file")  # files first
    assert lines[1].startswith("nba_reference.schedule.parquet: column is_regular_season: 1230 row(s) NULL")
    assert any("player_game_summary.parquet: column points: 1 row(s) outside" in line for line in lines)
    assert any("team_offense_game_summary.parquet: column pace: 1 row(s) outside" in line for line in lines)
    assert file_digest(db) == digest

    code, _, err = cli("--warehouse", str(db), "load-phase3", str(folder))  # without --report: the first
    assert code == 2 and err.count("\n") == 1
    assert f"(and {len(lines) - 1} more violation(s); load-phase3 --report lists them all)" in err
