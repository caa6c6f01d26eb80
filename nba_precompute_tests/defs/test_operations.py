"""The operations sensors' Dagster wiring on a real instance and a real DuckDB file: the run-failure
sensor alerts the genuine gaps a failed run wrote (read from the failure table, not from text),
once; a dead webhook never fails it; the arrival sensor reports Phase 3 dates as runless
materializations and its cursor is the arrival JSON cursor."""

import datetime as dt
import json

import dagster as dg
import duckdb
import pandas as pd
import pytest

from nba_precompute.defs import operations as ops
from nba_precompute.defs.phase4 import build_phase4_assets
from nba_precompute.failures import DATE_LEVEL
from nba_precompute.operations import arrival as ar
from nba_precompute.phase3.contract import PHASE3_TABLES, SCHEDULE
from nba_precompute.phase3.specs import asset_key
from nba_precompute.tables import FAILURES
from nba_precompute.warehouse.duckdb import DuckDBWarehouse
from nba_precompute_tests.conftest import load_real_season
from nba_precompute_tests.operations.test_alerts import Server


@pytest.fixture
def inst():
    instance = dg.DagsterInstance.ephemeral()
    yield instance
    instance.dispose()


def failed_run(inst, wh) -> dg.DagsterRun:
    """A real Phase 4 run that fails (the warehouse has no schedule)."""
    out = dg.materialize([build_phase4_assets("duckdb")], partition_key="2023-01-10", instance=inst,
                         resources={"warehouse": wh}, raise_on_error=False)
    assert not out.success
    return inst.get_run_by_id(out.run_id)


def record_gap(wh, run_id: str, asset: str, day: str, category: str, reason: str):
    wh.ensure_tables([FAILURES])
    with duckdb.connect(wh.database) as con:
        con.execute(f"INSERT INTO {FAILURES.fqn} (processor_name, run_id, analysis_date, entity_id, failure_category, "
                    "failure_reason, can_retry, created_at) VALUES (?, ?, ?, ?, ?, ?, true, now())",
                    [asset, run_id, dt.date.fromisoformat(day), DATE_LEVEL, category, reason])


def on_failure(inst, wh, run):
    event = inst.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)[0].get_dagster_event()
    ctx = dg.build_run_status_sensor_context(ops.RUN_FAILURE_SENSOR, event, inst, run, resources={"warehouse": wh})
    ops.build_run_failure_sensor()(ctx)


def test_a_failed_run_alerts_each_genuine_gap_it_recorded_once_and_never_the_bootstrap(tmp_path, inst, monkeypatch):
    wh = DuckDBWarehouse(database=str(tmp_path / "w.duckdb"))
    run = failed_run(inst, wh)
    record_gap(wh, run.run_id, "pcf", "2023-01-10", "MISSING_DEPENDENCY", "Missing UTGC for 2023-01-10 (0 rows, need 16)")
    record_gap(wh, run.run_id, "mlfs", "2023-01-10", "PROCESSING_ERROR", "ValueError: boom")
    record_gap(wh, run.run_id, "psza", "2023-01-10", "BOOTSTRAP_PERIOD", "Bootstrap period")
    record_gap(wh, "another-run", "tdza", "2023-01-10", "PROCESSING_ERROR", "not this run's")
    with Server() as hook:
        monkeypatch.setenv("NBA_PRECOMPUTE_ALERT_WEBHOOK_URL", hook.url + "/hook")
        on_failure(inst, wh, run)
        on_failure(inst, wh, run)  # the daemon retrying the same failure sends nothing twice
    bodies = [json.loads(r["body"]) for r in hook.requests]
    assert sorted((b["cause"], b["asset"], b["date"], b["category"]) for b in bodies) == [
        ("GENUINE_GAP", "mlfs", "2023-01-10", "PROCESSING_ERROR"),
        ("GENUINE_GAP", "pcf", "2023-01-10", "MISSING_DEPENDENCY"),
    ]
    assert all(b["repair"].startswith("nba-precompute backfill --start 2023-01-10") for b in bodies)


