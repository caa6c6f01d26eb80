"""Shared tools of the reliability tests: warehouse snapshots compared partition by partition,
backfills driven through the real command line (and so through Dagster), and an in-memory
reader that runs pipeline.materialize_range without a warehouse."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Iterable

import pandas as pd
import pytest

from nba_precompute.phase3.contract import Table
from nba_precompute.registry import ASSET_NAMES as ASSETS, ASSET_TABLES
from nba_precompute.tables import FAILURES
from nba_precompute.warehouse.duckdb import DuckDBWarehouse

OUTPUT_TABLES: tuple[Table, ...] = (*ASSET_TABLES.values(), FAILURES)
RUN_COLUMNS = ("created_at", "run_id")  # the only columns a rerun may change


# --- snapshots ------------------------------------------------------------------------------
def raw_table(db: Path | str, table: Table) -> pd.DataFrame:
    """Every row of a table, every column, sorted by its key (comparable with assert_frame_equal)."""
    frame = DuckDBWarehouse(database=str(db)).read(table)
    return frame.sort_values(list(table.key), kind="mergesort").reset_index(drop=True)


class Snapshot(dict):
    """Table contents by fqn, with the (rows, failures) of each (asset, D) grouped once."""

    _parts: dict | None = None

    def partitions(self) -> dict:
        if self._parts is None:
            parts: dict = {}
            fails = self[FAILURES.fqn]
            by_fail = {k: g.reset_index(drop=True)
                       for k, g in fails.groupby([fails["processor_name"], pd.to_datetime(fails["analysis_date"])])}
            for asset, table in ASSET_TABLES.items():
                rows = self.get(table.fqn)
                if rows is None:
                    continue
                by_day = {k: g.reset_index(drop=True) for k, g in rows.groupby(pd.to_datetime(rows["analysis_date"]))}
                days = set(by_day) | {d for (a, d) in by_fail if a == asset}
                for day in days:
                    parts[(asset, day)] = (by_day.get(day, rows.iloc[0:0].reset_index(drop=True)),
                                           by_fail.get((asset, day), fails.iloc[0:0].reset_index(drop=True)))
                parts[(asset, None)] = (rows.iloc[0:0].reset_index(drop=True), fails.iloc[0:0].reset_index(drop=True))
            self._parts = parts
        return self._parts


def snapshot(db: Path | str, tables: Iterable[Table] = OUTPUT_TABLES, keep_run_columns: bool = False
             ) -> Snapshot:
    """The full contents of the Phase 4 tables and the failure table; without created_at and
    run_id unless keep_run_columns."""
    out = Snapshot()
    for table in tables:
        frame = raw_table(db, table)
        if not keep_run_columns:
            frame = frame.drop(columns=[c for c in RUN_COLUMNS if c in frame.columns])
        out[table.fqn] = frame
    return out


def assert_same_tables(expected: dict[str, pd.DataFrame], actual: dict[str, pd.DataFrame]) -> None:
    assert expected.keys() == actual.keys()
    for fqn in expected:
        pd.testing.assert_frame_equal(expected[fqn], actual[fqn], check_exact=True, obj=fqn)


def partition(snap: dict[str, pd.DataFrame], asset: str, date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows, failure rows) of (asset, D) in a snapshot, index reset."""
    day = pd.Timestamp(date)
    if isinstance(snap, Snapshot):
        parts = snap.partitions()
        return parts.get((asset, day), parts[(asset, None)])
    rows = snap[ASSET_TABLES[asset].fqn]
    fails = snap[FAILURES.fqn]
    r = rows[pd.to_datetime(rows["analysis_date"]) == day].reset_index(drop=True)
    f = fails[(fails["processor_name"] == asset) & (pd.to_datetime(fails["analysis_date"]) == day)]
    return r, f.reset_index(drop=True)


