"""Backfill performance, measured as ratios within one run (the machines are shared and noisy).

    .venv/bin/python benchmarks/backfill.py [--data ../shared/data] [--per-partition-dates 3]
        [--instances local,stock,postgres,postgres-latency] [--instances-only] [--skip-ui]

Measures, each in a fresh process with a fresh warehouse copy and DAGSTER_HOME:

  anchor        stock Dagster: five trivial daily assets (450 random rows a day, same dependency
                shape, DuckDB pandas IO manager, a blocking row-count check each), one
                in-process ranged run over the season (benchmarks/anchor.py)
  bare          the pure pipeline alone (pipeline.materialize_range + warehouse writes, no
                Dagster), all five assets over the season
  cli           `nba-precompute backfill` over the season: real formulas, dependency checks,
                failures, per-date events and checks, through the Dagster instance
  per_partition one `nba-precompute backfill` run per date for a few dates, extrapolated
  two_seasons   both seasons' windows (two CLI backfills), against one season
  ui            the season launched as the UI does it (GraphQL launchPartitionBackfill, all five
                assets) on a real dagster-webserver + dagster-daemon (nba_precompute_tests/e2e/stack.py),
                from the launch until the backfill's status is terminal (polled every second), with
                where the time goes (the backfill daemon iterates every 30 s); --skip-ui leaves it out
  ui_single_run the season launched from the UI's launchpad as one run (the range as the tags
                dagster/asset_partition_range_start/_end): the run queue only, no backfill
                daemon; --skip-ui leaves it out too

and, for each Dagster instance of --instances, the CLI season and the anchor on the same kind of
storage (each on its own fresh DAGSTER_HOME / database, created before the clock starts, as a
deployment's `dagster instance migrate` does), with their ratio and the events each run wrote:

  local            the project's local dagster.yaml (nba_precompute/dagster_local.yaml, the default)
  stock            an empty dagster.yaml: Dagster's stock SQLite storage
  postgres         deploy/dagster.yaml on a PostgreSQL server the benchmark starts (initdb on a
                   free port, nba_precompute_tests/pgserver.py), with the server's own counters
                   (sessions, commits, rows inserted: pg_stat_database)
  postgres-latency the same server through benchmarks/latency_proxy.py, which adds LATENCY_MS to
                   each round trip and counts the round trips (chunks the client sent)
  postgres-stock   deploy/dagster.yaml with Dagster's stock PostgreSQL storage (`storage: postgres`,
                   no project instance class): the stock anchor "on the same server"

--instances-only leaves out everything else; --profile DIR runs those under cProfile. Prints the ratios the targets are stated in, with
peak memory (max RSS) of each process (for `ui`, of the run worker, sampled from /proc).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # nba_precompute_tests (the e2e deployment, stack.py) is not installed
PY = sys.executable
CLI = [PY, "-m", "nba_precompute.cli"]
SEASONS = {"nba-2021-22": ("2021-10-19", "2022-04-10"), "nba-2022-23": ("2022-10-18", "2023-04-09")}
UI_TIMEOUT = 1800.0
INSTANCES = ("local", "stock", "postgres", "postgres-latency", "postgres-stock")
LATENCY_MS = 1.0
LOCAL_INSTANCE_YAML = ROOT / "nba_precompute" / "dagster_local.yaml"
DEPLOY_INSTANCE_YAML = ROOT / "deploy" / "dagster.yaml"

BARE = """
import sys, time, pandas as pd
from nba_precompute.pipeline import materialize_range
from nba_precompute.season import SeasonCalendar
from nba_precompute.phase3.contract import SCHEDULE
from nba_precompute.registry import ASSET_NAMES as ASSETS
from nba_precompute.warehouse.duckdb import DuckDBWarehouse
w = DuckDBWarehouse(database=sys.argv[1]); w.ensure_tables()
t0 = time.perf_counter()
cal = SeasonCalendar(w.read_required(SCHEDULE))
for a in ASSETS:
    r = materialize_range(a, cal, pd.date_range(sys.argv[2], sys.argv[3]), w.read_required)
    w.write_partitions(a, r.dates, r.rows, r.failures, "bench")
