"""`nba-precompute backfill` on the November 2021 gap scenario: the cascade, --only, --dry-run."""

import datetime as dt
import os

import dagster as dg
import pandas as pd
import pytest

from dagster._core.storage.partition_status_cache import AssetPartitionStatus

from nba_precompute.automation import latest_gaps
from nba_precompute.backfill import EXIT_ERROR, EXIT_GAPS, EXIT_OK, plan_runs
from nba_precompute.partitions import daily_partitions
from nba_precompute.checks import CHECK_NAMES
from nba_precompute.cli import main
from nba_precompute.phase3.contract import UPCOMING_TEAM_GAME_CONTEXT
from nba_precompute_demo.season import NOV_2021_GAP_DATES, generate_season, write_season
from nba_precompute.phase3.loader import load_phase3
from nba_precompute.warehouse.duckdb import DuckDBWarehouse

START, END = "2021-11-05", "2021-11-30"
NOV_2021_GAP_DATES_ISO = [d.strftime("%Y-%m-%d") for d in pd.to_datetime(NOV_2021_GAP_DATES)]


@pytest.fixture
def gap_season(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NBA_PRECOMPUTE_WAREHOUSE", str(tmp_path / "w.duckdb"))
    write_season(tmp_path / "p3", season_year=2021, scenario="nov-2021-gaps")
    warehouse = DuckDBWarehouse(database=str(tmp_path / "w.duckdb"))
    load_phase3(tmp_path / "p3", warehouse)
    return warehouse


def date_level(warehouse):
    return warehouse.query(
        "SELECT processor_name, analysis_date, failure_category, failure_reason, run_id "
        "FROM nba_processing.precompute_failures WHERE entity_id = 'DATE_LEVEL' ORDER BY 1, 2"
    )


def test_the_gap_dates_cascade_from_pcf_to_mlfs_and_nowhere_else(gap_season, capsys):
    assert main(["backfill", "--start", START, "--end", END]) == EXIT_GAPS  # genuine gaps, nothing else
    failures = date_level(gap_season)
    gaps = {pd.Timestamp(d) for d in NOV_2021_GAP_DATES}
    assert set(failures["processor_name"]) == {"pcf", "mlfs"}
    for asset in ("pcf", "mlfs"):
        mine = failures[failures["processor_name"] == asset]
        assert set(pd.to_datetime(mine["analysis_date"])) == gaps
        assert set(mine["failure_category"]) == {"MISSING_DEPENDENCY"}
    pcf = failures[failures["processor_name"] == "pcf"].set_index("analysis_date")["failure_reason"]
    assert pcf[pd.Timestamp("2021-11-09")].startswith(
        "Missing nba_analytics.upcoming_team_game_context for 2021-11-09 (0 rows, need ")
    mlfs = failures[failures["processor_name"] == "mlfs"].set_index("analysis_date")["failure_reason"]
    assert "Missing nba_precompute.player_composite_factors for 2021-11-09 (0 rows, need " in mlfs[pd.Timestamp("2021-11-09")]
    rows = gap_season.query("SELECT DISTINCT analysis_date FROM nba_precompute.player_composite_factors")
    assert not gaps & set(pd.to_datetime(rows["analysis_date"]))
    out = capsys.readouterr().out
    assert "pcf   |       25 |         21 | 4 (MISSING_DEPENDENCY 4) |    25 | EXPLAINED" in out
    # the run's failure message: every gap, its reason and chain, and the command to run after the repair
    assert "8 (asset, date) not materialized (genuine gaps):" in out
    assert ("    mlfs 2021-11-09 <- pcf 2021-11-09 (DATE_FAILED: MISSING_DEPENDENCY) <- "
            "nba_analytics.upcoming_team_game_context 2021-11-09 (0 rows, need ") in out
    assert f"after the upstream repair: nba-precompute backfill --start {START} --end {END} --only failed" in out
    assert "8 genuine gap(s): exit 3" in out
    # Dagster: exactly the gaps FAILED, every other date of the range materialized (bootstrap included)
    instance = dg.DagsterInstance.get()
    for asset in ("pcf", "mlfs"):
        status = instance.get_status_by_partition(dg.AssetKey(asset), partition_keys=_range_keys(),
                                                  partitions_def=daily_partitions)
        failed = {k for k, v in status.items() if v == AssetPartitionStatus.FAILED}
        assert failed == set(NOV_2021_GAP_DATES_ISO)
        assert all(v == AssetPartitionStatus.MATERIALIZED for k, v in status.items() if k not in failed)
    # the named §8 checks: one unpartitioned evaluation per (asset, check) per run
    for name in CHECK_NAMES["pcf"]:
        history = instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(dg.AssetKey("pcf"), name), limit=10)
        # (Dagster also records a PLANNED row per partition of the ranged run when it plans it)
        assert [r.partition for r in history if r.status.value != "PLANNED"] == [None], name
    assert main(["backfill", "--start", START, "--end", END, "--allow-gaps"]) == 0