def frames_equal(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    try:
        pd.testing.assert_frame_equal(a, b, check_exact=True)
        return True
    except AssertionError:
        return False


def classify(current: dict, old: dict, new: dict, asset: str, date) -> str:
    """'old', 'new', 'both' (old and new agree on it) or 'neither' for one (asset, D)."""
    cur = partition(current, asset, date)
    is_old = all(frames_equal(x, y) for x, y in zip(cur, partition(old, asset, date)))
    is_new = all(frames_equal(x, y) for x, y in zip(cur, partition(new, asset, date)))
    return {(True, True): "both", (True, False): "old", (False, True): "new"}.get((is_old, is_new), "neither")


def duplicate_keys(db: Path | str) -> dict[str, int]:
    """Rows whose primary key repeats, per table (raw tables: every run's rows)."""
    out = {}
    for table in OUTPUT_TABLES:
        frame = raw_table(db, table)
        out[table.fqn] = int(frame.duplicated(list(table.key)).sum())
    return out


def dates(start: str, end: str) -> list[pd.Timestamp]:
    return list(pd.date_range(start, end, freq="D"))


def copy_warehouse(src: Path, dst: Path) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    wal = Path(str(src) + ".wal")
    if wal.exists():
        shutil.copyfile(wal, Path(str(dst) + ".wal"))
    return dst


# --- the command line, through Dagster -------------------------------------------------------
def cli_backfill(db: Path, home: Path, start: str, end: str, assets: list[str] | None = None,
                 extra_env: dict[str, str] | None = None) -> int:
    """`nba-precompute --warehouse DB backfill --start --end [--assets]` in this process, with
    DAGSTER_HOME = home (a real instance on disk); the environment is restored afterwards."""
    from nba_precompute.cli import main

    # genuine gaps of the synthetic seasons (e.g. early mlfs MISSING_DEPENDENCY) are not what
    # these tests are about: they exit 0; crashes and ERROR checks still exit 1
    argv = ["--warehouse", str(db), "backfill", "--start", start, "--end", end, "--allow-gaps"]
    if assets:
        argv += ["--assets", ",".join(assets)]
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("NBA_PRECOMPUTE_TARGET", raising=False)
        mp.setenv("NBA_PRECOMPUTE_WAREHOUSE", str(db))
        mp.setenv("DAGSTER_HOME", str(home))
        for key, value in (extra_env or {}).items():
            mp.setenv(key, value)
        home.mkdir(parents=True, exist_ok=True)
        return main(argv)


# --- an in-memory warehouse for the pure pipeline -----------------------------------------------
class MemoryStore:
    """Tables by fqn; `read` has the Reader signature of pipeline.materialize_range; `write`
    replaces an asset's partitions like Warehouse.write_partitions (rows only)."""

    def __init__(self, frames: dict[str, pd.DataFrame]):
        self.frames = {k: v.copy() for k, v in frames.items()}

    def read(self, table: Table, start=None, end=None, columns=None) -> pd.DataFrame:
        frame = self.frames.get(table.fqn)
        if frame is None:
            frame = pd.DataFrame(columns=[c for c in table.column_names if c != "created_at"])
        if start is not None or end is not None:
            days = pd.to_datetime(frame[table.date_column])
            lo = pd.Timestamp(start or dt.date(1900, 1, 1))
            hi = pd.Timestamp(end or dt.date(2999, 12, 31))
            frame = frame[(days >= lo) & (days <= hi)]
        frame = frame.reset_index(drop=True).copy()
        return frame[columns] if columns else frame

    def write(self, asset: str, dates, rows: pd.DataFrame) -> None:
        fqn = ASSET_TABLES[asset].fqn
        old = self.frames.get(fqn)
        wanted = pd.DatetimeIndex(pd.to_datetime(list(dates)))
        if old is not None and len(old):
            old = old[~pd.to_datetime(old["analysis_date"]).isin(wanted)]
            rows = pd.concat([old, rows], ignore_index=True) if len(rows) else old.reset_index(drop=True)
        self.frames[fqn] = rows.reset_index(drop=True)


def run_chain(frames: dict[str, pd.DataFrame], dates, assets: Iterable[str] = ASSETS):
    """materialize_range for each asset in dependency order over `dates`, each consumer reading
    what its producers just produced: {asset: RangeResult}."""
    from nba_precompute.phase3.contract import SCHEDULE
    from nba_precompute.pipeline import materialize_range
    from nba_precompute.season import SeasonCalendar

    store = MemoryStore(frames)
    calendar = SeasonCalendar(store.read(SCHEDULE))
    results = {}
    for asset in assets:
        result = materialize_range(asset, calendar, dates, store.read)
        store.write(asset, result.dates, result.rows)
        results[asset] = result
    return results
