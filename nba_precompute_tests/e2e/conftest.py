"""A real Dagster deployment on 127.0.0.1: dagster-webserver and dagster-daemon over a temporary
DAGSTER_HOME (the project's dagster_local.yaml) and a temporary DuckDB warehouse loaded with the
November 2021 gap scenario of the demo season.

`dagster_stack` (module scope) starts both processes in their own process groups and always
terminates the groups (code servers and run workers included) at teardown. Every wait is bounded;
a failed wait shows the tail of both logs.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from nba_precompute_tests.conftest import REPO_ROOT

BIN = Path(sys.executable).parent
LOCAL_INSTANCE_YAML = REPO_ROOT / "nba_precompute" / "dagster_local.yaml"
SERVER_START_TIMEOUT = 90.0
HEAL_INTERVAL_SECONDS = 5  # the heal sensor's minimum interval in these processes


def require(condition: bool, reason: str) -> None:
    """Skip with `reason`, or fail when NBA_PRECOMPUTE_REQUIRE_ALL is set (as CI does)."""
    if condition:
        return
    if os.environ.get("NBA_PRECOMPUTE_REQUIRE_ALL"):
        pytest.fail(reason + "; NBA_PRECOMPUTE_REQUIRE_ALL is set")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float, interval: float = 1.0, what: str = "condition", logs=None):
    """Poll predicate() until it returns a truthy value; fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - polled again until the deadline
            last_error = exc
        time.sleep(interval)
    detail = f" (last error: {last_error!r})" if last_error else ""
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}{detail}" + (logs() if logs else ""))


@dataclass
class Stack:
    url: str
    home: Path
    warehouse: Path
    phase3: Path
    logs_dir: Path
    env: dict
    processes: dict = field(default_factory=dict)

    # --- GraphQL ----------------------------------------------------------------------------
    def graphql(self, query: str, variables: dict | None = None, timeout: float = 60.0) -> dict:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(
            f"{self.url}/graphql", data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = json.loads(response.read())
        if payload.get("errors"):
            raise AssertionError(f"GraphQL errors: {payload['errors']}")
        return payload["data"]

    def get(self, path: str, timeout: float = 10.0) -> bytes:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=timeout) as response:
            return response.read()

    # --- the instance and the warehouse -------------------------------------------------------
    def instance(self):
        import dagster as dg
        from dagster._core.instance.ref import InstanceRef

        return dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(self.home)))

    def warehouse_db(self):
        from nba_precompute.warehouse.duckdb import DuckDBWarehouse

        return DuckDBWarehouse(database=str(self.warehouse))

    def cli(self, *args: str, timeout: float = 120.0, env: dict | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(BIN / "nba-precompute"), *args], cwd=REPO_ROOT, env={**self.env, **(env or {})},
            capture_output=True, text=True, timeout=timeout,
        )

    def log_tails(self, lines: int = 40) -> str:
        out = []
        for name in ("webserver", "daemon"):
            path = self.logs_dir / f"{name}.log"
            if path.exists():
                tail = path.read_text(errors="replace").splitlines()[-lines:]
                out.append(f"\n--- {name}.log (last {len(tail)} lines) ---\n" + "\n".join(tail))
        return "".join(out)


def _start(name: str, args: list[str], env: dict, logs_dir: Path) -> subprocess.Popen:
    log = open(logs_dir / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        args, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: code servers and run workers go with it
    )
    proc._log_file = log  # type: ignore[attr-defined]
    return proc