def test_a_failed_run_without_gaps_sends_one_run_failed_alert_and_a_dead_webhook_fails_nothing(tmp_path, inst, monkeypatch):
    wh = DuckDBWarehouse(database=str(tmp_path / "w.duckdb"))
    run = failed_run(inst, wh)
    monkeypatch.setenv("NBA_PRECOMPUTE_ALERT_WEBHOOK_URL", "http://127.0.0.1:9/dead")
    on_failure(inst, wh, run)  # no exception; not recorded as sent
    with Server() as hook:
        monkeypatch.setenv("NBA_PRECOMPUTE_ALERT_WEBHOOK_URL", hook.url + "/hook")
        on_failure(inst, wh, run)
    [body] = [json.loads(r["body"]) for r in hook.requests]
    assert (body["cause"], body["date"], body["run_id"]) == ("RUN_FAILED", "2023-01-10..2023-01-10", run.run_id)
    assert SCHEDULE.fqn in body["reason"] + " ".join(body["root_cause"])


@pytest.mark.shared_data
def test_arrival_reports_each_new_phase3_date_once_as_a_runless_materialization(tmp_path, inst, monkeypatch):
    monkeypatch.setenv(ops.LOOKBACK_ENV, "3")
    season = load_real_season("nba-2022-23")
    wh = DuckDBWarehouse(database=str(tmp_path / "w.duckdb"))
    frames = {t: season[t.fqn][pd.to_datetime(season[t.fqn][t.date_column]) <= "2023-01-10"] for t in PHASE3_TABLES}
    wh.replace_date_range(frames, dt.date(1900, 1, 1), dt.date(2999, 12, 31))
    sensor = ops.build_arrival_sensor(lambda: dt.datetime(2023, 1, 10, 13, tzinfo=dt.timezone.utc))
    ctx = dg.build_sensor_context(instance=inst, resources={"warehouse": wh})
    requests = sensor(ctx)
    assert [(r.partition_key, len(r.asset_selection)) for r in requests] == [
        ("2023-01-08", 5), ("2023-01-09", 5), ("2023-01-10", 5)]
    ar.Cursor.from_json(ctx.cursor)  # the arrival JSON cursor
    utgc = [t for t in PHASE3_TABLES if t.fqn == ar.UTGC][0]
    dates = sorted(inst.get_materialized_partitions(asset_key(utgc)))
    assert dates[-1] == "2023-01-10" and len(dates) == pd.to_datetime(frames[utgc]["game_date"]).nunique()
    # a second tick with nothing new reports nothing and requests nothing
    count = len(inst.fetch_materializations(asset_key(utgc), limit=10000).records)
    again = dg.build_sensor_context(instance=inst, cursor=ctx.cursor, resources={"warehouse": wh})
    assert isinstance(sensor(again), dg.SkipReason)
    assert len(inst.fetch_materializations(asset_key(utgc), limit=10000).records) == count


@pytest.mark.shared_data
def test_the_freshness_check_executed_alone_evaluates_the_window_without_computing_anything(tmp_path, inst, monkeypatch):
    """The UI's "Execute checks" on freshness_deadline: a run of the Phase 4 multi-asset with only
    that check selected, no partition; it evaluates the lookback window and materializes nothing."""
    monkeypatch.setenv(ops.LOOKBACK_ENV, "2")
    monkeypatch.setattr(ops, "utc_now", lambda: dt.datetime(2023, 1, 11, 23, tzinfo=dt.timezone.utc))
    season = load_real_season("nba-2022-23")
    wh = DuckDBWarehouse(database=str(tmp_path / "w.duckdb"))
    wh.replace_date_range({SCHEDULE: season[SCHEDULE.fqn]}, dt.date(1900, 1, 1), dt.date(2999, 12, 31))
    inst.report_runless_asset_event(dg.AssetMaterialization("mlfs", partition="2023-01-10"))
    assets = build_phase4_assets("duckdb")
    key = dg.AssetCheckKey(dg.AssetKey("mlfs"), ops.FRESHNESS_CHECK)
    result = dg.materialize([assets], instance=inst, resources={"warehouse": wh}, selection=dg.AssetSelection.checks(key))
    assert result.success
    (evaluation,) = result.get_asset_check_evaluations()
    # 2023-01-10 (materialized; its timestamp is today's wall clock, so late) and 2023-01-11 (missed)
    assert (evaluation.asset_check_key, evaluation.passed) == (key, False)
    assert evaluation.metadata["missed_dates"].value == ["2023-01-11"]
    assert evaluation.metadata["late_dates"].value == ["2023-01-10"]
    assert result.get_asset_materialization_events() == []
