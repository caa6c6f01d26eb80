"""A real Dagster deployment on 127.0.0.1, without pytest: dagster-webserver and dagster-daemon over a
DAGSTER_HOME with the project's dagster_local.yaml and a DuckDB warehouse, and the GraphQL the UI
sends to launch and follow an asset backfill.

Used by the end-to-end tests (conftest.py wraps it in fixtures, with skips and test failures) and by
benchmarks/backfill.py (the UI backfill of a season). `running` starts both processes in their own
process groups and always terminates the groups (code servers and run workers included). Every wait
is bounded; a failed one raises StackError with the tail of both logs.
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
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from nba_precompute.automation import LAUNCHED_BY_TAG

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
EXECUTABLES = ("dagster-webserver", "dagster-daemon", "nba-precompute")
LOCAL_INSTANCE_YAML = REPO_ROOT / "nba_precompute" / "dagster_local.yaml"
SERVER_START_TIMEOUT = 90.0
NEEDED_DAEMONS = {"BACKFILL", "SENSOR", "QUEUED_RUN_COORDINATOR"}
TERMINAL = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}

LAUNCH = """
mutation Launch($backfillParams: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $backfillParams) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message stack }
    ... on PartitionSetNotFoundError { message }
    ... on PartitionKeysNotFoundError { message }
    ... on InvalidSubsetError { message }
    ... on UnauthorizedError { message }
  }
}
"""
BACKFILL = """
query Backfill($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill {
      id status numPartitions timestamp endTimestamp
      runs(limit: 50) { runId status tags { key value } }
      assetBackfillData {
        assetBackfillStatuses {
          __typename
          ... on AssetPartitionsStatusCounts {
            assetKey { path } numPartitionsTargeted numPartitionsInProgress numPartitionsMaterialized
            numPartitionsFailed
          }
        }
      }
      error { message }
    }
    ... on PythonError { message }
  }
}
"""
LAUNCH_RUN = """
mutation LaunchRun($executionParams: ExecutionParams!) {
  launchPipelineExecution(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message stack }
    ... on InvalidSubsetError { message }
    ... on PipelineNotFoundError { message }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on UnauthorizedError { message }
  }
}
"""
RUN = """
query Run($id: ID!) {
  runOrError(runId: $id) {
    __typename
    ... on Run { runId status creationTime startTime endTime tags { key value } }
    ... on PythonError { message }
  }
}
"""
RUN_TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}


class StackError(Exception):
    """The deployment cannot go on: a wait timed out, a process exited, the code location failed to
    load, or a launch was refused. Raised at once out of `wait_until` (never polled again)."""


class GraphQLError(RuntimeError):
    """The webserver answered with GraphQL errors (polled again by `wait_until`)."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float, interval: float = 1.0, what: str = "condition", logs=None):
    """Poll predicate() until it returns a truthy value; raise StackError after timeout seconds.

    Other exceptions of predicate() are polled again until the deadline (the last one is named)."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except StackError:
            raise
        except Exception as exc:  # noqa: BLE001 - polled again until the deadline
            last_error = exc
        time.sleep(interval)
    detail = f" (last error: {last_error!r})" if last_error else ""
    raise StackError(f"timed out after {timeout:.0f}s waiting for {what}{detail}" + (logs() if logs else ""))


@dataclass
class Stack:
    url: str
    home: Path
    warehouse: Path
    logs_dir: Path
    env: dict
    phase3: Path | None = None
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
            raise GraphQLError(f"GraphQL errors: {payload['errors']}")
        return payload["data"]

    def get(self, path: str, timeout: float = 10.0) -> bytes:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=timeout) as response:
            return response.read()

    # --- the instance and the warehouse -------------------------------------------------------
    def instance(self):
        """The deployment's instance, in this process (needs env DAGSTER_HOME, as `running` sets)."""
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

    def check_alive(self) -> bool:
        for name, proc in self.processes.items():
            if proc.poll() is not None:
                raise StackError(f"{name} exited with {proc.returncode}" + self.log_tails())
        return True


def start_process(name: str, args: list[str], env: dict, logs_dir: Path) -> subprocess.Popen:
    log = open(logs_dir / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        args, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: code servers and run workers go with it
    )
    proc._log_file = log  # type: ignore[attr-defined]
    return proc


def stop_process(proc: subprocess.Popen, timeout: float = 20.0) -> None:
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


DEMO_SEASON = ("2021-10-19", "2022-04-10")


