"""Crash safety (PRECOMPUTE.md §2 Writes, §4): a backfill killed with SIGKILL in the middle of a
ranged write, and a pure function that raises halfway through a range, leave every (asset, D)
with either its old partition or its complete new one — never half a partition, never a
duplicate key — and re-running the backfill completes the range.

"Old" is the range computed from demo season A; the warehouse then receives season B (another
seed: every partition differs), so old and new contents are told apart per (asset, D). "New" is
the reference warehouse that backfilled season B without interruption (conftest.new_db).
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from dagster._core.instance.ref import InstanceRef

from nba_precompute.failures import DATE_LEVEL
from nba_precompute.phase3.loader import load_phase3
from nba_precompute.registry import ASSET_NAMES as ASSETS, ASSET_TABLES
from nba_precompute.tables import FAILURES
from nba_precompute.warehouse.duckdb import DuckDBWarehouse

from .conftest import RANGE
from .helpers import (
    assert_same_tables,
    classify,
    cli_backfill,
    copy_warehouse,
    dates,
    duplicate_keys,
    partition,
    snapshot,
)

REPO = Path(__file__).resolve().parents[2]
MARKER = "RELIABILITY-MID-WRITE"

# Runs the real command line in a subprocess; when the write transaction of the chosen table has
# executed its DELETE (and, for the failure table, the asset's rows are already replaced), it
# prints MARKER and sleeps inside the open transaction, so the SIGKILL lands mid-write.
HOOKED_CLI = rf"""
import os, sys, time
from nba_precompute.warehouse import sql
fqn, nth = os.environ["RELIABILITY_KILL_AT"].rsplit(":", 1)
seen = [0]
original = sql.insert_from
def insert_from(table, source, dialect, project=None):
    statement = original(table, source, dialect, project)
    if table.fqn == fqn:
        seen[0] += 1
        if seen[0] == int(nth):
            print("{MARKER} " + fqn, flush=True)
            time.sleep(300)
    return statement
sql.insert_from = insert_from
from nba_precompute.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _env(db: Path, home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "NBA_PRECOMPUTE_TARGET"}
    env.update(DAGSTER_HOME=str(home), NBA_PRECOMPUTE_WAREHOUSE=str(db), PYTHONUNBUFFERED="1", **extra)
    return env


def run_until(args: list[str], env: dict, cwd: Path, pattern: str, timeout: float = 180.0) -> tuple[int, str]:
    """Start the command, SIGKILL it as soon as a line of its output matches `pattern`; returns
    (exit status, output). Fails if it ends or times out before the pattern shows."""
    proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, bufsize=1)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    output, deadline, regex = [], time.monotonic() + timeout, re.compile(pattern)
    try:
        while True:
            try:
                line = lines.get(timeout=0.2)
            except queue.Empty:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the backfill ended or hung before {pattern!r}:\n" + "".join(output[-40:]))
                continue
            output.append(line)
            if regex.search(line):
                os.kill(proc.pid, signal.SIGKILL)
                break
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        status = proc.wait(timeout=30)
    return status, "".join(output)


def states(current: dict, old: dict, new: dict) -> dict[str, set[str]]:
    """Per asset, the set of states of its dates in RANGE ('old', 'new', 'both', 'neither')."""
    return {a: {classify(current, old, new, a, d) for d in dates(*RANGE)} for a in ASSETS}


@pytest.fixture
def attempt_db(tmp_path, old_db, folders) -> Path:
    """The old warehouse after the new Phase 3 version (season B) has been loaded."""
    db = copy_warehouse(old_db, tmp_path / "attempt.duckdb")
    load_phase3(folders["b"], DuckDBWarehouse(database=str(db)))
    return db


def test_old_and_new_differ_on_every_computed_date(old_snapshot, new_snapshot):
    """The premise of the crash tests: old and new are told apart per (asset, D) wherever a
    date was computed (bootstrap records are the same text in both)."""
    for asset in ASSETS:
        for k, day in enumerate(dates(*RANGE)):
            state = classify(new_snapshot, old_snapshot, new_snapshot, asset, day)
            assert state == ("both" if k < 3 else "new"), (asset, day)
    assert sum(len(partition(new_snapshot, "mlfs", d)[0]) for d in dates(*RANGE)) > 800


