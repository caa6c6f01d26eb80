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

and prints the ratios the targets are stated in, with peak memory (max RSS) of each process.
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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
CLI = [PY, "-m", "nba_precompute.cli"]
SEASONS = {"nba-2021-22": ("2021-10-19", "2022-04-10"), "nba-2022-23": ("2022-10-18", "2023-04-09")}

BARE = """
import sys, time, pandas as pd
from nba_precompute.pipeline import materialize_range
from nba_precompute.season import SeasonCalendar
from nba_precompute.phase3.contract import SCHEDULE
from nba_precompute.settings import ASSETS
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--per-partition-dates", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the results here")
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
    results["ratios"] = ratios
    print(f"\nper-partition: {per_date:.2f}s a date -> {per_date * n_dates:.0f}s for the season's {n_dates} dates")
    print("ratios:")
    for name, value in ratios.items():
        print(f"  {name:45s} {value:6.2f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
