"""deploy/dagster.yaml on a real PostgreSQL server: a backfill through the instance, and the
partition statuses, gap observations and per-run check evaluations read back from Postgres."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pytest

from nba_precompute.automation import latest_gaps
from nba_precompute_demo.season import NOV_2021_GAP_DATES

pytestmark = pytest.mark.postgres

START, END = "2021-11-05", "2021-11-12"
GAP = "2021-11-09"  # upcoming team context missing in the nov-2021-gaps scenario


def test_deploy_instance_uses_postgres_for_runs_events_and_schedules(deployment):
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

    instance = deployment.instance()
    try:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
        assert instance.event_log_storage.supports_global_concurrency_limits
        config = instance.get_concurrency_config()
        assert config.pool_config.pool_granularity.value == "op"
        assert config.pool_config.default_pool_limit == 1
        assert config.run_queue_config.max_concurrent_runs == 6
        # dead run workers are failed, and slots a finished run still holds are freed
        assert instance.run_monitoring_enabled
        assert instance.run_monitoring_settings["free_slots_after_run_end_seconds"] == 300
    finally:
        instance.dispose()


def test_a_backfill_against_the_postgres_instance_records_gaps_and_per_run_checks(deployment):
    done = deployment.cli("backfill", "--start", START, "--end", END)
    # EXIT_GAPS: the scenario's 2021-11-09 and -11 gaps
    assert done.returncode == 3, done.stdout[-3000:] + done.stderr[-3000:]

    instance = deployment.instance()
    try:
        runs = instance.get_runs()
        assert len(runs) == 1 and runs[0].status == dg.DagsterRunStatus.FAILURE  # fails at its end: the gaps
        assert runs[0].tags["dagster/asset_partition_range_start"] == START
        dates = [d.strftime("%Y-%m-%d") for d in pd.date_range(START, END)]
        materialized = {a: instance.get_materialized_partitions(dg.AssetKey(a)) for a in ("psza", "tdza", "pcf", "mlfs")}
        gaps = {g for g in (str(d) for d in NOV_2021_GAP_DATES) if START <= g <= END}
        assert GAP in gaps
        for asset in ("psza", "tdza"):  # every calendar date of the window after bootstrap
            assert materialized[asset] == set(dates), asset
        for asset in ("pcf", "mlfs"):
            assert GAP not in materialized[asset], asset
            assert not gaps & materialized[asset], asset
            assert {"2021-11-08", "2021-11-10"} <= materialized[asset], asset
            # the gap dates, and only they, are observed with their cause
            observed = {d: latest_gaps(instance, [asset], d).get(asset) for d in dates}
            assert {d for d, o in observed.items() if o} == gaps, asset
            assert observed[GAP][1]["failure_category"].value == "MISSING_DEPENDENCY"
        assert not any(latest_gaps(instance, ["psza"], d) for d in dates)
        # the named checks: one unpartitioned evaluation each for the run
        history = instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(dg.AssetKey("psza"), "primary_key_unique"), limit=10)
        assert [(r.partition, r.status.value) for r in history] == [(None, "SUCCEEDED")]
    finally:
        instance.dispose()

    # the warehouse agrees: no pcf rows on the gap date, a DATE_LEVEL failure instead
    import duckdb

    con = duckdb.connect(str(deployment.warehouse), read_only=True)
    try:
        pcf = con.execute("SELECT count(*) FROM nba_precompute.player_composite_factors "
                          "WHERE analysis_date = ?", [GAP]).fetchone()[0]
        failure = con.execute("SELECT failure_category FROM nba_processing.precompute_failures "
                              "WHERE processor_name = 'pcf' AND analysis_date = ? AND entity_id = 'DATE_LEVEL'",
                              [GAP]).fetchall()
    finally:
        con.close()
    assert pcf == 0 and failure == [("MISSING_DEPENDENCY",)]