print(f"bare: {time.perf_counter() - t0:.2f}s")
"""

# Creates the instance's schema (untimed), or counts the events of its runs per type (after a run).
INSTANCE = """
import collections, json, sys
import dagster as dg
with dg.DagsterInstance.get() as instance:
    if sys.argv[1] == "count":
        counts = collections.Counter()
        runs = instance.get_runs()
        for run in runs:
            for e in instance.all_logs(run.run_id):
                counts[e.dagster_event.event_type_value if e.is_dagster_event else "LOG_MESSAGE"] += 1
        print(json.dumps({"runs": len(runs), "events": dict(counts)}))
"""


def clean_env(home: Path, warehouse: Path, project_env: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "NBA_PRECOMPUTE_"))}
    env.update(DAGSTER_HOME=str(home), NBA_PRECOMPUTE_WAREHOUSE=str(warehouse))
    if not project_env:
        env.pop("NBA_PRECOMPUTE_WAREHOUSE")
    return env


def timed(cmd: list[str], env: dict, label: str) -> dict:
    """Wall time and max RSS (KiB, from /usr/bin/time) of one process."""
    rss_file = tempfile.mktemp()
    wrapper = ["/usr/bin/time", "-f", "%M", "-o", rss_file] if Path("/usr/bin/time").exists() else []
    t0 = time.perf_counter()
    proc = subprocess.run(wrapper + cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"{label} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    rss = int(Path(rss_file).read_text().split()[-1]) if wrapper else None
    print(f"  {label:28s} {seconds:7.2f}s  peak {rss / 1024 if rss else float('nan'):7.0f} MiB", flush=True)
    return {"seconds": seconds, "max_rss_mib": rss / 1024 if rss else None}


def loaded_warehouse(work: Path, data: Path, seasons: list[str]) -> Path:
    path = work / ("loaded-" + "-".join(seasons) + ".duckdb")
    if not path.exists():
        for s in seasons:
            subprocess.run(CLI + ["--warehouse", str(path), "load-phase3", str(data / s)], check=True,
                           cwd=ROOT, capture_output=True, env=clean_env(work / "h0", path, True))
    return path


def fresh(work: Path, source: Path, name: str) -> tuple[Path, Path]:
    """A copy of a loaded warehouse and an empty DAGSTER_HOME."""
    target = work / name
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir()
    shutil.copyfile(source, target / "w.duckdb")
    (target / "home").mkdir()
    return target / "w.duckdb", target / "home"


class PeakRss(threading.Thread):
    """Peak RSS (VmHWM, KiB) of every process in the sessions of `sids` (the webserver and the daemon
    with their code servers and run workers), sampled every `interval` s until stop()."""

    def __init__(self, sids: list[int], interval: float = 0.5):
        super().__init__(daemon=True)
        self.sids, self.interval, self.peaks = set(sids), interval, {}  # pid -> (KiB, command line)
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    if os.getsid(int(pid)) not in self.sids:
                        continue
                    status = Path(f"/proc/{pid}/status").read_text()
                    cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                except OSError:  # gone meanwhile
                    continue
                hwm = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)
                seen_hwm, seen_cmd = self.peaks.get(pid, (0, ""))
                self.peaks[pid] = (max(hwm, seen_hwm), seen_cmd or cmd)  # an exited process has no cmdline
            self.stopped.wait(self.interval)

    def stop(self) -> dict:
        self.stopped.set()
        self.join()
        # the code server starts a run worker with multiprocessing (spawn), or as `dagster api execute_run`
        workers = [kib for kib, cmd in self.peaks.values() if "spawn_main" in cmd or "execute_run" in cmd]
        return {"run_worker_max_rss_mib": max(workers) / 1024 if workers else None,
                "deployment_max_rss_mib": max((kib for kib, _ in self.peaks.values()), default=0) / 1024}


PG_COUNTERS = ("numbackends", "sessions", "xact_commit", "xact_rollback", "tup_inserted", "tup_updated",
               "tup_deleted", "tup_fetched", "blks_hit", "blks_read")


def pg_counters(server, db: str) -> dict[str, int]:
    """The server's cumulative statistics of database `db` (updated when each backend exits;
    the reading itself adds one session and a transaction)."""
    con = server.connect(db)
    try:
        with con.cursor() as cur:
            cur.execute(f"SELECT {', '.join(PG_COUNTERS)} FROM pg_stat_database WHERE datname = %s", (db,))
            return dict(zip(PG_COUNTERS, cur.fetchone()))
    finally:
        con.close()


class Instances:
    """The Dagster instances of --instances, and the PostgreSQL server and latency proxy they need
    (started once, on first use, stopped with the benchmark)."""

    def __init__(self, stack: contextlib.ExitStack):
        self.stack, self.server, self.proxy = stack, None, None

    def postgres(self):
        if self.server is None:
            from nba_precompute_tests import pgserver

            reason = pgserver.unavailable()
            if reason:
                sys.exit(f"the postgres instances need a PostgreSQL server: {reason} (leave them out of --instances)")
            self.server = self.stack.enter_context(pgserver.running())
        return self.server

    def latency_proxy(self):
        if self.proxy is None:
            from benchmarks.latency_proxy import LatencyProxy

            server = self.postgres()
            self.proxy = self.stack.enter_context(LatencyProxy(server.host, server.port, LATENCY_MS / 1000, lifetime=7200))
        return self.proxy

    def home(self, variant: str, home: Path, warehouse: Path, name: str) -> dict:
        """Write `variant`'s dagster.yaml into `home`, create its storage, and return the env of a run."""
        env = clean_env(home, warehouse, True)
        if variant == "local":
            shutil.copyfile(LOCAL_INSTANCE_YAML, home / "dagster.yaml")
        elif variant == "stock":
            (home / "dagster.yaml").write_text("")  # what Dagster's warning asks for: stock storage in DAGSTER_HOME
        else:
            server = self.postgres()
            db = server.create_database(name.replace("-", "_"))
            port = self.latency_proxy().port if variant == "postgres-latency" else None
            env.update(server.env(db, port))
            if variant == "postgres-stock":
                (home / "dagster.yaml").write_text(stock_postgres_yaml())
            else:
                shutil.copyfile(DEPLOY_INSTANCE_YAML, home / "dagster.yaml")
        done = subprocess.run([PY, "-c", INSTANCE, "create"], env=env, cwd=ROOT, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"creating the {variant} instance failed:\n{done.stderr[-3000:]}")
        return env

    def measured(self, variant: str, cmd: list[str], env: dict, label: str) -> dict:
        """One timed run on the instance of `env`, with the events it wrote per type and, on PostgreSQL,
        the server's counters (and the proxy's round trips) over the run."""
        db = env.get("DAGSTER_PG_DB")
        before = pg_counters(self.server, db) if db else None
        if variant == "postgres-latency":
            self.proxy.reset()
        result = timed(cmd, env, label)
        if variant == "postgres-latency":
            stats = self.proxy.stats()
            result["proxy"] = {**stats.__dict__, "mean_delay_ms": stats.mean_delay * 1000}
        if db:
            time.sleep(1.0)  # a backend reports its statistics when it exits
            after = pg_counters(self.server, db)
            result["postgres"] = {k: after[k] - before[k] for k in PG_COUNTERS if k != "numbackends"}
        done = subprocess.run([PY, "-c", INSTANCE, "count"], env=env, cwd=ROOT, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"counting the events of {label} failed:\n{done.stderr[-3000:]}")
        result.update(json.loads(done.stdout.strip().splitlines()[-1]))
        result["events_total"] = sum(result["events"].values())
        return result


