"""The production path as far as this machine allows: a real PostgreSQL server for the Dagster
instance (deploy/dagster.yaml), a demo season in a temporary DuckDB warehouse, and the
`nba-precompute` command run in subprocesses exactly as an operator runs it.

`postgres_server` (session scope) is a throwaway server from `nba_precompute_tests.pgserver`
(initdb in a temporary directory, 127.0.0.1 on a free port, password authentication), stopped at
the end. Each test gets its own database. Without the binaries the tests skip with the reason (they fail instead when NBA_PRECOMPUTE_REQUIRE_ALL is set, as CI does).
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from nba_precompute_tests import pgserver
from nba_precompute_tests.conftest import REPO_ROOT, require
from nba_precompute_tests.pgserver import PostgresServer

DEPLOY_INSTANCE_YAML = REPO_ROOT / "deploy" / "dagster.yaml"
PYTHON = sys.executable
COMMAND_TIMEOUT = 300


@pytest.fixture(scope="session")
def postgres_server():
    reason = pgserver.unavailable()
    require(reason is None, reason or "")
    with pgserver.running() as server:
        yield server


@dataclass
class Deployment:
    """A DAGSTER_HOME with deploy/dagster.yaml on its own Postgres database, and a warehouse."""

    home: Path
    warehouse: Path
    env: dict[str, str]
    database: str
    server: PostgresServer

    def cli(self, *args: str, timeout: float = COMMAND_TIMEOUT) -> subprocess.CompletedProcess:
        return subprocess.run([PYTHON, "-m", "nba_precompute.cli", *args], env=self.env, cwd=self.home.parent,
                              capture_output=True, text=True, timeout=timeout)

    def dagster(self, *args: str, timeout: float = COMMAND_TIMEOUT) -> subprocess.CompletedProcess:
        """The `dagster` command line against this instance, as an operator runs it."""
        done = subprocess.run([str(Path(PYTHON).parent / "dagster"), *args], env=self.env, cwd=self.home.parent,
                              capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, done.stdout + done.stderr
        return done

    def start_cli(self, *args: str, log: Path) -> subprocess.Popen:
        handle = open(log, "w")
        return subprocess.Popen([PYTHON, "-m", "nba_precompute.cli", *args], env=self.env, cwd=self.home.parent,
                                stdout=handle, stderr=subprocess.STDOUT)

    def claimed_slot_runs(self) -> set[str]:
        """The runs holding a slot of the "warehouse" pool now."""
        from nba_precompute.resources import WAREHOUSE_POOL

        instance = self.instance()
        try:
            return instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL).active_run_ids
        finally:
            instance.dispose()

    def wait_for_claimed_slot(self, proc: subprocess.Popen, timeout: float = 120.0) -> set[str]:
        """Wait until some run holds the warehouse slot (proc's Phase 4 step); fail if proc ends first."""
        deadline = time.monotonic() + timeout
        while not (claimed := self.claimed_slot_runs()):
            assert proc.poll() is None, f"the backfill ended ({proc.returncode}) before it claimed the slot"
            assert time.monotonic() < deadline, "no run claimed the warehouse slot"
            time.sleep(0.05)
        return claimed

    def instance(self):
        import dagster as dg

        saved = {k: os.environ.get(k) for k in self.env if k.startswith("DAGSTER_PG_")}
        os.environ.update({k: v for k, v in self.env.items() if k.startswith("DAGSTER_PG_")})
        try:
            return dg.DagsterInstance.from_config(str(self.home))
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


@pytest.fixture(scope="session")
def gap_season_folder(tmp_path_factory) -> Path:
    from nba_precompute_demo.season import write_season

    folder = tmp_path_factory.mktemp("phase3") / "nov-2021-gaps"
    write_season(folder, season_year=2021, scenario="nov-2021-gaps")
    return folder


@pytest.fixture
def deployment(postgres_server, gap_season_folder, tmp_path) -> Deployment:
    """deploy/dagster.yaml verbatim in a fresh DAGSTER_HOME on a fresh database, the instance
    schema created once (as `dagster instance migrate` does on a deployment), and the gap season
    loaded into a temporary DuckDB warehouse."""
    from nba_precompute.phase3.loader import load_phase3
    from nba_precompute.warehouse.duckdb import DuckDBWarehouse

    database = postgres_server.create_database(f"dagster_{secrets.token_hex(4)}")
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(DEPLOY_INSTANCE_YAML, home / "dagster.yaml")
    warehouse = tmp_path / "warehouse.duckdb"
    load_phase3(gap_season_folder, DuckDBWarehouse(database=str(warehouse)))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "NBA_PRECOMPUTE_"))}
    env.update(postgres_server.env(database), DAGSTER_HOME=str(home), NBA_PRECOMPUTE_WAREHOUSE=str(warehouse),
               PYTHONPATH=str(REPO_ROOT))
    deployment = Deployment(home, warehouse, env, database, postgres_server)
    deployment.instance().dispose()  # creates the schema, like `dagster instance migrate`
    return deployment
