"""A week in the life: real 2022-23 Phase 3 data lands day by day into a real DuckDB warehouse, the
operations sensors tick in order with a fixed clock (dg.build_sensor_context on a real instance),
their run requests are executed as real in-process Phase 4 runs, and a webhook server on
127.0.0.1 receives the alerts.

The week 2023-01-16..22 follows a one-run bootstrap of 2023-01-06..15 (the volume band needs
reference dates). Each morning at 13:00 UTC the game results of D-1 and the upcoming tables of D
land. On 2023-01-18 UTGC lands four hours late (17:30 -> 21:30 UTC, past the 16:00 ET = 21:00 UTC
deadline); on 2023-01-20 the UPCG slate is 20% short (every team keeps 80% of its players).
Asserted: the runs, the alerts the webhook received, the freshness check's miss and healing, the
named volume check's WARN failure on the short day, and the week's coverage.
"""

import datetime as dt
import json
import time

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from nba_precompute.coverage import status as st
from nba_precompute.coverage.load import load_coverage
from nba_precompute.defs import operations as ops
from nba_precompute.defs import phase4 as phase4_module
from nba_precompute.defs.phase4 import build_phase4_assets
from nba_precompute.operations import arrival as ar
from nba_precompute.phase3.contract import PHASE3_TABLES, SCHEDULE
from nba_precompute.registry import ASSET_NAMES
from nba_precompute.warehouse.duckdb import DuckDBWarehouse
from nba_precompute_tests.conftest import load_real_season
from nba_precompute_tests.operations.test_alerts import Server

pytestmark = pytest.mark.shared_data

WEEK = [str(d.date()) for d in pd.date_range("2023-01-16", "2023-01-22")]
BOOTSTRAP = ("2023-01-06", "2023-01-15")
LATE_UTGC_DAY, SHORT_UPCG_DAY = "2023-01-18", "2023-01-20"
UTC = dt.timezone.utc


@pytest.fixture
def webhook(monkeypatch):
    """A real HTTP server on 127.0.0.1 receiving the alerts."""
    with Server() as hook:
        monkeypatch.setenv("NBA_PRECOMPUTE_ALERT_WEBHOOK_URL", hook.url + "/hook")
        yield hook


def received(hook) -> list[dict]:
    return [json.loads(r["body"]) for r in hook.requests]


class Clock:
    def __init__(self):
        self.now = dt.datetime(2023, 1, 15, 12, tzinfo=dt.timezone.utc)  # the day before the week

    def at(self, day: str, hhmm: str):
        self.now = dt.datetime.fromisoformat(f"{day}T{hhmm}:00+00:00")

    def __call__(self):
        return self.now


def slice_of(frame: pd.DataFrame, table, start: str, end: str) -> pd.DataFrame:
    dates = pd.to_datetime(frame[table.date_column]).dt.strftime("%Y-%m-%d")
    return frame[(dates >= start) & (dates <= end)]


def thin(frame: pd.DataFrame, share: float) -> pd.DataFrame:
    """Keep (1 - share) of each team's players (the first ones by player id)."""
    keep = []
    for _, g in frame.sort_values("player_lookup").groupby("team_abbr"):
        keep.append(g.head(int(np.ceil(len(g) * (1 - share)))))
    return pd.concat(keep)