def stock_postgres_yaml() -> str:
    """deploy/dagster.yaml as a user who keeps Dagster's stock storage writes it: `storage: postgres`
    (dagster-postgres's own event log, NullPool) and no project instance class; limits unchanged."""
    import yaml

    config = yaml.safe_load(DEPLOY_INSTANCE_YAML.read_text())
    config.pop("instance_class")
    db = config.pop("run_storage")["config"]["postgres_db"]
    config.pop("event_log_storage")
    config.pop("schedule_storage")
    config["storage"] = {"postgres": {"postgres_db": db}}
    return yaml.safe_dump(config)


def instance_variant(instances: Instances, variant: str, work: Path, source: Path, start: str, end: str,
                     profile: Path | None = None) -> dict:
    """The CLI season and the stock anchor, each on a fresh instance of `variant` (with `profile`: each
    under cProfile, its stats written to profile/<variant>-<cli|anchor>.prof; times then are not a baseline)."""
    out = {}
    for what in ("cli", "anchor"):
        name = f"{variant}-{what}"
        w, home = fresh(work, source, name)
        env = instances.home(variant, home, w, name)
        py = [PY, "-m", "cProfile", "-o", str(profile / f"{name}.prof")] if profile else [PY]
        if what == "cli":
            cmd = py + ["-m", "nba_precompute.cli", "backfill", "--allow-gaps", "--start", start, "--end", end]
        else:
            cmd = py + ["benchmarks/anchor.py", start, end, str(w)]
            env.pop("NBA_PRECOMPUTE_WAREHOUSE")
        out[what] = instances.measured(variant, cmd, env, f"{variant}: {what}")
    out["ratio"] = out["cli"]["seconds"] / out["anchor"]["seconds"]
    return out