def _stop(proc: subprocess.Popen, timeout: float = 20.0) -> None:
    try:
        pgid = os.getpgid(proc.pid)
    except ProcessLookupError:
        pgid = None
    if pgid is not None:
        try:
            os.killpg(pgid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    if pgid is not None:  # whatever is left of the group (children outliving the parent too)
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
    proc._log_file.close()  # type: ignore[attr-defined]


def load_gap_season(root: Path, warehouse: Path) -> Path:
    from nba_precompute.phase3.demo import write_season
    from nba_precompute.phase3.loader import load_phase3
    from nba_precompute.warehouse.duckdb import DuckDBWarehouse

    folder = root / "phase3"
    write_season(folder, season_year=2021, scenario="nov-2021-gaps")
    load_phase3(folder, DuckDBWarehouse(database=str(warehouse)))
    return folder


@pytest.fixture(scope="module")
def dagster_stack(tmp_path_factory):
    for exe in ("dagster-webserver", "dagster-daemon", "nba-precompute"):
        require((BIN / exe).exists(), f"{exe} not installed in {BIN}")
    root = tmp_path_factory.mktemp("dagster_e2e")
    home, logs_dir = root / "dagster_home", root / "logs"
    home.mkdir()
    logs_dir.mkdir()
    shutil.copyfile(LOCAL_INSTANCE_YAML, home / "dagster.yaml")
    warehouse = root / "warehouse" / "warehouse.duckdb"
    phase3 = load_gap_season(root, warehouse)

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "NBA_PRECOMPUTE_"))}
    env.update(
        DAGSTER_HOME=str(home),
        NBA_PRECOMPUTE_TARGET="duckdb",
        NBA_PRECOMPUTE_WAREHOUSE=str(warehouse),
        DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS="1",
        NBA_PRECOMPUTE_HEAL_INTERVAL_SECONDS=str(HEAL_INTERVAL_SECONDS),
        PYTHONUNBUFFERED="1",
    )
    stack = Stack(url=f"http://127.0.0.1:{port}", home=home, warehouse=warehouse, phase3=phase3, logs_dir=logs_dir,
                  env=env)
    # The instance in this process reads the same dagster.yaml (its base_dir is env DAGSTER_HOME).
    saved_home = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(home)
    try:
        stack.processes["webserver"] = _start(
            "webserver",
            [str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port), "-w", "workspace.yaml"],
            env, logs_dir,
        )
        stack.processes["daemon"] = _start(
            "daemon", [str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"], env, logs_dir
        )

        def alive():
            for name, proc in stack.processes.items():
                if proc.poll() is not None:
                    pytest.fail(f"{name} exited with {proc.returncode}" + stack.log_tails())
            return True

        wait_until(lambda: alive() and json.loads(stack.get("/server_info")), SERVER_START_TIMEOUT,
                   what="dagster-webserver /server_info", logs=stack.log_tails)
        wait_until(lambda: alive() and _location_loaded(stack), SERVER_START_TIMEOUT,
                   what="the nba_precompute code location", logs=stack.log_tails)
        wait_until(lambda: alive() and _daemons_healthy(stack), SERVER_START_TIMEOUT,
                   what="dagster-daemon heartbeats", logs=stack.log_tails)
        yield stack
    finally:
        for proc in stack.processes.values():
            _stop(proc)
        if saved_home is None:
            os.environ.pop("DAGSTER_HOME", None)
        else:
            os.environ["DAGSTER_HOME"] = saved_home


def _location_loaded(stack: Stack) -> bool:
    data = stack.graphql(
        """{ workspaceOrError { __typename ... on Workspace { locationEntries { name loadStatus
             locationOrLoadError { __typename ... on PythonError { message } } } } } }"""
    )
    for entry in data["workspaceOrError"].get("locationEntries", []):
        if entry["name"] == "nba_precompute" and entry["loadStatus"] == "LOADED":
            loaded = entry["locationOrLoadError"]
            if loaded and loaded["__typename"] == "PythonError":
                pytest.fail(f"code location failed to load: {loaded['message']}")
            return loaded is not None and loaded["__typename"] == "RepositoryLocation"
    return False


def _daemons_healthy(stack: Stack) -> bool:
    data = stack.graphql(
        "{ instance { daemonHealth { allDaemonStatuses { daemonType required healthy } } } }"
    )
    statuses = data["instance"]["daemonHealth"]["allDaemonStatuses"]
    needed = {"BACKFILL", "SENSOR", "QUEUED_RUN_COORDINATOR"}
    healthy = {s["daemonType"] for s in statuses if s["healthy"]}
    return needed <= healthy


@pytest.fixture(scope="module")
def chromium(request):
    """A headless Chromium for the stack's UI (skipped, or failed under NBA_PRECOMPUTE_REQUIRE_ALL,
    without Debian's chromium / chromium-driver or selenium). Checked before the stack starts."""
    from nba_precompute_tests.e2e.browser import Chromium, missing_browser_reason

    reason = missing_browser_reason()
    require(reason is None, str(reason))
    stack = request.getfixturevalue("dagster_stack")
    stack.graphql("mutation { setNuxSeen }")  # no "Join the Dagster community" dialog
    browser = Chromium()
    try:
        yield browser.driver
    finally:
        browser.quit()