def test_sigkill_mid_write_leaves_old_or_new_partitions_and_a_rerun_completes(
        tmp_path, attempt_db, old_snapshot, new_snapshot):
    home = tmp_path / "home"
    # Kill points, in run order: psza after deleting its partitions; pdc after replacing its rows
    # and deleting its failure rows (the third failure-table write of the run: psza, tdza, pdc);
    # mlfs after deleting its partitions. Each attempt runs the whole range again.
    kill_points = [("psza", ASSET_TABLES["psza"].fqn, 1), ("pdc", FAILURES.fqn, 3),
                   ("mlfs", ASSET_TABLES["mlfs"].fqn, 1)]
    for killed, fqn, nth in kill_points:
        args = [sys.executable, "-c", HOOKED_CLI, "--warehouse", str(attempt_db), "backfill",
                "--start", RANGE[0], "--end", RANGE[1]]
        status, output = run_until(args, _env(attempt_db, home, RELIABILITY_KILL_AT=f"{fqn}:{nth}"), tmp_path,
                                   rf"^{MARKER} {re.escape(fqn)}$")
        assert status == -signal.SIGKILL, output[-2000:]

        after = snapshot(attempt_db)
        assert set(duplicate_keys(attempt_db).values()) == {0}
        got = states(after, old_snapshot, new_snapshot)
        position = ASSETS.index(killed)
        for asset in ASSETS:
            assert "neither" not in got[asset], (killed, asset, got)
            # one transaction per asset and run: all of its dates moved together, or none did
            expected = "new" if ASSETS.index(asset) < position else "old"
            assert got[asset] - {"both"} == {expected}, (killed, asset, got)

    # The rerun, in the same Dagster instance the killed runs left behind, completes the range.
    assert cli_backfill(attempt_db, home, *RANGE) == 0
    assert_same_tables(new_snapshot, snapshot(attempt_db))
    assert set(duplicate_keys(attempt_db).values()) == {0}
    # ... and nothing stays STARTED: each backfill marked the runs of the killed ones failed
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DAGSTER_HOME", str(home))  # the local instance's dagster.yaml reads it
        instance = dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))
        runs = instance.get_runs()
        # the rerun also ends FAILURE, at its end, for the range's genuine gaps (PRECOMPUTE.md §4);
        # the killed ones were marked failed by the next backfill
        assert [r.status.value for r in runs] == ["FAILURE"] * (len(kill_points) + 1)
        reaped = [r for r in runs if "ended without finishing this run" in
                  instance.all_logs(r.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)[0].message]
        assert len(reaped) == len(kill_points)
        instance.dispose()


def test_sigkill_of_the_plain_cli_after_its_first_commit(tmp_path, attempt_db, old_snapshot, new_snapshot):
    """The command as users run it, killed right after psza reported its write: whatever else
    had committed by then, each asset holds the old or the new range, and a rerun completes it."""
    home = tmp_path / "home"
    args = [sys.executable, "-m", "nba_precompute.cli", "--warehouse", str(attempt_db), "backfill",
            "--start", RANGE[0], "--end", RANGE[1]]
    status, output = run_until(args, _env(attempt_db, home), tmp_path, r" - psza: \d+ rows over ")
    assert status == -signal.SIGKILL

    got = states(snapshot(attempt_db), old_snapshot, new_snapshot)
    assert got["psza"] - {"both"} == {"new"}  # reported written = committed
    for asset in ASSETS:
        assert len(got[asset] - {"both"}) == 1 and "neither" not in got[asset], (asset, got)
    assert set(duplicate_keys(attempt_db).values()) == {0}

    assert cli_backfill(attempt_db, home, *RANGE) == 0
    assert_same_tables(new_snapshot, snapshot(attempt_db))


