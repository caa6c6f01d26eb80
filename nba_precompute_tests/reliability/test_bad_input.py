"""Bad Phase 3 input: every kind is either rejected by the loader with a clear message (naming
the file, the column and the first offending rows) before anything is written, or leads to
date-level failure records downstream; none crashes a run, none writes half of anything, and
no game dated D or later ever changes the rows of D."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dagster._serdes import serialize_value

from nba_precompute.failures import DATE_LEVEL
from nba_precompute.phase3.contract import (
    PLAYER_GAME_SUMMARY as PGS,
    SCHEDULE,
    TEAM_DEFENSE_GAME_SUMMARY as TDGS,
    TEAM_OFFENSE_GAME_SUMMARY as TOGS,
    UPCOMING_PLAYER_GAME_CONTEXT as UPCG,
    UPCOMING_TEAM_GAME_CONTEXT as UTGC,
    Table,
    file_name,
)
from nba_precompute_demo.season import arrow_schema, contract_frame
from nba_precompute.phase3.loader import Phase3ValidationError, load_phase3
from nba_precompute.registry import ASSET_NAMES as ASSETS, ASSET_TABLES
from nba_precompute.tables import FAILURES
from nba_precompute.warehouse.duckdb import DuckDBWarehouse

from .conftest import RANGE
from .helpers import cli_backfill, copy_warehouse, dates, partition, run_chain, snapshot

# --- a broken folder: season A with one table replaced ------------------------------------------


def write_table(folder: Path, table: Table, frame: pd.DataFrame, drop: tuple[str, ...] = (),
                types: dict[str, pa.DataType] | None = None) -> None:
    frame = contract_frame(table, frame)
    schema = arrow_schema(table)
    for column, typ in (types or {}).items():
        frame[column] = frame[column].map(lambda v: None if pd.isna(v) else str(v)).astype(object)
        schema = schema.set(schema.get_field_index(column), pa.field(column, typ))
    arrow = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    if drop:
        arrow = arrow.drop_columns(list(drop))
    pq.write_table(arrow, folder / file_name(table))


def broken_folder(root: Path, source: Path, table: Table, frame: pd.DataFrame, **kw) -> Path:
    folder = root / "broken"
    shutil.copytree(source, folder)
    write_table(folder, table, frame, **kw)
    return folder


def first_index(frame: pd.DataFrame, mask) -> int:
    return int(np.flatnonzero(np.asarray(mask))[0])


def played(pgs: pd.DataFrame) -> pd.Series:
    return pgs["is_active"].astype(bool) & pgs["points"].notna() & (pgs["fg_attempts"].fillna(0) > 2)


def _missing_column(f):
    return PGS, f[PGS.fqn], {"drop": ("fg_attempts",)}, (
        "nba_analytics.player_game_summary.parquet: missing column(s) fg_attempts of "
        "nba_analytics.player_game_summary"), None


def _wrong_type(f):
    return PGS, f[PGS.fqn], {"types": {"minutes_played": pa.string()}}, (
        "nba_analytics.player_game_summary.parquet: column minutes_played has type string, "
        "the contract says FLOAT64"), None


def _duplicate_key(f):
    pgs = f[PGS.fqn]
    row = first_index(pgs, played(pgs))
    dup = pgs.iloc[[row]].assign(points=pgs["points"].iloc[row] + 10)  # same key, other values
    frame = pd.concat([pgs, dup], ignore_index=True)
    return PGS, frame, {}, ("nba_analytics.player_game_summary.parquet: column player_lookup, game_id: 2 row(s) "
                            "share one key (duplicates); first:"), (f"player_lookup={pgs['player_lookup'].iloc[row]}",
                                                                    f"game_id={pgs['game_id'].iloc[row]}")


def _null_key(f):
    togs = f[TOGS.fqn].copy()
    togs.loc[7, "team_abbr"] = None
    return TOGS, togs, {}, ("nba_analytics.team_offense_game_summary.parquet: column team_abbr: 1 row(s) NULL in "
                            "a column that is never NULL; first:"), ("team_abbr=NULL", f"game_id={togs['game_id'].iloc[7]}")


def _negative_minutes(f):
    pgs = f[PGS.fqn].copy()
    row = first_index(pgs, played(pgs))
    pgs.loc[row, "minutes_played"] = -12.5
    return PGS, pgs, {}, ("nba_analytics.player_game_summary.parquet: column minutes_played: 1 row(s) outside the "
                          "plausible range [0, 70]; first:"), (f"player_lookup={pgs['player_lookup'].iloc[row]}",
                                                               f"game_id={pgs['game_id'].iloc[row]}", "minutes_played=-12.5")


def _negative_attempts(f):
    pgs = f[PGS.fqn].copy()
    row = first_index(pgs, played(pgs) & (pgs["ft_makes"] == 0))
    pgs.loc[row, "ft_attempts"] = -2
    return PGS, pgs, {}, ("nba_analytics.player_game_summary.parquet: column ft_attempts: 1 row(s) outside the "
                          "plausible range [0, 50]; first:"), (f"player_lookup={pgs['player_lookup'].iloc[row]}",
                                                               f"game_id={pgs['game_id'].iloc[row]}", "ft_attempts=-2")


def _negative_team_attempts(f):
    tdgs = f[TDGS.fqn].copy()
    tdgs.loc[[3, 40], "opp_three_pt_attempts"] = -30
    tdgs.loc[[3, 40], "opp_three_pt_makes"] = 0
    return TDGS, tdgs, {}, ("nba_analytics.team_defense_game_summary.parquet: column opp_three_pt_attempts: 2 row(s) "
                            "outside the plausible range [0, 150]; first:"), (
        f"defending_team_abbr={tdgs['defending_team_abbr'].iloc[3]}", f"game_id={tdgs['game_id'].iloc[3]}",
        "opp_three_pt_attempts=-30")


def _makes_above_attempts(f):
    pgs = f[PGS.fqn].copy()
    row = first_index(pgs, played(pgs))
    makes, attempts = int(pgs["paint_attempts"].iloc[row]) + 2, int(pgs["paint_attempts"].iloc[row])
    pgs.loc[row, "paint_makes"] = makes
    return PGS, pgs, {}, ("nba_analytics.player_game_summary.parquet: column paint_makes: 1 row(s) greater than "
                          "paint_attempts; first:"), (f"player_lookup={pgs['player_lookup'].iloc[row]}",
                                                      f"game_id={pgs['game_id'].iloc[row]}",
                                                      f"paint_makes={makes}, paint_attempts={attempts}")


def _team_makes_above_attempts(f):
    tdgs = f[TDGS.fqn].copy()
    tdgs.loc[5, "opp_paint_makes"] = tdgs["opp_paint_attempts"].iloc[5] + 1
    return TDGS, tdgs, {}, ("nba_analytics.team_defense_game_summary.parquet: column opp_paint_makes: 1 row(s) "
                            "greater than opp_paint_attempts; first:"), None


def _unknown_team(f):
    pgs = f[PGS.fqn].copy()
    row = 11
    pgs.loc[row, "opponent_team_abbr"] = "XYZ"
    return PGS, pgs, {}, ("nba_analytics.player_game_summary.parquet: column opponent_team_abbr: 1 row(s) with a "
                          "team that does not play in their game; first:"), (
        f"player_lookup={pgs['player_lookup'].iloc[row]}", f"game_id={pgs['game_id'].iloc[row]}",
        "opponent_team_abbr=XYZ")


def _unknown_upcoming_team(f):
    upcg = f[UPCG.fqn].copy()
    upcg.loc[upcg.index[-3:], "team_abbr"] = "SEA"  # the Sonics left in 2008
    return UPCG, upcg, {}, ("nba_analytics.upcoming_player_game_context.parquet: column team_abbr: 3 row(s) with a "
                            "team that does not play in their game; first:"), ("team_abbr=SEA",)


def _game_after_the_season(f):
    togs = f[TOGS.fqn].copy()
    late = togs.iloc[[0]].assign(game_id="0022199999", game_date=pd.Timestamp("2022-04-20").date())
    return TOGS, pd.concat([togs, late], ignore_index=True), {}, (
        "nba_analytics.team_offense_game_summary.parquet: column game_id: 1 row(s) not in the schedule; first:"), (
        "game_id=0022199999", "game_date=2022-04-20")


def _empty_schedule(f):
    return SCHEDULE, f[SCHEDULE.fqn].iloc[0:0], {}, (
        "nba_reference.schedule.parquet: the file has 0 rows; the schedule declares the seasons a folder replaces"), None


REJECTED = {
    "missing column": _missing_column,
    "wrong type": _wrong_type,
    "duplicate (player_lookup, game_id)": _duplicate_key,
    "NULL key": _null_key,
    "negative minutes": _negative_minutes,
    "negative attempts": _negative_attempts,
    "negative team attempts": _negative_team_attempts,
    "makes above attempts": _makes_above_attempts,
    "team makes above attempts": _team_makes_above_attempts,
    "team code not in the schedule": _unknown_team,
    "upcoming team code not in the schedule": _unknown_upcoming_team,
    "game dated after the season": _game_after_the_season,
    "empty schedule": _empty_schedule,
}


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("kind", list(REJECTED))
def test_bad_phase3_input_is_rejected_clearly_and_nothing_is_written(kind, tmp_path, season_a, folders, old_db):
    table, frame, options, message, preview = REJECTED[kind](season_a)
    folder = broken_folder(tmp_path, folders["a"], table, frame, **options)
    db = copy_warehouse(old_db, tmp_path / "w.duckdb")
    digest = file_digest(db)

    with pytest.raises(Phase3ValidationError) as err:
        load_phase3(folder, DuckDBWarehouse(database=str(db)))

    text = str(err.value)
    assert text.startswith(message), text
    assert "\n" not in text  # one line
    for part in preview or ():  # the first offending row: its key, date and the bad values
        assert part in text, (part, text)
    assert file_digest(db) == digest  # not one byte of the warehouse changed
    assert not Path(str(db) + ".wal").exists()


# --- a whole table empty: a valid gap, recorded downstream ------------------------------------------
def test_an_empty_upcoming_team_context_is_refused_unless_allowed_then_recorded_as_missing_dependency(
        tmp_path, season_a, folders, old_db, old_snapshot):
    folder = broken_folder(tmp_path, folders["a"], UTGC, season_a[UTGC.fqn].iloc[0:0])
    db = copy_warehouse(old_db, tmp_path / "w.duckdb")
    with pytest.raises(Phase3ValidationError, match="upcoming_team_game_context.parquet: the file has 0 rows; "
                                                    "pass --allow-empty upcoming_team_game_context"):
        load_phase3(folder, DuckDBWarehouse(database=str(db)))  # refused unless explicitly allowed
    loaded = load_phase3(folder, DuckDBWarehouse(database=str(db)), allow_empty=["upcoming_team_game_context"])
    assert loaded.summary().set_index("table").loc[UTGC.fqn, "rows"] == 0
    assert len(DuckDBWarehouse(database=str(db)).read(UTGC)) == 0

    assert cli_backfill(db, tmp_path / "home", *RANGE) == 0  # expected failures only: no crash

    after = snapshot(db)
    for asset in ("psza", "tdza", "pdc"):  # they do not read the team context: unchanged
        for day in dates(*RANGE):
            for got, want in zip(partition(after, asset, day), partition(old_snapshot, asset, day)):
                pd.testing.assert_frame_equal(got, want)
    for day in dates(*RANGE)[3:]:
        for asset in ("pcf", "mlfs"):
            rows, fails = partition(after, asset, day)
            assert len(rows) == 0 and fails["entity_id"].tolist() == [DATE_LEVEL], (asset, day)
            assert fails["failure_category"].tolist() == ["MISSING_DEPENDENCY"]
        reason = partition(after, "pcf", day)[1]["failure_reason"].iloc[0]
        assert re.fullmatch(rf"Missing nba_analytics\.upcoming_team_game_context for {day:%Y-%m-%d} "
                            r"\(0 rows, need \d+\)", reason), reason
        assert "Missing nba_precompute.player_composite_factors for" in partition(after, "mlfs", day)[1][
            "failure_reason"].iloc[0]


# Which assets a table feeds (directly, or through a Phase 4 producer), so an empty one must turn
# into MISSING_DEPENDENCY records for exactly these on every date that would be computed.
FEEDS = {
    PGS.fqn: {"psza", "pdc", "pcf", "mlfs"},  # psza (rule 1) cascades into pdc, pcf, mlfs
    TOGS.fqn: {"pdc", "mlfs"},
    TDGS.fqn: {"tdza", "pcf", "mlfs"},
    UPCG.fqn: {"pdc", "pcf", "mlfs"},
    UTGC.fqn: {"pcf", "mlfs"},
}
PROBE = ["2021-11-08", "2021-11-09", "2021-11-10"]


@pytest.fixture(scope="module")
def probe_baseline(season_a):
    return run_chain(season_a, PROBE)


@pytest.mark.parametrize("fqn", list(FEEDS))
def test_any_empty_upstream_table_gives_date_level_missing_dependency_not_a_crash(fqn, season_a, probe_baseline):
    frames = dict(season_a)
    frames[fqn] = season_a[fqn].iloc[0:0]

    results = run_chain(frames, PROBE)

    for asset in ASSETS:
        result, base = results[asset], probe_baseline[asset]
        assert result.error is None
        if asset in FEEDS[fqn]:
            assert result.rows.empty, asset
            assert result.days["outcome"].tolist() == ["MISSING_DEPENDENCY"] * 3, asset
            assert (result.failures["entity_id"] == DATE_LEVEL).all() and len(result.failures) == 3
            assert set(result.failures["failure_category"]) == {"MISSING_DEPENDENCY"}
        else:
            pd.testing.assert_frame_equal(result.rows, base.rows)
            pd.testing.assert_frame_equal(result.failures, base.failures)


# --- a table missing from the warehouse ----------------------------------------------------------
@pytest.mark.parametrize("dropped, untouched, code", [
    (UTGC, ("pcf", "mlfs"), 1),  # psza, tdza, pdc do not read it and complete; the run fails
    (SCHEDULE, tuple(ASSETS), 2),  # the run fails, then the coverage report stops with the one-line error
], ids=["upcoming_team_game_context", "schedule"])
def test_a_table_missing_from_the_warehouse_fails_the_run_naming_it_and_writes_nothing(
        tmp_path, monkeypatch, capsys, old_db, dropped, untouched, code):
    db = copy_warehouse(old_db, tmp_path / "w.duckdb")
    DuckDBWarehouse(database=str(db)).query(f"DROP TABLE {dropped.fqn}")
    before = snapshot(db, keep_run_columns=True)

    assert cli_backfill(db, tmp_path / "home", *RANGE) == code
    if code == 2:
        assert (f"error: table {dropped.fqn} does not exist in the warehouse; load Phase 3 data first "
                "(nba-precompute load-phase3 DIR)\n") in capsys.readouterr().err

    after = snapshot(db, keep_run_columns=True)
    fails_b, fails_a = before[FAILURES.fqn], after[FAILURES.fqn]
    for asset in untouched:  # rows, failure rows, created_at and run_id: all as before
        fqn = ASSET_TABLES[asset].fqn
        pd.testing.assert_frame_equal(after[fqn], before[fqn], check_exact=True)
        pd.testing.assert_frame_equal(fails_a[fails_a["processor_name"] == asset].reset_index(drop=True),
                                      fails_b[fails_b["processor_name"] == asset].reset_index(drop=True))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    instance = dg.DagsterInstance.get()
    (record,) = instance.get_run_records()
    assert record.dagster_run.status == dg.DagsterRunStatus.FAILURE
    failures = [e for e in instance.all_logs(record.dagster_run.run_id)
                if e.dagster_event is not None and e.dagster_event.event_type_value == "STEP_FAILURE"]
    assert len(failures) == 1
    assert (f"table {dropped.fqn} does not exist in the warehouse; load Phase 3 data first"
            in serialize_value(failures[0].dagster_event.event_specific_data))
    instance.dispose()


# --- games dated D or later never reach the rows of D ---------------------------------------------
D = pd.Timestamp("2021-11-20")


def _future_changed(frames: dict[str, pd.DataFrame], day: pd.Timestamp) -> dict[str, pd.DataFrame]:
    """Every Phase 3 row dated on or after D for game tables (after D for the upcoming_* tables,
    which are read at D) changed beyond recognition, plus a whole extra game on D + 1."""
    out = {k: v.copy() for k, v in frames.items()}
    for table, first in ((PGS, day), (TOGS, day), (TDGS, day), (UPCG, day + pd.Timedelta(days=1)),
                         (UTGC, day + pd.Timedelta(days=1))):
        f = out[table.fqn]
        late = pd.to_datetime(f["game_date"]) >= first
        assert late.sum() > 100
        for column, kind in table.columns:
            if column in table.key or column in ("game_date", "season_year", "processed_at"):
                continue
            if kind == "INT64":
                f.loc[late, column] = f.loc[late, column] * 3 + 7
            elif kind == "FLOAT64":
                f.loc[late, column] = f.loc[late, column] * 1.7 + 3.0
            elif kind == "BOOL" and column not in ("is_active", "is_dnp"):
                f.loc[late, column] = ~f.loc[late, column].astype(bool)
        out[table.fqn] = f
    # an extra game on D + 1 between two teams that also play on D (rows in every game table)
    extra_day = (day + pd.Timedelta(days=1)).date()
    togs = out[TOGS.fqn]
    today = togs[pd.to_datetime(togs["game_date"]) == day]
    home, away = today["team_abbr"].iloc[0], today["opponent_team_abbr"].iloc[0]
    sched = out[SCHEDULE.fqn]
    out[SCHEDULE.fqn] = pd.concat([sched, sched.iloc[[0]].assign(
        game_id="0022109999", game_date=extra_day, home_team_abbr=home, away_team_abbr=away)], ignore_index=True)
    for table, team_col in ((PGS, "team_abbr"), (TOGS, "team_abbr"), (TDGS, "defending_team_abbr"),
                            (UPCG, "team_abbr"), (UTGC, "team_abbr")):
        f = out[table.fqn]
        rows = f[(pd.to_datetime(f["game_date"]) == day) & f[team_col].isin([home, away])]
        out[table.fqn] = pd.concat([f, rows.assign(game_id="0022109999", game_date=extra_day)], ignore_index=True)
    return out


def test_games_dated_d_or_later_never_change_the_rows_of_d(season_a):
    baseline = run_chain(season_a, [D])
    changed = run_chain(_future_changed(season_a, D), [D])
    for asset in ASSETS:
        assert len(baseline[asset].rows) > 0, asset
        pd.testing.assert_frame_equal(changed[asset].rows, baseline[asset].rows, obj=asset)
        pd.testing.assert_frame_equal(changed[asset].failures, baseline[asset].failures, obj=asset)
    # ...whereas the day after sees them (the perturbation is real)
    after = pd.Timestamp(D) + pd.Timedelta(days=1)
    assert not run_chain(season_a, [after])["pdc"].rows.equals(
        run_chain(_future_changed(season_a, D), [after])["pdc"].rows)