def deployment_env(home: Path, warehouse: Path, extra: dict | None = None) -> dict:
    """This process's environment without DAGSTER_* / NBA_PRECOMPUTE_*, then the deployment's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "NBA_PRECOMPUTE_"))}
    env.update(
        DAGSTER_HOME=str(home),
        NBA_PRECOMPUTE_TARGET="duckdb",
        NBA_PRECOMPUTE_WAREHOUSE=str(warehouse),
        # the demo season as the partitions (as `make dev` after `make demo`)
        NBA_PRECOMPUTE_START_DATE=DEMO_SEASON[0], NBA_PRECOMPUTE_END_DATE=DEMO_SEASON[1],
        PYTHONUNBUFFERED="1",
    )
    env.update(extra or {})
    return env


@contextmanager
def running(home: Path, warehouse: Path, logs_dir: Path, extra_env: dict | None = None,
            phase3: Path | None = None, timeout: float = SERVER_START_TIMEOUT) -> Iterator[Stack]:
    """dagster-webserver and dagster-daemon (`-w workspace.yaml`, cwd the repository) over `home`
    (an existing directory; the project's dagster_local.yaml is copied in as dagster.yaml), ready:
    the webserver answers, the code location is loaded and the daemons the backfills need are
    healthy. Env DAGSTER_HOME of this process is `home` meanwhile (the instance reads it). The
    instance's storage is created before either process starts."""
    shutil.copyfile(LOCAL_INSTANCE_YAML, home / "dagster.yaml")
    port = free_port()
    env = deployment_env(home, warehouse, extra_env)
    stack = Stack(url=f"http://127.0.0.1:{port}", home=home, warehouse=warehouse, logs_dir=logs_dir, env=env,
                  phase3=phase3)
    saved_home = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(home)
    try:
        # The instance's SQLite databases, created here once: every process (and each code server)
        # creates a missing one itself, and two at once can stamp two alembic revisions into
        # schedules.db, after which no code location loads ("Version table 'alembic_version' has
        # more than one head present", dagster-io/dagster#27390).
        with stack.instance():
            pass
        stack.processes["webserver"] = start_process(
            "webserver",
            [str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port), "-w", "workspace.yaml"],
            env, logs_dir,
        )
        stack.processes["daemon"] = start_process(
            "daemon", [str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"], env, logs_dir
        )
        wait_until(lambda: stack.check_alive() and json.loads(stack.get("/server_info")), timeout,
                   what="dagster-webserver /server_info", logs=stack.log_tails)
        wait_until(lambda: stack.check_alive() and location_loaded(stack), timeout,
                   what="the nba_precompute code location", logs=stack.log_tails)
        wait_until(lambda: stack.check_alive() and daemons_healthy(stack), timeout,
                   what="dagster-daemon heartbeats", logs=stack.log_tails)
        yield stack
    finally:
        for proc in stack.processes.values():
            stop_process(proc)
        if saved_home is None:
            os.environ.pop("DAGSTER_HOME", None)
        else:
            os.environ["DAGSTER_HOME"] = saved_home


def location_loaded(stack: Stack) -> bool:
    data = stack.graphql(
        """{ workspaceOrError { __typename ... on Workspace { locationEntries { name loadStatus
             locationOrLoadError { __typename ... on PythonError { message } } } } } }"""
    )
    for entry in data["workspaceOrError"].get("locationEntries", []):
        if entry["name"] == "nba_precompute" and entry["loadStatus"] == "LOADED":
            loaded = entry["locationOrLoadError"]
            if loaded and loaded["__typename"] == "PythonError":
                raise StackError(f"code location failed to load: {loaded['message']}")
            return loaded is not None and loaded["__typename"] == "RepositoryLocation"
    return False


def daemons_healthy(stack: Stack) -> bool:
    data = stack.graphql(
        "{ instance { daemonHealth { allDaemonStatuses { daemonType required healthy } } } }"
    )
    statuses = data["instance"]["daemonHealth"]["allDaemonStatuses"]
    healthy = {s["daemonType"] for s in statuses if s["healthy"]}
    return NEEDED_DAEMONS <= healthy


# --- asset backfills, as the UI launches them -------------------------------------------------------
def launch_backfill(stack: Stack, assets, partition_keys, title: str, launched_by: str = "e2e-test") -> str:
    """What the UI's "Materialize selected" dialog sends for an asset partition range."""
    params = {
        "assetSelection": [{"path": [a]} for a in assets],
        "partitionNames": partition_keys,
        "fromFailure": False,
        "title": title,
        "tags": [{"key": LAUNCHED_BY_TAG, "value": launched_by}],
    }
    result = stack.graphql(LAUNCH, {"backfillParams": params})["launchPartitionBackfill"]
    if result["__typename"] != "LaunchBackfillSuccess":
        raise StackError(f"launchPartitionBackfill refused: {result}")
    return result["backfillId"]


REEXECUTE = """
mutation Reexecute($params: ReexecutionParams!) {
  reexecutePartitionBackfill(reexecutionParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message stack }
    ... on UnauthorizedError { message }
  }
}
"""


def reexecute_backfill(stack: Stack, backfill_id: str, strategy: str = "FROM_FAILURE") -> str:
    """What the backfill page's "Re-execute" menu sends ("From failure": the failed and missing
    partitions of the backfill); the new backfill's id."""
    params = {"parentRunId": backfill_id, "strategy": strategy}
    result = stack.graphql(REEXECUTE, {"params": params})["reexecutePartitionBackfill"]
    if result["__typename"] != "LaunchBackfillSuccess":
        raise StackError(f"reexecutePartitionBackfill refused: {result}")
    return result["backfillId"]


def _poll_until_terminal(stack: Stack, query: str, field: str, typename: str, terminal: set[str],
                         object_id: str, timeout: float, interval: float) -> dict:
    """query(id) -> data[field], polled every `interval` s until it is a `typename` whose status
    is in `terminal`."""

    def done():
        obj = stack.graphql(query, {"id": object_id})[field]
        if obj["__typename"] != typename:
            raise GraphQLError(f"{typename} {object_id}: {obj}")
        return obj if obj["status"] in terminal else None

    return wait_until(done, timeout, interval=interval, what=f"{typename} {object_id}", logs=stack.log_tails)


def wait_backfill(stack: Stack, backfill_id: str, timeout: float, interval: float = 1.0) -> dict:
    """The backfill (BACKFILL's PartitionBackfill), polled until its status is terminal."""
    return _poll_until_terminal(stack, BACKFILL, "partitionBackfillOrError", "PartitionBackfill", TERMINAL,
                                backfill_id, timeout, interval)


# --- one ranged run, as the UI's launchpad launches it ------------------------------------------------
def launch_single_run(stack: Stack, assets, first_key: str, last_key: str, launched_by: str = "e2e-test") -> str:
    """What the UI sends from the launchpad of the selected assets (Materialize ▾ -> Open launchpad)
    with the range as the tags dagster/asset_partition_range_start / _end: one run of the asset
    job, through the run queue instead of the backfill daemon. (The partition dialog's "Single
    run" choice would send the same, but Dagster >= 1.5 hides it: the backfill policy decides.)"""
    return launch_run(stack, assets, {"dagster/asset_partition_range_start": first_key,
                                      "dagster/asset_partition_range_end": last_key, LAUNCHED_BY_TAG: launched_by})


def phase4_check_keys(assets) -> list:
    """Every check the Phase 4 multi-asset declares for `assets` (named §8 checks, freshness), as
    the UI selects them with the assets; sorted."""
    from nba_precompute.defs.phase4 import build_phase4_assets

    wanted = set(assets)
    return sorted((k for k in build_phase4_assets("duckdb").check_keys if k.asset_key.path[-1] in wanted),
                  key=lambda k: (k.asset_key.path[-1], k.name))


def launch_run(stack: Stack, assets, tags: dict[str, str] | None = None) -> str:
    """One run of the asset job for `assets` (and every check of theirs, as the UI's Materialize
    button selects them), through the run queue; its run id."""
    params = {
        "mode": "default",
        "runConfigData": "{}",
        "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in (tags or {}).items()]},
        "selector": {
            "repositoryLocationName": "nba_precompute", "repositoryName": "__repository__",
            "pipelineName": "__ASSET_JOB",
            "assetSelection": [{"path": [a]} for a in assets],
            "assetCheckSelection": [{"assetKey": {"path": [k.asset_key.path[-1]]}, "name": k.name}
                                    for k in phase4_check_keys(assets)],
        },
    }
    result = stack.graphql(LAUNCH_RUN, {"executionParams": params})["launchPipelineExecution"]
    if result["__typename"] != "LaunchRunSuccess":
        raise StackError(f"launchPipelineExecution refused: {result}")
    return result["run"]["runId"]


def wait_run(stack: Stack, run_id: str, timeout: float, interval: float = 1.0) -> dict:
    """The run (RUN's Run), polled until its status is terminal."""
    return _poll_until_terminal(stack, RUN, "runOrError", "Run", RUN_TERMINAL, run_id, timeout, interval)
