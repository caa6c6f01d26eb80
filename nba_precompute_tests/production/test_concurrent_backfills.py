"""Several backfills at once (different dates) against the production-style instance
(deploy/dagster.yaml on PostgreSQL) and one embedded DuckDB warehouse.

Two `nba-precompute backfill` processes are started together:

* with deploy/dagster.yaml as shipped (pool "warehouse" limited to 1, enforced per step by the
  instance) the two Phase 4 steps run one after the other;
* with the pool raised (`dagster instance concurrency set warehouse 4`, the BigQuery setting)
  they overlap, and the warehouse's file lock interleaves their connections.

Either way both runs succeed and the warehouse equals what one sequential backfill of the same
dates writes: every row and failure row exactly once, nothing of one run lost to the other.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from nba_precompute.resources import WAREHOUSE_POOL
from nba_precompute.tables import FAILURES
from nba_precompute.registry import ASSET_TABLES
from nba_precompute_tests.conftest import REPO_ROOT
from nba_precompute_tests.production.conftest import PYTHON, Deployment

pytestmark = pytest.mark.postgres

RANGE_A = ("2021-11-01", "2021-11-20")
RANGE_B = ("2021-11-21", "2021-12-10")
TABLES = (*ASSET_TABLES.values(), FAILURES)
VOLATILE = ("created_at", "run_id")  # differ between any two runs


def snapshot(path: Path) -> dict[str, pd.DataFrame]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        out = {}
        for table in TABLES:
            frame = con.execute(f"SELECT * FROM {table.fqn}").df().drop(columns=list(VOLATILE), errors="ignore")
            key = list(table.key) if table is not FAILURES else ["processor_name", "analysis_date", "entity_id"]
            out[table.fqn] = frame.sort_values(key).reset_index(drop=True)
        return out
    finally:
        con.close()


def assert_unique_keys(path: Path) -> None:
    con = duckdb.connect(str(path), read_only=True)
    try:
        for table in TABLES:
            key = list(table.key) if table is not FAILURES else ["processor_name", "analysis_date", "entity_id"]
            cols = ", ".join(key)
            dupes = con.execute(f"SELECT {cols}, count(*) n FROM {table.fqn} GROUP BY {cols} HAVING n > 1").fetchall()
            assert not dupes, f"{table.fqn}: duplicate keys {dupes[:3]}"
        # one write per (asset, date): a single created_at per partition
        for table in ASSET_TABLES.values():
            stamps = con.execute(f"SELECT analysis_date, count(DISTINCT created_at) FROM {table.fqn} "
                                 "GROUP BY 1 HAVING count(DISTINCT created_at) > 1").fetchall()
            assert not stamps, f"{table.fqn}: rows of two writes in one partition {stamps[:3]}"
    finally:
        con.close()


@pytest.fixture(scope="module")
def reference(gap_season_folder, tmp_path_factory) -> dict[str, pd.DataFrame]:
    """One sequential backfill of both ranges (local instance) to compare with."""
    from nba_precompute.phase3.loader import load_phase3
    from nba_precompute.warehouse.duckdb import DuckDBWarehouse

    root = tmp_path_factory.mktemp("reference")
    warehouse = root / "warehouse.duckdb"
    load_phase3(gap_season_folder, DuckDBWarehouse(database=str(warehouse)))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "NBA_PRECOMPUTE_"))}
    env.update(DAGSTER_HOME=str(root / "home"), NBA_PRECOMPUTE_WAREHOUSE=str(warehouse), PYTHONPATH=str(REPO_ROOT))
    done = subprocess.run([PYTHON, "-m", "nba_precompute.cli", "backfill", "--start", RANGE_A[0], "--end", RANGE_B[1],
                           "--allow-gaps"],  # the scenario's gaps; crashes and ERROR checks still exit 1
                          env=env, capture_output=True, text=True, timeout=600, cwd=root)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return snapshot(warehouse)


def run_two_backfills(deployment: Deployment, tmp_path: Path, second_after_first_claims: bool = False
                      ) -> tuple[list[str], float]:
    """Both backfills at once, or the second once the first holds its pool slot (see
    test_the_shipped_pool_limit_serializes_concurrent_backfills)."""
    t0 = time.perf_counter()
    procs = []
    for a, b in (RANGE_A, RANGE_B):
        if procs and second_after_first_claims:
            deployment.wait_for_claimed_slot(procs[0])
        procs.append(deployment.start_cli("backfill", "--start", a, "--end", b, "--allow-gaps", log=tmp_path / f"backfill_{a}.log"))
    codes = [p.wait(timeout=600) for p in procs]
    logs = [(tmp_path / f"backfill_{a}.log").read_text() for a, _ in (RANGE_A, RANGE_B)]
    for code, log in zip(codes, logs):
        assert code == 0, log[-4000:]
        assert "Could not set lock" not in log and "stayed busy" not in log
    return logs, time.perf_counter() - t0


def step_windows(instance) -> list[tuple[float, float]]:
    """(start, end) of the phase4 step of every run, from the instance's event log."""
    windows = []
    for run in instance.get_runs():
        # a run with gap dates ends its step with STEP_FAILURE (after writing everything)
        ends = {dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE}
        events = instance.all_logs(run.run_id, of_type={dg.DagsterEventType.STEP_START, *ends})
        start = min(e.timestamp for e in events if e.dagster_event.event_type == dg.DagsterEventType.STEP_START)
        end = max(e.timestamp for e in events if e.dagster_event.event_type in ends)
        windows.append((start, end))
    return sorted(windows)