# --- an exception inside a pure function, halfway through the range ---------------------------
def _fail_halfway(monkeypatch, module: str, name: str, calls: list) -> None:
    """Replace a pure function by one that computes the first half of the dates for real, then
    raises (as a bug hit halfway through the range would)."""
    import importlib

    mod = importlib.import_module(module)
    real = getattr(mod, name)

    def halfway(*args):
        dates_arg = args[-1]
        half = dates_arg[: max(1, len(dates_arg) // 2)]
        partial = real(*args[:-1], half)
        calls.append((len(half), len(partial.rows)))
        raise RuntimeError(f"injected fault after {len(half)} of {len(dates_arg)} dates")

    monkeypatch.setattr(mod, name, halfway)


def test_an_exception_halfway_leaves_other_assets_untouched_and_no_half_partition(
        tmp_path, monkeypatch, old_db, old_snapshot):
    db = copy_warehouse(old_db, tmp_path / "w.duckdb")
    before_raw = snapshot(db, keep_run_columns=True)
    calls: list = []
    _fail_halfway(monkeypatch, "nba_precompute.features.daily_cache", "compute_pdc", calls)

    assert cli_backfill(db, tmp_path / "home", *RANGE, assets=["pdc"]) == 1  # the run fails

    assert calls and calls[0][1] > 0  # the fault struck after real rows had been computed
    after_raw = snapshot(db, keep_run_columns=True)
    for asset in ("psza", "tdza", "pcf", "mlfs"):  # not even created_at or run_id changed
        fqn = ASSET_TABLES[asset].fqn
        pd.testing.assert_frame_equal(before_raw[fqn], after_raw[fqn], check_exact=True)
        fails = after_raw[FAILURES.fqn]
        old_fails = before_raw[FAILURES.fqn]
        pd.testing.assert_frame_equal(fails[fails["processor_name"] == asset].reset_index(drop=True),
                                      old_fails[old_fails["processor_name"] == asset].reset_index(drop=True))
    after = snapshot(db)
    computed = 0
    for day in dates(*RANGE):
        rows, fails = partition(after, "pdc", day)
        old_rows, old_fails = partition(old_snapshot, "pdc", day)
        assert len(rows) == 0, day  # never half a partition: the computed half is not written
        assert fails["entity_id"].tolist() == [DATE_LEVEL], day
        if len(old_rows):  # a date that reached the compute step
            computed += 1
            assert fails["failure_category"].tolist() == ["PROCESSING_ERROR"]
            assert fails["failure_reason"].iloc[0].startswith("RuntimeError: injected fault after ")
            assert bool(fails["can_retry"].iloc[0]) is True
        else:  # bootstrap: the same record as before
            pd.testing.assert_frame_equal(fails, old_fails)
    assert computed == 8
    assert set(duplicate_keys(db).values()) == {0}

    monkeypatch.undo()
    assert cli_backfill(db, tmp_path / "home", *RANGE, assets=["pdc"]) == 0
    assert_same_tables(old_snapshot, snapshot(db))


def test_an_exception_in_psza_halfway_cascades_as_records_and_a_rerun_restores_everything(
        tmp_path, monkeypatch, old_db, old_snapshot):
    db = copy_warehouse(old_db, tmp_path / "w.duckdb")
    calls: list = []
    _fail_halfway(monkeypatch, "nba_precompute.features.shot_zones", "compute_psza", calls)

    assert cli_backfill(db, tmp_path / "home", *RANGE) == 1

    after = snapshot(db)
    tdza = ASSET_TABLES["tdza"].fqn
    pd.testing.assert_frame_equal(after[tdza], old_snapshot[tdza])  # an independent asset: same contents
    for day in dates(*RANGE)[3:]:  # the computed dates (after the three bootstrap dates)
        for asset, category in [("psza", "PROCESSING_ERROR"), ("pdc", "MISSING_DEPENDENCY"),
                                ("pcf", "MISSING_DEPENDENCY"), ("mlfs", "MISSING_DEPENDENCY")]:
            rows, fails = partition(after, asset, day)
            assert len(rows) == 0 and fails["entity_id"].tolist() == [DATE_LEVEL], (asset, day)
            assert fails["failure_category"].tolist() == [category], (asset, day)
        _, pcf_fails = partition(after, "pcf", day)
        assert "Missing nba_precompute.player_shot_zone_analysis for " in pcf_fails["failure_reason"].iloc[0]
    assert set(duplicate_keys(db).values()) == {0}

    monkeypatch.undo()
    assert cli_backfill(db, tmp_path / "home", *RANGE) == 0
    assert_same_tables(old_snapshot, snapshot(db))


def test_a_write_that_fails_after_its_delete_is_rolled_back_whole(tmp_path, monkeypatch, attempt_db):
    """The failure-table insert of pdc's write breaks (after pdc's rows were already replaced
    inside the transaction): the transaction rolls back, pdc keeps every old row and failure
    record (created_at and run_id included), the run fails naming the table, and the assets
    after pdc are not written at all."""
    from nba_precompute.warehouse import sql as sql_module

    before = snapshot(attempt_db, keep_run_columns=True)
    original = sql_module.insert_from
    seen = []

    def broken(table, source, dialect, project=None):
        if table.fqn == FAILURES.fqn:
            seen.append(source)
            if len(seen) == 3:  # psza's and tdza's writes go through; pdc's breaks mid-transaction
                return "INSERT INTO no_such_schema.no_such_table SELECT 1"
        return original(table, source, dialect, project)

    monkeypatch.setattr(sql_module, "insert_from", broken)
    assert cli_backfill(attempt_db, tmp_path / "home", *RANGE) == 1
    monkeypatch.undo()

    after = snapshot(attempt_db, keep_run_columns=True)
    fails_b, fails_a = before[FAILURES.fqn], after[FAILURES.fqn]
    for asset in ("pdc", "pcf", "mlfs"):
        fqn = ASSET_TABLES[asset].fqn
        pd.testing.assert_frame_equal(after[fqn], before[fqn], check_exact=True)
        pd.testing.assert_frame_equal(fails_a[fails_a["processor_name"] == asset].reset_index(drop=True),
                                      fails_b[fails_b["processor_name"] == asset].reset_index(drop=True))
    for asset in ("psza", "tdza"):  # committed before the failing write: the new run's rows
        assert not after[ASSET_TABLES[asset].fqn]["created_at"].isin(before[ASSET_TABLES[asset].fqn]["created_at"]).any()
    assert set(duplicate_keys(attempt_db).values()) == {0}

    import dagster as dg
    from dagster._serdes import serialize_value

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    instance = dg.DagsterInstance.get()
    (record,) = instance.get_run_records()
    step_failures = [serialize_value(e.dagster_event.event_specific_data) for e in instance.all_logs(record.dagster_run.run_id)
                     if e.dagster_event is not None and e.dagster_event.event_type_value == "STEP_FAILURE"]
    assert len(step_failures) == 1
    assert f"writing nba_precompute.player_daily_cache for {RANGE[0]}..{RANGE[1]} failed" in step_failures[0]
    instance.dispose()