def _range_keys():
    return [d.strftime("%Y-%m-%d") for d in pd.date_range(START, END)]


def test_a_bootstrap_date_is_materialized_with_its_reason_and_exits_0(gap_season):
    assert main(["backfill", "--start", "2021-10-25", "--end", "2021-10-26", "--assets", "psza"]) == 0
    instance = dg.DagsterInstance.get()
    event = instance.get_latest_materialization_event(dg.AssetKey("psza"))
    meta = event.asset_materialization.metadata
    assert event.asset_materialization.partition == "2021-10-26"
    assert meta["outcome"].value == "BOOTSTRAP_PERIOD" and meta["dagster/row_count"].value == 0
    assert meta["failure_reason"].value.startswith("Bootstrap period: day 7 of 14")


def test_only_failed_after_an_upstream_repair_fills_just_that_date(gap_season, capsys):
    assert main(["backfill", "--start", START, "--end", END]) == EXIT_GAPS
    before = gap_season.query("SELECT analysis_date, run_id FROM nba_processing.precompute_failures")
    # repair: the team context of 2021-11-09 arrives
    full = generate_season(2021)[UPCOMING_TEAM_GAME_CONTEXT.fqn]
    repaired = gap_season.read(UPCOMING_TEAM_GAME_CONTEXT)
    day = full[pd.to_datetime(full["game_date"]) == pd.Timestamp("2021-11-09")]
    frame = pd.concat([repaired, day], ignore_index=True)
    frame["game_date"] = pd.to_datetime(frame["game_date"]).dt.date
    gap_season.replace_date_range({UPCOMING_TEAM_GAME_CONTEXT: frame}, dt.date(2021, 10, 19), dt.date(2022, 4, 10))
    capsys.readouterr()

    assert main(["backfill", "--start", START, "--end", END, "--only", "failed", "--dry-run"]) == 0
    plan = capsys.readouterr().out
    assert "run 2021-11-09..2021-11-09 (1 dates): pcf,mlfs" in plan
    assert "run 2021-11-11..2021-11-11 (1 dates): pcf,mlfs" in plan
    assert date_level(gap_season)["run_id"].nunique() == 1  # the dry run wrote nothing

    assert main(["backfill", "--start", "2021-11-09", "--end", "2021-11-09", "--only", "failed"]) == EXIT_OK
    after = date_level(gap_season)
    assert pd.Timestamp("2021-11-09") not in set(pd.to_datetime(after["analysis_date"]))
    assert len(after) == 6  # the three other gap dates, for pcf and mlfs
    for table in ("nba_precompute.player_composite_factors", "nba_predictions.ml_feature_store_v2"):
        n = gap_season.query(f"SELECT count(*) n FROM {table} WHERE analysis_date = DATE '2021-11-09'")["n"][0]
        assert n > 100
    # nothing else was rewritten: psza's failure rows keep their first run id
    psza_runs = gap_season.query(
        "SELECT DISTINCT run_id FROM nba_processing.precompute_failures WHERE processor_name = 'psza'")
    assert set(psza_runs["run_id"]) <= set(before["run_id"])
    instance = dg.DagsterInstance.get()
    assert "2021-11-09" in instance.get_materialized_partitions(dg.AssetKey("mlfs"))