def instances_table(results: dict) -> str:
    lines = [f"{'instance':18s} {'cli s':>7s} {'anchor s':>8s} {'ratio':>6s} {'cli events':>10s} "
             f"{'anchor events':>13s}"]
    for variant, r in results.items():
        lines.append(f"{variant:18s} {r['cli']['seconds']:7.2f} {r['anchor']['seconds']:8.2f} {r['ratio']:6.2f} "
                     f"{r['cli']['events_total']:10d} {r['anchor']['events_total']:13d}")
    types = sorted({t for r in results.values() for w in ("cli", "anchor") for t in r[w]["events"]})
    lines.append("events per type (cli / anchor), per instance:")
    for t in types:
        lines.append(f"  {t:34s} " + "  ".join(
            f"{r['cli']['events'].get(t, 0):5d}/{r['anchor']['events'].get(t, 0):<5d}" for r in results.values()))
    for variant, r in results.items():
        for what in ("cli", "anchor"):
            pg, proxy = r[what].get("postgres"), r[what].get("proxy")
            if pg:
                lines.append(f"  {variant} {what}: postgres sessions {pg['sessions']}, commits {pg['xact_commit']}, "
                             f"rollbacks {pg['xact_rollback']}, rows inserted {pg['tup_inserted']}, "
                             f"updated {pg['tup_updated']}, fetched {pg['tup_fetched']}")
            if proxy:
                lines.append(f"  {variant} {what}: proxy connections {proxy['connections']}, round trips (client "
                             f"chunks) {proxy['chunks_to_server']}, {proxy['bytes_to_server'] / 1e6:.1f} MB up, "
                             f"{proxy['bytes_to_client'] / 1e6:.1f} MB down, mean added delay "
                             f"{proxy['mean_delay_ms']:.2f} ms" + (f", errors {proxy['errors']}" if proxy['errors'] else ""))
    if "postgres" in results and "postgres-stock" in results:
        lines.append(f"  cli on postgres / anchor on postgres-stock (same server, stock storage): "
                     f"{results['postgres']['cli']['seconds'] / results['postgres-stock']['anchor']['seconds']:.2f}")
    if "postgres" in results and "postgres-latency" in results:
        for what in ("cli", "anchor"):
            base, slow = results["postgres"][what], results["postgres-latency"][what]
            trips = slow["proxy"]["chunks_to_server"]
            extra = slow["seconds"] - base["seconds"]
            held = slow["proxy"]["delayed_seconds"]
            lines.append(f"  latency cost, {what}: measured +{extra:.2f}s against postgres for {trips} round trips "
                         f"({1000 * extra / trips if trips else float('nan'):.2f} ms each); the proxy held the "
                         f"requests {held:.2f}s in all; time ~ {base['seconds']:.1f}s + {trips} x round-trip latency")
    return "\n".join(lines)


def season_partitions(start: str, end: str) -> dict:
    """The deployment's partitions: the measured season (the e2e stack's default is the demo's)."""
    return {"NBA_PRECOMPUTE_START_DATE": start, "NBA_PRECOMPUTE_END_DATE": end}