def check_runs(deployment: Deployment) -> list[tuple[float, float]]:
    instance = deployment.instance()
    try:
        runs = instance.get_runs()
        # each range holds gap dates of the scenario: both runs wrote everything, then failed at their end
        assert len(runs) == 2 and all(r.status == dg.DagsterRunStatus.FAILURE for r in runs)
        ranges = {(r.tags["dagster/asset_partition_range_start"], r.tags["dagster/asset_partition_range_end"])
                  for r in runs}
        assert ranges == {RANGE_A, RANGE_B}
        mlfs = instance.get_materialized_partitions(dg.AssetKey("mlfs"))
        assert "2021-11-08" in mlfs and "2021-12-01" in mlfs and "2021-11-09" not in mlfs
        return step_windows(instance)
    finally:
        instance.dispose()


def assert_same_as_reference(path: Path, reference: dict[str, pd.DataFrame]) -> None:
    assert_unique_keys(path)
    got = snapshot(path)
    for fqn, expected in reference.items():
        assert len(got[fqn]) == len(expected), fqn
        pd.testing.assert_frame_equal(got[fqn], expected, obj=fqn)


def test_the_shipped_pool_limit_serializes_concurrent_backfills(deployment, reference, tmp_path):
    # The second starts while the first holds the slot. Started in the same instant, both steps
    # can get the one slot: on PostgreSQL, Dagster 1.13 selects a free slot FOR UPDATE on an
    # autocommit connection and updates it in a second statement, so two claims milliseconds
    # apart can take the same row (seen once under load). The warehouse file lock still keeps
    # such writers apart; docs/DEPLOY.md, section 5.
    _, elapsed = run_two_backfills(deployment, tmp_path, second_after_first_claims=True)

    (a_start, a_end), (b_start, b_end) = check_runs(deployment)
    assert a_end <= b_start, "the two Phase 4 steps overlapped although the pool limit is 1"
    assert_same_as_reference(deployment.warehouse, reference)
    print(f"serialized: two backfills in {elapsed:.1f}s")


def test_with_the_pool_raised_concurrent_backfills_overlap_and_the_warehouse_stays_exact(
        deployment, reference, tmp_path):
    deployment.dagster("instance", "concurrency", "set", WAREHOUSE_POOL, "4")

    _, elapsed = run_two_backfills(deployment, tmp_path)

    (a_start, a_end), (b_start, b_end) = check_runs(deployment)
    assert b_start < a_end, "expected the two Phase 4 steps to overlap with the pool raised"
    assert_same_as_reference(deployment.warehouse, reference)
    print(f"overlapping: two backfills in {elapsed:.1f}s")