def test_chunked_backfill_writes_the_same_tables_as_one_run(gap_season, tmp_path):
    assert main(["backfill", "--start", START, "--end", "2021-11-12", "--chunk-days", "3"]) == EXIT_GAPS
    chunked = gap_season.query("SELECT * EXCLUDE (created_at) FROM nba_predictions.ml_feature_store_v2 ORDER BY 1, 3")
    assert main(["backfill", "--start", START, "--end", "2021-11-12"]) == EXIT_GAPS
    single = gap_season.query("SELECT * EXCLUDE (created_at) FROM nba_predictions.ml_feature_store_v2 ORDER BY 1, 3")
    pd.testing.assert_frame_equal(chunked, single)


def test_plan_groups_consecutive_dates_needing_the_same_assets():
    d = dt.date
    needed = {d(2021, 11, 9): ("pcf", "mlfs"), d(2021, 11, 10): ("pcf", "mlfs"), d(2021, 11, 12): ("mlfs",)}
    runs = plan_runs(d(2021, 11, 1), d(2021, 11, 30), ["pcf", "mlfs"], None, needed)
    assert [str(r) for r in runs] == [
        "2021-11-09..2021-11-10 (2 dates): pcf,mlfs", "2021-11-12..2021-11-12 (1 dates): mlfs"]
    assert [(r.start.day, r.end.day) for r in plan_runs(d(2021, 11, 1), d(2021, 11, 10), ["psza"], 4)] == [
        (1, 4), (5, 8), (9, 10)]


def test_a_processing_error_fails_the_backfill_with_a_record(gap_season, monkeypatch, capsys):
    import nba_precompute.features.team_defense as team_defense

    def broken(*args, **kwargs):
        raise ZeroDivisionError("injected")

    monkeypatch.setattr(team_defense, "compute_tdza", broken)
    assert main(["backfill", "--start", "2021-11-05", "--end", "2021-11-06", "--assets", "tdza"]) == EXIT_ERROR  # an exception, never an accepted gap
    failures = date_level(gap_season)
    assert failures["failure_category"].tolist() == ["PROCESSING_ERROR", "PROCESSING_ERROR"]
    assert failures["failure_reason"].iloc[0] == "ZeroDivisionError: injected"
    assert "- tdza 2021-11-05 PROCESSING_ERROR: ZeroDivisionError: injected" in capsys.readouterr().out