def ui_backfill(work: Path, source: Path, start: str, end: str) -> dict:
    """The season launched as the UI does it, on a real webserver + daemon; seconds from the launch
    to a terminal backfill status, and from the instance where they went."""
    import datetime as dt

    import dagster as dg

    from nba_precompute.registry import ASSET_NAMES as ASSETS
    from nba_precompute_tests.e2e import stack as e2e

    w, home = fresh(work, source, "ui")
    logs = home.parent / "logs"
    logs.mkdir()
    first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    keys = [(first + dt.timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
    t_up = time.perf_counter()
    with e2e.running(home, w, logs, extra_env=season_partitions(start, end)) as stack:
        ready = time.perf_counter() - t_up
        sampler = PeakRss([p.pid for p in stack.processes.values()])
        sampler.start()
        launched, t0 = time.time(), time.perf_counter()
        try:
            backfill_id = e2e.launch_backfill(stack, ASSETS, keys, f"benchmark {start}..{end}", "benchmark")
            b = e2e.wait_backfill(stack, backfill_id, UI_TIMEOUT)
            seconds = time.perf_counter() - t0
        finally:
            memory = sampler.stop()
        with stack.instance() as instance:
            record_of_backfill = instance.get_backfill(backfill_id)
            runs = []
            for run in instance.get_runs(filters=dg.RunsFilter(tags={"dagster/backfill": backfill_id})):
                record = instance.get_run_record_by_id(run.run_id)
                starting = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_STARTING)
                steps = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_START)
                runs.append({
                    "run_id": run.run_id, "status": run.status.value,
                    "created": record.create_timestamp.timestamp() - launched,
                    "launched": starting[0].timestamp - launched if starting else None,
                    "started": record.start_time - launched if record.start_time else None,
                    "first_step": min(e.timestamp for e in steps) - launched if steps else None,
                    "ended": record.end_time - launched if record.end_time else None,
                })
    counts = {s["assetKey"]["path"][-1]: {k: v for k, v in s.items() if k.startswith("num")}
              for s in b["assetBackfillData"]["assetBackfillStatuses"] if s["__typename"] == "AssetPartitionsStatusCounts"}

    def first_of(key, pick=min):
        values = [r[key] for r in runs if r[key] is not None]
        return pick(values) if values else None

    started, ended = first_of("started"), first_of("ended", max)
    completed = b["endTimestamp"] - launched if b["endTimestamp"] else None
    # the three phases, from the instance's backfill and run records only
    recorded_launch = record_of_backfill.backfill_timestamp - launched
    recorded_end = (record_of_backfill.backfill_end_timestamp - launched
                    if record_of_backfill.backfill_end_timestamp else None)
    created = first_of("created")
    phases = {
        "launch_to_pickup": created - recorded_launch if created is not None else None,
        "pickup_to_run_start": started - created if started is not None and created is not None else None,
        "run": ended - started if started is not None and ended is not None else None,
        "run_end_to_close": recorded_end - ended if recorded_end is not None and ended is not None else None,
    }
    result = {
        "seconds": seconds, "status": b["status"], "backfill_id": backfill_id, "runs": len(runs),
        "stack_ready_seconds": ready,
        "launch_to_backfill_created": b["timestamp"] - launched,
        "launch_to_run_created": first_of("created"),
        "launch_to_run_launched": first_of("launched"),
        "launch_to_run_started": started,
        "launch_to_first_step": first_of("first_step"),
        "run_seconds": ended - started if started is not None and ended is not None else None,
        "launch_to_run_ended": ended,
        "run_end_to_backfill_completed": completed - ended if completed is not None and ended is not None else None,
        "launch_to_backfill_completed": completed,
        "phases": phases,
        "max_rss_mib": memory["run_worker_max_rss_mib"], **memory,
        "per_run": runs, "partitions": counts,
    }
    peak = result["max_rss_mib"]
    print(f"  {'ui backfill (daemon)':28s} {seconds:7.2f}s  peak {peak if peak else float('nan'):7.0f} MiB"
          f"  (run worker; {b['status']}, {len(runs)} run(s))", flush=True)
    return result


