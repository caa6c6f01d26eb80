"""Calibration of the volume check on real seasons: false anomalies and detection of a thin slate.

    .venv/bin/python benchmarks/volume_calibration.py [--data ../shared/data] [--override '{"z": 4}']

For each real season: load it into a fresh DuckDB warehouse and DAGSTER_HOME, backfill the five
assets over the season with the CLI, run `nba-precompute check` (its `volume` results: evaluated
dates and failing dates, printed as check_evaluated / check_failed), read the rows and entity
failures per (asset, date), and
evaluate the volume check with the defaults (the `volume` section of
nba_precompute/checks/thresholds.yaml).
The slate itself (UPCG players per date, against the teams scheduled) is evaluated too. Prints per
season and asset: evaluated dates, anomalies (= false alarms on real data, unless the date really
was thin), and the share of evaluated dates flagged when (a) the real rows are cut by 20% and (b)
the rows are 20% below the prediction.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from nba_precompute.checks.config import config_from_dict
from nba_precompute.failures import DATE_LEVEL
from nba_precompute.operations import volume as v
from nba_precompute.phase3.contract import SCHEDULE, UPCOMING_PLAYER_GAME_CONTEXT
from nba_precompute.season import SeasonCalendar
from nba_precompute.registry import ASSET_TABLES
from nba_precompute.tables import FAILURES

ROOT = Path(__file__).resolve().parents[1]
SEASONS = {"nba-2022-23": ("2022-10-01", "2023-04-15"), "nba-2021-22": ("2021-10-19", "2022-04-15")}
# (2021-10-19: the first daily partition, config.FIRST_SUPPORTED_OPENER; backfill refuses earlier dates)


def counts_of_season(folder: Path, start: str, end: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    with tempfile.TemporaryDirectory() as tmp:
        wh = Path(tmp) / "warehouse.duckdb"
        env = {**os.environ, "DAGSTER_HOME": str(Path(tmp) / "home")}
        Path(env["DAGSTER_HOME"]).mkdir()
        cli = [str(Path(sys.executable).parent / "nba-precompute"), "--warehouse", str(wh)]
        subprocess.run([*cli, "load-phase3", str(folder)], env=env, check=True, capture_output=True)
        # a real season has genuine gaps (backfill exits 1 for them): the counts are what matters
        done = subprocess.run([*cli, "backfill", "--start", start, "--end", end, "--allow-gaps"], env=env,
                              capture_output=True, text=True)
        if done.returncode not in (0, 3):
            raise SystemExit(f"{folder.name}: backfill exited {done.returncode}: {done.stderr.strip()[-500:]}")
        report = Path(tmp) / "check.json"
        subprocess.run([*cli, "check", "--start", start, "--end", end, "--json", str(report)], env=env,
                       capture_output=True)
        checked = pd.DataFrame(json.loads(report.read_text())["results"])
        con = duckdb.connect(str(wh), read_only=True)
        rows = pd.concat([con.execute(f"SELECT '{a}' AS asset, analysis_date AS date, COUNT(*) AS rows FROM {t.fqn} "
                                      "GROUP BY ALL").df() for a, t in ASSET_TABLES.items()])
        ef = con.execute(f"SELECT processor_name AS asset, analysis_date AS date, COUNT(*) AS entity_failures "
                         f"FROM {FAILURES.fqn} WHERE entity_id <> '{DATE_LEVEL}' GROUP BY ALL").df()
        sched = con.execute(f"SELECT * FROM {SCHEDULE.fqn}").df()
        slate = con.execute(f"SELECT game_date AS date, COUNT(DISTINCT player_lookup) AS rows "
                            f"FROM {UPCOMING_PLAYER_GAME_CONTEXT.fqn} GROUP BY ALL").df()
    counts = rows.merge(ef, on=["asset", "date"], how="left").fillna({"entity_failures": 0})
    return counts, sched, slate.assign(asset="pcf", entity_failures=0), checked[checked["check"] == "volume"]


def summary(results: pd.DataFrame) -> dict:
    e = results[results["evaluated"]]
    return {
        "evaluated": len(e),
        "anomalies": int(e["anomaly"].sum()),
        "anomaly_dates": [str(d.date()) for d in e.loc[e["anomaly"], "date"]],
        "real_cut_20pct_flagged": round(float((np.floor(0.8 * e["observed"]) < e["band_low"]).mean()), 3),
        "below_prediction_20pct_flagged": round(float((0.8 * e["expected"] < e["band_low"]).mean()), 3),
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--override", default="{}", help="JSON of volume settings over the defaults")
    ap.add_argument("--season", action="append", choices=list(SEASONS), help="only these seasons (default: all)")
    args = ap.parse_args()
    config = config_from_dict({"checks": {"volume": json.loads(args.override)}}).volume
    print(f"volume config: window {config.window}, z {config.z}, tolerance {config.min_tolerance}..{config.max_tolerance}")
    for season in args.season or list(SEASONS):
        start, end = SEASONS[season]
        counts, sched, slate, check = counts_of_season(Path(args.data) / season, start, end)
        cal = SeasonCalendar(sched)
        res = v.evaluate_counts(counts, cal, config)
        for asset, g in res.groupby("asset", sort=False):
            mine = check[check["asset"] == asset]
            cli = {"check_evaluated": int(mine["applicable"].sum()),
                   "check_failed": sorted(mine.loc[mine["result"] == "FAIL", "analysis_date"])}
            print(season, f"{asset:5s}", json.dumps(summary(g) | cli))
        print(season, "UPCG ", json.dumps(summary(v.evaluate(v.observations(slate, cal, config), config))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