def test_an_error_check_blocks_that_date_downstream_and_fails_the_run(gap_season, monkeypatch, capsys):
    import nba_precompute.features.shot_zones as shot_zones

    real = shot_zones.compute_psza

    def duplicating(pgs, calendar, dates, *args, **kwargs):
        result = real(pgs, calendar, dates, *args, **kwargs)
        rows = result.rows
        dup = rows[rows["analysis_date"] == pd.Timestamp("2021-11-10")].head(1)
        return result._replace(rows=pd.concat([rows, dup], ignore_index=True))

    monkeypatch.setattr(shot_zones, "compute_psza", duplicating)
    assert main(["backfill", "--start", "2021-11-08", "--end", "2021-11-12"]) == EXIT_ERROR
    instance = dg.DagsterInstance.get()

    # the blocked downstream dates are gaps, observed with their cause; psza's own date is not a gap
    for asset in ("pdc", "mlfs"):
        gaps = {d: latest_gaps(instance, [asset], d).get(asset) for d in ("2021-11-10", "2021-11-12")}
        assert gaps["2021-11-12"] is None
        meta = {k: getattr(v, "value", v) for k, v in gaps["2021-11-10"][1].items()}
        assert (meta["failure_category"], meta["failure_reason"]) == (
            "BLOCKED", "blocked: psza 2021-11-10 failed ERROR check(s) primary_key_unique")
    assert latest_gaps(instance, ["psza"], "2021-11-10") == {}
    pdc = gap_season.query("SELECT DISTINCT analysis_date FROM nba_precompute.player_daily_cache")
    dates = set(pd.to_datetime(pdc["analysis_date"]).dt.strftime("%Y-%m-%d"))
    assert "2021-11-10" not in dates and {"2021-11-08", "2021-11-12"} <= dates
    assert "2021-11-10" not in instance.get_materialized_partitions(dg.AssetKey("pdc"))
    # the named check of psza says which date failed, once for the run
    (record,) = [r for r in instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(dg.AssetKey("psza"), "primary_key_unique"), limit=10) if r.status.value != "PLANNED"]
    evaluation = record.event.dagster_event.event_specific_data
    assert (record.status.value, evaluation.severity.value) == ("FAILED", "ERROR")
    assert [f["date"] for f in evaluation.metadata["failures"].value] == ["2021-11-10"]
    assert evaluation.metadata["dates_evaluated"].value == 5
    # the partition whose own ERROR check failed is materialized; the blocked ones are FAILED
    assert "2021-11-10" in instance.get_materialized_partitions(dg.AssetKey("psza"))
    status = instance.get_status_by_partition(dg.AssetKey("pdc"), partition_keys=["2021-11-10", "2021-11-12"],
                                              partitions_def=daily_partitions)
    assert status == {"2021-11-10": AssetPartitionStatus.FAILED, "2021-11-12": AssetPartitionStatus.MATERIALIZED}
    # --only failed re-targets exactly the blocked partitions (the warehouse holds nothing for them)
    monkeypatch.setattr(shot_zones, "compute_psza", real)
    out = capsys.readouterr().out
    assert "materialized with a failing ERROR check:\n- psza 2021-11-10: primary_key_unique:" in out
    assert main(["backfill", "--start", "2021-11-08", "--end", "2021-11-12", "--only", "failed", "--dry-run"]) == 0
    plan = [line for line in capsys.readouterr().out.splitlines() if line.startswith("  run ")]
    # the blocked date, and the scenario's two MISSING_DEPENDENCY gap dates of the range
    assert plan == ["  run 2021-11-09..2021-11-09 (1 dates): pcf,mlfs",
                    "  run 2021-11-10..2021-11-10 (1 dates): tdza,pdc,pcf,mlfs",
                    "  run 2021-11-11..2021-11-11 (1 dates): pcf,mlfs"]


def test_the_cli_warehouse_flag_reaches_the_runs_resource_and_the_environment_is_left_untouched(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("NBA_PRECOMPUTE_WAREHOUSE", str(tmp_path / "decoy.duckdb"))
    write_season(tmp_path / "p3", season_year=2021, scenario="nov-2021-gaps")
    flagged = tmp_path / "flagged.duckdb"
    before = dict(os.environ)

    assert main(["--warehouse", str(flagged), "load-phase3", str(tmp_path / "p3")]) == 0
    assert main(["--warehouse", str(flagged), "backfill", "--start", "2021-11-05", "--end", "2021-11-06",
                 "--assets", "tdza"]) == 0

    assert dict(os.environ) == before
    assert not (tmp_path / "decoy.duckdb").exists()
    rows = DuckDBWarehouse(database=str(flagged)).query(
        "SELECT analysis_date, count(*) n FROM nba_precompute.team_defense_zone_analysis GROUP BY 1 ORDER BY 1")
    assert list(pd.to_datetime(rows["analysis_date"])) == [pd.Timestamp("2021-11-05"), pd.Timestamp("2021-11-06")]
    assert (rows["n"] == 30).all()
    with dg.DagsterInstance.from_config(str(home)) as instance:  # the configured home, opened by path
        runs = instance.get_runs()
    assert len(runs) == 1 and runs[0].status == dg.DagsterRunStatus.SUCCESS