def ui_single_run(work: Path, source: Path, start: str, end: str) -> dict:
    """The season launched from the UI's launchpad as one ranged run: through the run queue, not
    the backfill daemon; seconds from the launch to the run's terminal status."""
    from nba_precompute.registry import ASSET_NAMES as ASSETS
    from nba_precompute_tests.e2e import stack as e2e

    w, home = fresh(work, source, "ui_single_run")
    logs = home.parent / "logs"
    logs.mkdir()
    with e2e.running(home, w, logs, extra_env=season_partitions(start, end)) as stack:
        t0 = time.perf_counter()
        run_id = e2e.launch_single_run(stack, ASSETS, start, end, "benchmark")
        run = e2e.wait_run(stack, run_id, UI_TIMEOUT)
        seconds = time.perf_counter() - t0
    # FAILURE is the season's genuine gaps failing the run at its end (PRECOMPUTE.md §4), as for the CLI
    if run["status"] not in ("SUCCESS", "FAILURE"):
        sys.exit(f"ui single run {run_id} ended {run['status']}")
    print(f"  {'ui single run (run queue)':28s} {seconds:7.2f}s  (run {run['endTime'] - run['startTime']:.1f}s "
          f"start -> end; {run['status']})", flush=True)
    return {"seconds": seconds, "run_id": run_id, "status": run["status"],
            "run_seconds": run["endTime"] - run["startTime"]}


def ui_breakdown(ui: dict) -> str:
    def s(key):
        return "n/a" if ui[key] is None else f"{ui[key]:.1f}s"

    def mib(key):
        return "n/a" if ui[key] is None else f"{ui[key]:.0f} MiB"

    def phase(key):
        return "n/a" if ui["phases"][key] is None else f"{ui['phases'][key]:.1f}s"

    return "\n".join([
        f"ui backfill {ui['backfill_id']}: {ui['status']}, {ui['runs']} run(s); from the instance's records: "
        f"launch -> pickup (backfill daemon creates the run) {phase('launch_to_pickup')}, pickup -> run start "
        f"(queue, worker) {phase('pickup_to_run_start')}, run {phase('run')}, run end -> backfill closed "
        f"{phase('run_end_to_close')}",
        "  from the launch:",
        f"  backfill created {s('launch_to_backfill_created')}, run created {s('launch_to_run_created')}, "
        f"run launched {s('launch_to_run_launched')}, run started {s('launch_to_run_started')}, first step "
        f"{s('launch_to_first_step')}, run ended {s('launch_to_run_ended')}, backfill completed "
        f"{s('launch_to_backfill_completed')} (polled: {ui['seconds']:.1f}s)",
        f"  run {s('run_seconds')} (start -> end); run end -> backfill completed {s('run_end_to_backfill_completed')}",
        f"  webserver + daemon ready {ui['stack_ready_seconds']:.1f}s before the launch (not counted); peak RSS: "
        f"run worker {mib('run_worker_max_rss_mib')}, largest deployment process {mib('deployment_max_rss_mib')}",
    ])