def test_a_week_runs_phase4_when_inputs_land_and_alerts_exactly_the_late_and_short_days(tmp_path, webhook, monkeypatch):
    monkeypatch.setenv(ops.LOOKBACK_ENV, "1")
    season = load_real_season("nba-2022-23")
    tables = {t.fqn: t for t in PHASE3_TABLES}
    wh = DuckDBWarehouse(database=str(tmp_path / "warehouse.duckdb"))
    inst = dg.DagsterInstance.ephemeral()
    phase4 = build_phase4_assets("duckdb")
    history_reads = []  # (start, end) of each Phase 4 step's trailing-history count query
    read_counts = phase4_module.volume_counts
    monkeypatch.setattr(phase4_module, "volume_counts",
                        lambda w, start, end, *a: history_reads.append((str(start), str(end))) or read_counts(w, start, end, *a))
    clock = Clock()
    monkeypatch.setattr(ops, "utc_now", clock)  # the runs' own freshness evaluations share the clock
    arrival, freshness = ops.build_arrival_sensor(clock), ops.build_freshness_sensor(clock)
    volume = ops.build_volume_sensor(clock)
    cursors: dict[str, str | None] = {}
    runs: list[tuple[str, tuple[str, ...], str]] = []  # (date, assets, simulated time)

    def land(fqn: str, start: str, end: str, frame=None):
        t = tables[fqn]
        wh.replace_date_range({t: slice_of(season[fqn] if frame is None else frame, t, start, end)},
                              dt.date.fromisoformat(start), dt.date.fromisoformat(end))

    def tick(sensor):
        ctx = dg.build_sensor_context(instance=inst, cursor=cursors.get(sensor.name), resources={"warehouse": wh})
        result = sensor(ctx)
        cursors[sensor.name] = ctx.cursor
        return result if isinstance(result, list) else []

    def execute(requests):
        for r in requests:
            assets = tuple(k.path[-1] for k in r.asset_selection)
            out = dg.materialize([phase4], partition_key=r.partition_key, selection=list(r.asset_selection),
                                 instance=inst, resources={"warehouse": wh}, raise_on_error=False)
            assert out.success, f"run for {r.partition_key} {assets} failed"
            runs.append((r.partition_key, assets, clock.now.isoformat()))

    # bootstrap: the whole schedule, Phase 3 through the morning of 01-15, one ranged Phase 4 run
    wh.replace_date_range({SCHEDULE: season[SCHEDULE.fqn]}, dt.date(1900, 1, 1), dt.date(2999, 12, 31))
    for fqn in tables:
        if fqn != SCHEDULE.fqn:
            land(fqn, "2022-10-01", "2023-01-14" if fqn not in (ar.UPCG, ar.UTGC) else BOOTSTRAP[1])
    started = time.perf_counter()
    boot = dg.materialize([phase4], instance=inst, resources={"warehouse": wh}, tags={
        "dagster/asset_partition_range_start": BOOTSTRAP[0], "dagster/asset_partition_range_end": BOOTSTRAP[1]})
    assert boot.success
    bootstrap_seconds = time.perf_counter() - started

    alerts_by_day = {}
    started = time.perf_counter()
    for day in WEEK:
        before = len(webhook.requests)
        yesterday = str((pd.Timestamp(day) - pd.Timedelta(days=1)).date())
        clock.at(day, "13:00")
        for fqn in (ar.PGS, ar.TOGS, ar.TDGS):
            land(fqn, yesterday, yesterday)
        upcg = season[ar.UPCG]
        if day == SHORT_UPCG_DAY:
            upcg = thin(slice_of(upcg, tables[ar.UPCG], day, day), 0.2)
        land(ar.UPCG, day, day, upcg)
        if day != LATE_UTGC_DAY:
            land(ar.UTGC, day, day)
        clock.at(day, "13:05")
        execute(tick(arrival))
        clock.at(day, "21:15")  # past the 16:00 ET deadline
        tick(freshness)
        tick(volume)
        if day == LATE_UTGC_DAY:
            clock.at(day, "21:30")
            land(ar.UTGC, day, day)
            clock.at(day, "21:35")
            execute(tick(arrival))
            clock.at(day, "21:40")
            tick(freshness)
        clock.at(day, "23:00")  # the next ticks send nothing twice
        tick(arrival), tick(freshness), tick(volume)
        alerts_by_day[day] = [(m["cause"], m["asset"], m["date"]) for m in received(webhook)[before:]]
    week_seconds = time.perf_counter() - started

    # Phase 4 ran exactly when the inputs of each asset were complete
    late_morning = [r for r in runs if r[0] == LATE_UTGC_DAY]
    assert [(r[1], r[2][11:16]) for r in late_morning] == [(("psza", "tdza", "pdc"), "13:05"), (("pcf", "mlfs"), "21:35")]
    others = [r for r in runs if r[0] != LATE_UTGC_DAY]
    assert [(r[0], r[1], r[2][11:16]) for r in others] == [(d, tuple(ASSET_NAMES), "13:05") for d in WEEK if d != LATE_UTGC_DAY]

    # exactly the late day's freshness misses (one per asset with a deadline) and the short slate's anomalies
    assert {d: sorted(a) for d, a in alerts_by_day.items() if a} == {
        LATE_UTGC_DAY: [("FRESHNESS_MISSED", "mlfs", LATE_UTGC_DAY), ("FRESHNESS_MISSED", "pcf", LATE_UTGC_DAY)],
        # pcf and mlfs are built from the UPCG slate; pdc's rows stay within its band on that date
        SHORT_UPCG_DAY: [("VOLUME_ANOMALY", "mlfs", SHORT_UPCG_DAY), ("VOLUME_ANOMALY", "pcf", SHORT_UPCG_DAY)],
    }
    assert len(received(webhook)) == 4
    for message in received(webhook):
        assert message["repair"].startswith("nba-precompute backfill") and message["reason"] and message["text"]

    # the freshness check failed for the late day, then healed when UTGC landed (the sensor's
    # runless evaluations); each run that built the asset evaluated it too, at its end: passed,
    # with the late day listed as late once it had landed
    for asset in ("pcf", "mlfs"):
        history = inst.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(dg.AssetKey(asset), ops.FRESHNESS_CHECK), limit=100)
        done = [r for r in reversed(history) if r.event.dagster_event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION]
        sensor = [r.event.get_dagster_event().event_specific_data for r in done if not r.run_id]
        assert [(e.metadata["partition"].value, e.metadata["status"].value, e.passed) for e in sensor] == [
            (LATE_UTGC_DAY, "MISSED", False), (LATE_UTGC_DAY, "LATE", True)]
        in_runs = [r.event.get_dagster_event().event_specific_data for r in done if r.run_id]
        assert len(in_runs) == 1 + len([r for r in runs if asset in r[1]]), asset  # the history run first
        # each week run evaluated its own day (lookback 1), materialized by then: passed
        assert [(e.passed, e.metadata["game_dates_checked"].value, e.metadata["missed_dates"].value)
                for e in in_runs[1:]] == [(True, 1, [])] * (len(in_runs) - 1), asset

    # the named volume check: its one evaluation per run failed (WARN) exactly for the short slate's
    # pcf and mlfs runs, naming that date; every week run evaluated its date against the band
    # drawn from the stored dates before it (the Phase 4 step's trailing history)
    for asset in ASSET_NAMES:
        history = inst.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(dg.AssetKey(asset), "volume"), limit=50)
        evaluations = [r.event.get_dagster_event().event_specific_data for r in reversed(history)
                       if r.event.dagster_event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION]
        assert len(evaluations) == 1 + len([r for r in runs if asset in r[1]]), asset
        failing = [(e.severity, [f["date"] for f in e.metadata["failures"].value]) for e in evaluations if not e.passed]
        short = asset in ("pcf", "mlfs")
        assert failing == ([(dg.AssetCheckSeverity.WARN, [SHORT_UPCG_DAY])] if short else []), asset
        assert [e.metadata["dates_evaluated"].value for e in evaluations[1:]] == [1] * len(WEEK), asset

    # one trailing-history query per run, ending the day before the run's first date
    day_before = [str((pd.Timestamp(r[0]) - pd.Timedelta(days=1)).date()) for r in runs]
    assert [end for _, end in history_reads] == ["2023-01-05"] + day_before

    # coverage ends COMPLETE or EXPLAINED: every (asset, date) of the week is accounted for
    cov = load_coverage(wh, dt.date.fromisoformat(WEEK[0]), dt.date.fromisoformat(WEEK[-1]), ASSET_NAMES)
    assert set(cov.report["status"]) <= {st.COMPLETE, st.EXPLAINED}, cov.report[["asset", "status"]]
    assert st.status_counts(cov.frame)[st.MISSING] == 0

    print(f"bootstrap run {bootstrap_seconds:.1f} s; week of {len(runs)} runs and ticks {week_seconds:.1f} s")
