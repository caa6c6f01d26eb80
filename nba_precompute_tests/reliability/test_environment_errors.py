"""Failures a user causes or meets end with one `error:` line naming the path or argument and the
real cause (exit 2 for bad input, 1 for the environment), no traceback unless --debug, and leave
the warehouse as it was (issue 13, cases 7-10): a full disk (a file-size limit in a child process,
and a full tmpfs when the tests run as root), a read-only warehouse folder (coverage and check
still read it) or DAGSTER_HOME, a warehouse path that is a folder or another kind of file, and
arguments the partitions definition cannot accept."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nba_precompute.cli import main
from nba_precompute.phase3.contract import PHASE3_TABLES
from nba_precompute.warehouse.duckdb import DuckDBWarehouse

from .conftest import RANGE
from .helpers import copy_warehouse, snapshot
from .test_integrity import contents_digest, file_digest

ROOT = os.geteuid() == 0


@pytest.fixture
def cli(monkeypatch, tmp_path, capsys):
    """main() in this process with DAGSTER_HOME under tmp_path; (exit code, stdout, stderr)."""
    monkeypatch.delenv("NBA_PRECOMPUTE_TARGET", raising=False)
    monkeypatch.setenv("NBA_PRECOMPUTE_WAREHOUSE", str(tmp_path / "unused.duckdb"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir(exist_ok=True)

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err
    return run


def one_error_line(err: str) -> str:
    """The stderr of a failed command: its last line is the one `error:` line, no traceback."""
    assert "Traceback" not in err, err
    last = err.rstrip("\n").splitlines()[-1]
    assert last.startswith("error: "), err
    return last


def all_contents(db: Path) -> dict:
    return {**contents_digest(db), **{k: v.to_csv(index=False) for k, v in snapshot(db, keep_run_columns=True).items()}}


# --- a full disk --------------------------------------------------------------------------------------
LIMITED = textwrap.dedent("""
    import resource, signal, sys
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
    limit = int(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    from nba_precompute.cli import main
    sys.exit(main(sys.argv[2:]))
""")


def run_limited(limit: int, *argv: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    env.pop("NBA_PRECOMPUTE_TARGET", None)
    return subprocess.run([sys.executable, "-c", LIMITED, str(limit), *argv], capture_output=True, text=True,
                          env=env, timeout=600)


def test_a_load_that_fills_the_disk_names_the_cause_and_keeps_the_warehouse(tmp_path, old_db, folders):
    db = copy_warehouse(old_db, tmp_path / "w.duckdb")
    before = all_contents(db)
    # room for a few kB more than the file: the load of a season (MBs) cannot commit
    done = run_limited(db.stat().st_size + 50_000, "--warehouse", str(db), "load-phase3", str(folders["b"]),
                       home=tmp_path / "home")
    assert done.returncode == 1, done.stderr
    line = one_error_line(done.stderr)
    assert line.startswith("error: loading nba_reference.schedule, ")
    assert f"failed: {db} reached the file-size limit of this process" in line and "File too large" in line
    assert "cannot rollback" not in done.stderr
    assert line.endswith("nothing of it was written")
    assert all_contents(db) == before  # reopened without the limit: every row as it was


WRITER = textwrap.dedent("""
    import resource, signal, sys
    import pandas as pd
    from nba_precompute.registry import ASSET_TABLES
    from nba_precompute.tables import FAILURES
    from nba_precompute.warehouse import WarehouseError
    from nba_precompute.warehouse.duckdb import DuckDBWarehouse

    wh = DuckDBWarehouse(database=sys.argv[1])
    day = pd.Timestamp(sys.argv[2]).date()
    rows = wh.read(ASSET_TABLES["psza"], day, day).drop(columns=["created_at"])
    big = pd.concat([rows.assign(player_lookup=rows["player_lookup"] + str(k)) for k in range(1500)],
                    ignore_index=True)  # a partition far larger than the room left
    failures = wh.read(FAILURES, day, day).iloc[0:0].drop(columns=["created_at", "run_id"])
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    limit = int(sys.argv[3])
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    try:
        wh.write_partitions("psza", [day], big, failures[[c for c in failures.columns]], run_id="r")
    except WarehouseError as exc:
        print(exc)
        sys.exit(1)
""")


def test_a_partition_write_that_fills_the_disk_names_the_cause_and_keeps_the_old_partition(tmp_path, old_db):
    db = copy_warehouse(old_db, tmp_path / "w.duckdb")
    before = all_contents(db)
    done = subprocess.run([sys.executable, "-c", WRITER, str(db), "2021-11-05", str(db.stat().st_size + 20_000)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 1, done.stderr
    message = done.stdout.strip()
    assert message.startswith("writing nba_precompute.player_shot_zone_analysis for 2021-11-05..2021-11-05 "
                              f"failed: {db} reached the file-size limit of this process"), message
    assert "File too large" in message and "cannot rollback" not in message
    assert all_contents(db) == before  # the old partition and every other row intact


@contextlib.contextmanager
def filesystem(path: Path, size: str, read_only: bool = False, files: tuple[Path, ...] = ()):
    """A tmpfs of `size` at path holding copies of `files` (remounted read-only if asked). As
    non-root, a plain folder made read-only with chmod, which DuckDB and Dagster meet alike."""
    path.mkdir(parents=True, exist_ok=True)
    if ROOT:
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True)
    try:
        for f in files:
            shutil.copyfile(f, path / f.name)
        if read_only:
            if ROOT:
                subprocess.run(["mount", "-o", "remount,ro", str(path)], check=True)
            else:
                for f in path.iterdir():
                    f.chmod(0o444)
                path.chmod(0o555)
        yield path
    finally:
        if ROOT:
            subprocess.run(["umount", str(path)], check=True)
        else:
            path.chmod(0o755)


def test_a_full_filesystem_names_the_disk_as_the_cause(tmp_path, old_db, folders, cli):
    if not ROOT:
        pytest.skip("a full tmpfs needs root to mount; the file-size-limit tests cover the same path")
    source = copy_warehouse(old_db, tmp_path / "src" / "w.duckdb")
    DuckDBWarehouse(database=str(source)).query("CHECKPOINT")
    with filesystem(tmp_path / "small", f"{source.stat().st_size + 400_000}", files=(source,)) as small:
        db = small / source.name
        before = all_contents(db)
        code, _, err = cli("--warehouse", str(db), "load-phase3", str(folders["b"]))
        assert code == 1
        line = one_error_line(err)
        assert f"the disk holding {db} is full" in line and "No space left on device" in line
        assert "cannot rollback" not in err
        assert all_contents(db) == before


# --- read-only places -----------------------------------------------------------------------------------
def test_coverage_and_check_read_a_warehouse_on_a_read_only_filesystem(tmp_path, old_db, folders, cli):
    source = copy_warehouse(old_db, tmp_path / "src" / "w.duckdb")
    DuckDBWarehouse(database=str(source)).query("CHECKPOINT")  # no WAL: the file alone is the warehouse
    with filesystem(tmp_path / "ro", "64m", read_only=True, files=(source,)) as ro:
        db = ro / source.name
        digest = file_digest(db)
        code, out, err = cli("--warehouse", str(db), "coverage", "--start", RANGE[0], "--end", RANGE[1])
        assert code == 0, err
        assert f"Phase 4 coverage {RANGE[0]}..{RANGE[1]}" in out and "warehouse OK" in out
        code, out, err = cli("--warehouse", str(db), "check", "--start", RANGE[0], "--end", RANGE[1])
        assert code == 0, err
        assert "Result: OK" in out

        code, _, err = cli("--warehouse", str(db), "load-phase3", str(folders["a"]))
        assert code == 1
        line = one_error_line(err)
        assert line.startswith(f"error: cannot write the lock file {db}.lock of the DuckDB warehouse: ")
        assert ("Read-only file system" if ROOT else "Permission denied") in line
        code, _, err = cli("--warehouse", str(db), "backfill", "--start", RANGE[0], "--end", RANGE[0])
        assert code == 1
        assert ("Read-only file system" if ROOT else "Permission denied") in one_error_line(err)
        assert file_digest(db) == digest


def test_a_read_only_dagster_home_stops_a_backfill_before_any_run(tmp_path, old_db, cli, monkeypatch):
    db = copy_warehouse(old_db, tmp_path / "w.duckdb")
    before = all_contents(db)
    with filesystem(tmp_path / "home-ro", "8m", read_only=True) as home:
        monkeypatch.setenv("DAGSTER_HOME", str(home))
        code, _, err = cli("--warehouse", str(db), "backfill", "--start", RANGE[0], "--end", RANGE[1])
        assert code == 1
        line = one_error_line(err)
        assert line.startswith(f"error: {home}: DAGSTER_HOME cannot be written: ")
    assert all_contents(db) == before


def test_a_full_dagster_home_ends_with_one_line_naming_it(tmp_path, old_db):
    if not ROOT:
        pytest.skip("a full tmpfs needs root to mount")
    db = copy_warehouse(old_db, tmp_path / "w.duckdb")
    before = all_contents(db)
    with filesystem(tmp_path / "home-full", "300k") as home:  # a child process: its sqlite files close
        # 1 TiB: in effect no file-size limit; the 300 kB tmpfs is what fills up
        done = run_limited(2**40, "--warehouse", str(db), "backfill", "--start", RANGE[0], "--end", RANGE[1],
                           home=home)
    assert done.returncode == 1
    line = one_error_line(done.stderr)
    assert line.startswith(f"error: the Dagster instance at DAGSTER_HOME={home} cannot be used: ")
    assert "database or disk is full" in line
    assert all_contents(db) == before


def test_a_warehouse_folder_that_cannot_be_created_is_named(tmp_path, folders, cli):
    with filesystem(tmp_path / "ro", "1m", read_only=True) as ro:
        code, _, err = cli("--warehouse", str(ro / "sub" / "w.duckdb"), "load-phase3", str(folders["a"]))
    assert code == 1
    assert one_error_line(err).startswith(f"error: cannot create the folder of the DuckDB warehouse {ro / 'sub' / 'w.duckdb'}: ")


# --- a warehouse path of the wrong kind ------------------------------------------------------------------
def _folder(p: Path) -> Path:
    p.mkdir()
    return p


def _text_parquet(p: Path) -> Path:
    import pandas as pd

    pd.DataFrame({"a": [1, 2]}).to_parquet(p)
    return p


def _text(p: Path) -> Path:
    p.write_text("not a warehouse\n")
    return p


def _empty(p: Path) -> Path:
    p.write_bytes(b"")
    return p


@pytest.mark.parametrize("make, expected", [
    (_folder, "is a folder, not a file; set NBA_PRECOMPUTE_WAREHOUSE (or --warehouse) to a DuckDB file, e.g. "),
    (_text_parquet, "is not a DuckDB database file (it holds other data)"),
    (_text, "is not a DuckDB database file (it holds other data)"),
    (_empty, "is not a DuckDB database file"),
], ids=["folder", "parquet file", "text file", "empty file"])
@pytest.mark.parametrize("command", ["load-phase3", "coverage"])
def test_a_warehouse_path_of_the_wrong_kind_is_bad_input_named_plainly(make, expected, command, tmp_path, folders,
                                                                      cli):
    path = make(tmp_path / "warehouse.duckdb")
    digest = None if path.is_dir() else file_digest(path)
    argv = [str(folders["a"])] if command == "load-phase3" else ["--start", RANGE[0], "--end", RANGE[1]]
    code, _, err = cli("--warehouse", str(path), command, *argv)
    assert code == 2
    line = one_error_line(err)
    assert line.startswith(f"error: {'the DuckDB warehouse ' if path.is_dir() else ''}{path} ") and expected in line
    assert "another program holds it" not in line
    if digest is not None:
        assert file_digest(path) == digest


# --- arguments ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("argv, expected", [
    (["--chunk-days", "-1"], "argument --chunk-days: must be 1 or more, not -1"),
    (["--chunk-days", "0"], "argument --chunk-days: must be 1 or more, not 0"),
    (["--chunk-days", "two"], "argument --chunk-days: not a whole number: 'two'"),
    (["--assets", ""], "argument --assets: no asset named in ''; choose from psza, tdza, pdc, pcf, mlfs"),
    (["--assets", " , "], "argument --assets: no asset named in ' , '; choose from psza, tdza, pdc, pcf, mlfs"),
], ids=["negative chunk", "zero chunk", "word chunk", "empty assets", "blank assets"])
def test_bad_backfill_arguments_exit_2_with_one_line_naming_the_argument(argv, expected, tmp_path, old_db, capsys):
    db = copy_warehouse(old_db, tmp_path / "w.duckdb")
    before = all_contents(db)
    with pytest.raises(SystemExit) as exit_:
        main(["--warehouse", str(db), "backfill", "--start", RANGE[0], "--end", RANGE[1], *argv])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.rstrip().splitlines()[-1] == f"nba-precompute backfill: error: {expected}"
    assert all_contents(db) == before


@pytest.mark.parametrize("start, end, flag", [
    ("2030-01-01", "2030-01-02", "--start 2030-01-01"), ("2021-10-10", "2021-10-20", "--start 2021-10-10"),
    ("2022-01-01", "2030-01-01", "--end 2030-01-01"),
], ids=["future", "before the first partition", "end in the future"])
def test_dates_outside_the_partitions_definition_are_refused_and_no_run_is_recorded(
        start, end, flag, tmp_path, old_db, cli):
    db = copy_warehouse(old_db, tmp_path / "w.duckdb")
    before = all_contents(db)
    code, out, err = cli("--warehouse", str(db), "backfill", "--start", start, "--end", end)
    assert (code, out) == (2, "")
    line = one_error_line(err)
    assert line.startswith(f"error: {flag} is outside the partitions definition (2021-10-19..")
    assert all_contents(db) == before
    assert list((tmp_path / "home").iterdir()) == []  # no instance, no run record: nothing was started


def test_debug_shows_the_traceback_then_the_same_error_line(tmp_path, folders, cli):
    folder = tmp_path / "p3"
    shutil.copytree(folders["a"], folder)
    target = folder / "nba_analytics.team_offense_game_summary.parquet"
    target.write_bytes(target.read_bytes()[:100])
    code, _, plain = cli("--warehouse", str(tmp_path / "w.duckdb"), "load-phase3", str(folder))
    code_debug, _, debug = cli("--debug", "--warehouse", str(tmp_path / "w.duckdb"), "load-phase3", str(folder))
    assert code == code_debug == 2
    assert "Traceback" not in plain and "Traceback (most recent call last)" in debug
    assert debug.rstrip().splitlines()[-1] == plain.rstrip() == (
        f"error: {target}: not a readable Parquet file (ArrowInvalid: Parquet magic bytes not found in footer. "
        "Either the file is corrupted or this is not a parquet file.)")
    assert not any(DuckDBWarehouse(database=str(tmp_path / "w.duckdb")).table_exists(t) for t in PHASE3_TABLES)