def instance_list(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = sorted(set(names) - set(INSTANCES))
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown instance(s) {', '.join(unknown)}; choose from {', '.join(INSTANCES)}")
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--per-partition-dates", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--skip-ui", action="store_true", help="leave out the UI backfill (webserver + daemon)")
    parser.add_argument("--instances", type=instance_list, default=list(INSTANCES),
                        help=f"Dagster instances to measure the CLI season and the anchor on (default: "
                             f"{','.join(INSTANCES)}; empty: none)")
    parser.add_argument("--instances-only", action="store_true",
                        help="only the instance variants (no bare compute, per-partition, two seasons, UI)")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="run each instance variant's CLI and anchor under cProfile, stats in DIR (not a baseline)")
    parser.add_argument("--end", help="last date (default: the season's last; an earlier one for a quick try only)")
    args = parser.parse_args()
    season = "nba-2022-23"
    start, end = SEASONS[season]
    end = args.end or end
    work = Path(tempfile.mkdtemp(prefix="nba-bench-"))
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"season {season}: {start}..{end}; work dir {work}")
    one = loaded_warehouse(work, args.data, [season])
    results: dict = {}
    if not args.instances_only:
        legacy(results, work, args, one, start, end)
    if args.instances:
        with contextlib.ExitStack() as stack:
            instances = Instances(stack)
            if args.profile:
                args.profile.mkdir(parents=True, exist_ok=True)
            results["instances"] = {v: instance_variant(instances, v, work, one, start, end, args.profile)
                                    for v in args.instances}
        print("\ninstances (each: the CLI season and the anchor on the same kind of storage, one run each):")
        print(instances_table(results["instances"]))
        results["ratios"] = {**results.get("ratios", {}), **{
            f"cli / anchor on {v}": r["ratio"] for v, r in results["instances"].items()}}
    print("ratios:")
    for name, value in results.get("ratios", {}).items():
        print(f"  {name:45s} {value:6.2f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    shutil.rmtree(work, ignore_errors=True)


def legacy(results: dict, work: Path, args, one: Path, start: str, end: str) -> None:
    """The measures of the CLI on a fresh project home (the local instance created on first use, as a
    new user's first run) against the anchor on a fresh stock home, the bare compute, one run per
    date, two seasons and the UI paths."""
    both = loaded_warehouse(work, args.data, list(SEASONS))
    w, home = fresh(work, one, "anchor")
    results["anchor"] = timed([PY, "benchmarks/anchor.py", start, end, str(w)],
                              clean_env(home, w, False), "anchor (stock Dagster)")
    w, home = fresh(work, one, "bare")
    results["bare"] = timed([PY, "-c", BARE, str(w), start, end], clean_env(home, w, True), "bare compute")
    w, home = fresh(work, one, "cli")
    results["cli"] = timed(CLI + ["backfill", "--allow-gaps", "--start", start, "--end", end], clean_env(home, w, True),
                           "cli backfill, one season")
    if not args.skip_ui:
        results["ui"] = ui_backfill(work, one, start, end)
        results["ui_single_run"] = ui_single_run(work, one, start, end)

    w, home = fresh(work, one, "per_partition")
    dates = ["2022-11-15", "2022-12-15", "2023-01-15", "2023-02-15", "2023-03-15"][: args.per_partition_dates]
    per = [timed(CLI + ["backfill", "--allow-gaps", "--start", d, "--end", d], clean_env(home, w, True), f"one run for {d}")
           for d in dates]
    n_dates = (__import__("datetime").date.fromisoformat(end) - __import__("datetime").date.fromisoformat(start)).days + 1
    per_date = sum(p["seconds"] for p in per) / len(per)
    results["per_partition"] = {"seconds_per_date": per_date, "extrapolated_season_seconds": per_date * n_dates}

    w, home = fresh(work, both, "two")
    env = clean_env(home, w, True)
    two = [timed(CLI + ["backfill", "--allow-gaps", "--start", a, "--end", b], env, f"cli backfill {name}")
           for name, (a, b) in SEASONS.items()]
    results["two_seasons"] = {"seconds": sum(t["seconds"] for t in two),
                              "max_rss_mib": max(t["max_rss_mib"] or 0 for t in two)}

    cli, anchor, bare = results["cli"]["seconds"], results["anchor"]["seconds"], results["bare"]["seconds"]
    ratios = {
        "cli / anchor (target <= 0.6)": cli / anchor,
        "cli / bare compute (target <= 1.5)": cli / bare,
        "two seasons / one season (target <= 2.2)": results["two_seasons"]["seconds"] / cli,
        "per-partition extrapolated / cli ranged": results["per_partition"]["extrapolated_season_seconds"] / cli,
    }
    if "ui" in results:
        ratios["ui / cli"] = results["ui"]["seconds"] / cli
        ratios["ui seconds - cli seconds (target <= 60)"] = results["ui"]["seconds"] - cli
        ratios["ui single run seconds - cli seconds"] = results["ui_single_run"]["seconds"] - cli
    results["ratios"] = ratios
    print(f"\nper-partition: {per_date:.2f}s a date -> {per_date * n_dates:.0f}s for the season's {n_dates} dates")
    if "ui" in results:
        print(ui_breakdown(results["ui"]))


if __name__ == "__main__":
    main()
