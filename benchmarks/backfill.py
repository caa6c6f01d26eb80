"""Backfill performance, measured as ratios within one run (the machines are shared and noisy).

    .venv/bin/python benchmarks/backfill.py [--data ../shared/data] [--per-partition-dates 3]

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

and prints the ratios the targets are stated in, with peak memory (max RSS) of each process (for
`ui`, of the run worker, sampled from /proc).
"""

from __future__ import annotations

import argparse
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


def ui_backfill(work: Path, source: Path, start: str, end: str) -> dict:
    """The season launched as the UI does it, on a real webserver + daemon; seconds from the launch
    to a terminal backfill status, and from the instance where they went."""
    import datetime as dt

    import dagster as dg

        from nba_precompute_tests.e2e import stack as e2e

    w, home = fresh(work, source, "ui")
    logs = home.parent / "logs"
    logs.mkdir()
    first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    keys = [(first + dt.timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
    t_up = time.perf_counter()
    with e2e.running(home, w, logs) as stack:
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
        from nba_precompute_tests.e2e import stack as e2e

    w, home = fresh(work, source, "ui_single_run")
    logs = home.parent / "logs"
    logs.mkdir()
    with e2e.running(home, w, logs) as stack:
        t0 = time.perf_counter()
        run_id = e2e.launch_single_run(stack, ASSETS, start, end, "benchmark")
        run = e2e.wait_run(stack, run_id, UI_TIMEOUT)
        seconds = time.perf_counter() - t0
    if run["status"] != "SUCCESS":
        sys.exit(f"ui single run {run_id} ended {run['status']}")
    print(f"  {'ui single run (run queue)':28s} {seconds:7.2f}s  (run {run['endTime'] - run['startTime']:.1f}s "
          f"start -> end)", flush=True)
    return {"seconds": seconds, "run_id": run_id, "run_seconds": run["endTime"] - run["startTime"]}


def ui_breakdown(ui: dict) -> str:
    def s(key):
        return "n/a" if ui[key] is None else f"{ui[key]:.1f}s"

    def mib(key):
        return "n/a" if ui[key] is None else f"{ui[key]:.0f} MiB"

    return "\n".join([
        f"ui backfill {ui['backfill_id']}: {ui['status']}, {ui['runs']} run(s); from the launch:",
        f"  backfill created {s('launch_to_backfill_created')}, run created {s('launch_to_run_created')}, "
        f"run launched {s('launch_to_run_launched')}, run started {s('launch_to_run_started')}, first step "
        f"{s('launch_to_first_step')}, run ended {s('launch_to_run_ended')}, backfill completed "
        f"{s('launch_to_backfill_completed')} (polled: {ui['seconds']:.1f}s)",
        f"  run {s('run_seconds')} (start -> end); run end -> backfill completed {s('run_end_to_backfill_completed')}",
        f"  webserver + daemon ready {ui['stack_ready_seconds']:.1f}s before the launch (not counted); peak RSS: "
        f"run worker {mib('run_worker_max_rss_mib')}, largest deployment process {mib('deployment_max_rss_mib')}",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--per-partition-dates", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--skip-ui", action="store_true", help="leave out the UI backfill (webserver + daemon)")
    args = parser.parse_args()
    season = "nba-2022-23"
    start, end = SEASONS[season]
    work = Path(tempfile.mkdtemp(prefix="nba-bench-"))
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"season {season}: {start}..{end}; work dir {work}")
    one = loaded_warehouse(work, args.data, [season])
    both = loaded_warehouse(work, args.data, list(SEASONS))
    results: dict = {}

    w, home = fresh(work, one, "anchor")
    results["anchor"] = timed([PY, "benchmarks/anchor.py", start, end, str(w)],
                              clean_env(home, w, False), "anchor (stock Dagster)")
    w, home = fresh(work, one, "bare")
    results["bare"] = timed([PY, "-c", BARE, str(w), start, end], clean_env(home, w, True), "bare compute")
    w, home = fresh(work, one, "cli")
    results["cli"] = timed(CLI + ["backfill", "--start", start, "--end", end], clean_env(home, w, True),
                           "cli backfill, one season")
    if not args.skip_ui:
        results["ui"] = ui_backfill(work, one, start, end)
        results["ui_single_run"] = ui_single_run(work, one, start, end)

    w, home = fresh(work, one, "per_partition")
    dates = ["2022-11-15", "2022-12-15", "2023-01-15", "2023-02-15", "2023-03-15"][: args.per_partition_dates]
    per = [timed(CLI + ["backfill", "--start", d, "--end", d], clean_env(home, w, True), f"one run for {d}")
           for d in dates]
    n_dates = (__import__("datetime").date.fromisoformat(end) - __import__("datetime").date.fromisoformat(start)).days + 1
    per_date = sum(p["seconds"] for p in per) / len(per)
    results["per_partition"] = {"seconds_per_date": per_date, "extrapolated_season_seconds": per_date * n_dates}

    w, home = fresh(work, both, "two")
    env = clean_env(home, w, True)
    two = [timed(CLI + ["backfill", "--start", a, "--end", b], env, f"cli backfill {name}")
           for name, (a, b) in SEASONS.items()]
    results["two_seasons"] = {"seconds": sum(t["seconds"] for t in two),
                              "max_rss_mib": max(t["max_rss_mib"] or 0 for t in two)}

    cli, anchor, bare = results["cli"]["seconds"], results["anchor"]["seconds"], results["bare"]["seconds"]
    ratios = {
        "cli / anchor (target <= 0.6)": cli / anchor,
        "cli / bare compute (target <= 3)": cli / bare,
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
    print("ratios:")
    for name, value in ratios.items():
        print(f"  {name:45s} {value:6.2f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
