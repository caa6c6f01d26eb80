"""The embedded DuckDB warehouse shared by several processes: connections take turns under the
file lock, concurrent writers of different dates leave an exact warehouse, and a warehouse held
too long (by a cooperating process or by a foreign program) fails with a clear WarehouseError
before anything is written, never with DuckDB's lock error in the middle of a run."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from nba_precompute.failures import FAILURE_COLUMNS
from nba_precompute.tables import FAILURES
from nba_precompute.registry import ASSET_TABLES, ENTITY_COLUMN, output_columns
from nba_precompute.warehouse import WarehouseError
from nba_precompute.warehouse.duckdb import DuckDBWarehouse, exclusive

DAYS = [dt.date(2021, 11, 1) + dt.timedelta(days=i) for i in range(12)]


def rows(asset: str, date: dt.date, entities: list[str]) -> pd.DataFrame:
    columns = output_columns(asset)
    records = []
    for entity in entities:
        record = dict.fromkeys(columns)
        record.update(analysis_date=date, **{ENTITY_COLUMN[asset]: entity})
        records.append(record)
    return pd.DataFrame(records, columns=columns, dtype=object)


def failures(asset: str, date: dt.date, entities: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"processor_name": asset, "analysis_date": date, "entity_id": e, "failure_category": "INSUFFICIENT_DATA",
          "failure_reason": "Only 1 games, need 3", "can_retry": False, "expected_game_count": 3,
          "actual_game_count": 1} for e in entities],
        columns=FAILURE_COLUMNS, dtype=object,
    )


def writer(database: str, asset: str, days: list[dt.date], rounds: int) -> None:
    """Rewrite each of `days` `rounds` times (replace-on-rerun), one date per write."""
    wh = DuckDBWarehouse(database=database, lock_timeout_seconds=120)
    for r in range(rounds):
        for day in days:
            wh.write_partitions(asset, [day], rows(asset, day, [f"p{i}" for i in range(40)]),
                                failures(asset, day, [f"f{r}"]), run_id=f"{asset}-{r}")
            wh.read(ASSET_TABLES[asset], day, day)


@pytest.fixture
def wh(tmp_path) -> DuckDBWarehouse:
    warehouse = DuckDBWarehouse(database=str(tmp_path / "warehouse.duckdb"))
    warehouse.ensure_tables()
    return warehouse


def test_concurrent_writers_of_different_dates_leave_every_partition_exactly_once(wh):
    ctx = multiprocessing.get_context("spawn")
    plan = [("psza", DAYS[0::3]), ("psza", DAYS[1::3]), ("pcf", DAYS[2::3]), ("pcf", DAYS[0::3])]
    procs = [ctx.Process(target=writer, args=(wh.database, asset, days, 3)) for asset, days in plan]
    t0 = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
    assert [p.exitcode for p in procs] == [0] * len(procs)

    for asset in ("psza", "pcf"):
        written = {d for a, days in plan if a == asset for d in days}
        table = wh.read(ASSET_TABLES[asset])
        counts = table.groupby(pd.to_datetime(table["analysis_date"]).dt.date).size().to_dict()
        assert counts == {d: 40 for d in written}, asset
        assert not table.duplicated(["analysis_date", ENTITY_COLUMN[asset]]).any()
        fails = wh.read(FAILURES)
        mine = fails[fails["processor_name"] == asset]
        # the last round's failure row only, once per date
        assert sorted(pd.to_datetime(mine["analysis_date"]).dt.date) == sorted(written)
        assert set(mine["entity_id"]) == {"f2"} and set(mine["run_id"]) == {f"{asset}-2"}
    print(f"{len(procs)} writers x {3 * 4} writes in {time.perf_counter() - t0:.1f}s")


def _hold(database: str, seconds: float, ready: Path) -> None:
    with exclusive(Path(database), timeout=10):
        ready.write_text("held")
        time.sleep(seconds)


def test_a_warehouse_busy_beyond_the_timeout_fails_clearly_before_writing(wh, tmp_path):
    ready = tmp_path / "ready"
    holder = multiprocessing.get_context("spawn").Process(target=_hold, args=(wh.database, 4.0, ready))
    holder.start()
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        impatient = DuckDBWarehouse(database=wh.database, lock_timeout_seconds=0.5)
        t0 = time.perf_counter()
        with pytest.raises(WarehouseError) as err:
            impatient.write_partitions("psza", [DAYS[0]], rows("psza", DAYS[0], ["a"]), failures("psza", DAYS[0], []),
                                       run_id="r")
        waited = time.perf_counter() - t0
    finally:
        holder.join(timeout=30)
    message = str(err.value)
    assert message.startswith(f"the DuckDB warehouse {wh.database} stayed busy for 0.5 s (held by pid {holder.pid} ")
    assert "NBA_PRECOMPUTE_DUCKDB_LOCK_TIMEOUT" in message and "docs/DEPLOY.md" in message
    assert 0.5 <= waited < 3.0
    assert wh.read(ASSET_TABLES["psza"]).empty  # nothing was written
    # once the holder is done the same write goes through
    DuckDBWarehouse(database=wh.database, lock_timeout_seconds=5).write_partitions(
        "psza", [DAYS[0]], rows("psza", DAYS[0], ["a"]), failures("psza", DAYS[0], []), run_id="r")
    assert len(wh.read(ASSET_TABLES["psza"])) == 1


def test_a_waiting_process_proceeds_as_soon_as_the_holder_releases(wh, tmp_path):
    ready = tmp_path / "ready"
    holder = multiprocessing.get_context("spawn").Process(target=_hold, args=(wh.database, 1.5, ready))
    holder.start()
    deadline = time.monotonic() + 60
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    t0 = time.perf_counter()
    wh.write_partitions("psza", [DAYS[0]], rows("psza", DAYS[0], ["a"]), failures("psza", DAYS[0], []), run_id="r")
    waited = time.perf_counter() - t0
    holder.join(timeout=30)
    assert 0.5 < waited < 5.0
    assert len(wh.read(ASSET_TABLES["psza"])) == 1


def test_a_foreign_program_holding_the_file_gives_a_clear_error(wh, monkeypatch):
    import dagster_duckdb.resource as resource

    real_backoff = resource.backoff
    monkeypatch.setattr(resource, "backoff", lambda **kw: real_backoff(**{**kw, "max_retries": 1}))
    script = textwrap.dedent(f"""
        import duckdb, sys, time
        con = duckdb.connect({wh.database!r})
        print("open", flush=True)
        sys.stdin.readline()
    """)
    foreign = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert foreign.stdout.readline().strip() == "open"
        with pytest.raises(WarehouseError) as err:
            wh.read(ASSET_TABLES["psza"])
    finally:
        foreign.communicate("done\n", timeout=30)
    message = str(err.value)
    assert message.startswith(f"cannot open the DuckDB warehouse {wh.database}: another program holds it without "
                              "taking warehouse.duckdb.lock")
    assert "Could not set lock" in message


def test_a_failed_write_closes_the_file_before_releasing_the_lock(wh):
    bad = rows("psza", DAYS[0], ["a"]).drop(columns=["player_lookup"])
    with pytest.raises(WarehouseError):
        wh.write_partitions("psza", [DAYS[0]], bad, failures("psza", DAYS[0], []), run_id="r")
    # another process opens the file at once, without any retry
    probe = subprocess.run([sys.executable, "-c", f"import duckdb; duckdb.connect({wh.database!r}).close()"],
                           capture_output=True, text=True, timeout=60)
    assert probe.returncode == 0, probe.stderr


def test_nested_connections_in_one_thread_do_not_wait_for_themselves(wh):
    quick = DuckDBWarehouse(database=wh.database, lock_timeout_seconds=0.2)
    with quick._connect() as outer:
        assert quick.table_exists(ASSET_TABLES["psza"])  # a second connection inside the first
        assert outer.execute("SELECT 1").fetchone() == (1,)


def test_the_lock_file_names_its_holder(wh):
    with wh._connect():
        text = Path(wh.database + ".lock").read_text()
    assert text.startswith(f"pid {__import__('os').getpid()} on ")


def test_an_in_memory_warehouse_takes_no_lock(tmp_path):
    mem = DuckDBWarehouse(database=":memory:")
    mem.ensure_tables()
    assert not list(tmp_path.iterdir())
    with pytest.raises(duckdb.Error):
        with mem._connect() as con:
            con.execute("SELECT * FROM no_such_table")
