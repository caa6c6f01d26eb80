"""The Dagster side: partition statuses from a real (ephemeral) instance, the agreement column,
and the `coverage_report` asset with its schedule."""

from __future__ import annotations

import base64
import datetime as dt

import dagster as dg
import pandas as pd
import pytest

from nba_precompute.defs.coverage import build_coverage_report, build_coverage_schedule

coverage_assets = [build_coverage_report("duckdb")]
coverage_schedules = [build_coverage_schedule()]
from nba_precompute.coverage import dagster_status as ds
from nba_precompute.defs.coverage import CoverageReportConfig, report_window
from nba_precompute.coverage.load import load_coverage
from nba_precompute.partitions import daily_partitions
from nba_precompute.registry import ASSET_NAMES as ASSETS

from .conftest import END, START, d


PLANNED_SUBSETS = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"


def failing_run(instance: dg.DagsterInstance, asset: str, day: dt.date) -> None:
    """A failed run of one partition. Dagster's status cache marks the partition failed because
    the run's planned events name partitions one by one (Dagster's default, which the project
    keeps: PRECOMPUTE.md §4)."""

    @dg.asset(name=asset, partitions_def=daily_partitions)
    def _fails():
        raise RuntimeError("boom")

    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(PLANNED_SUBSETS, raising=False)
        result = dg.materialize([_fails], instance=instance, partition_key=day.isoformat(), raise_on_error=False)
    assert not result.success


@pytest.fixture(scope="module")
def instance():
    inst = dg.DagsterInstance.ephemeral()
    for asset, day in [("psza", d(2)), ("psza", d(1)), ("pdc", d(6)), ("pcf", d(6))]:
        inst.report_runless_asset_event(dg.AssetMaterialization(asset_key=asset, partition=day.isoformat()))
    failing_run(inst, "pcf", d(4))
    yield inst
    inst.dispose()


def row(frame: pd.DataFrame, asset: str, day: dt.date) -> dict:
    return frame[(frame["asset"] == asset) & (frame["date"] == pd.Timestamp(day))].iloc[0].to_dict()


def test_read_dagster_status(instance):
    statuses = ds.read_dagster_status(instance, ["psza", "pcf", "mlfs", "tdza"], pd.date_range(START, END))
    assert len(statuses) == 4 * 22
    got = {(a, t.date()): s for a, t, s in zip(statuses["asset"], statuses["date"], statuses["dagster_status"])}
    assert got[("psza", d(2))] == "materialized"
    assert got[("pcf", d(4))] == "failed"
    assert got[("pcf", d(5))] == "missing"
    assert got[("psza", START)] == "no_partition"  # before the partitions' start date 2021-10-19
    assert set(statuses[statuses["asset"] == "tdza"]["dagster_status"]) == {"missing", "no_partition"}
    assert list(statuses.columns) == ["asset", "date", "dagster_status"]


def test_agreement_column(warehouse, instance):
    cov = load_coverage(warehouse, START, END, ASSETS, instance=instance)
    f = cov.frame
    assert cov.dagster_source == "instance"
    # OK and materialized: agrees
    assert row(f, "psza", d(2))["dagster_agrees"] is True and row(f, "psza", d(2))["dagster_note"] is None
    # DATE_FAILED (bootstrap, an expected final outcome) and materialized: agrees
    r = row(f, "psza", d(1))
    assert (r["status"], r["dagster_status"], r["dagster_agrees"]) == ("DATE_FAILED", "materialized", True)
    # a genuine gap (MISSING_DEPENDENCY) in a run that failed: agrees
    r = row(f, "pcf", d(4))
    assert (r["dagster_status"], r["dagster_agrees"]) == ("failed", True)
    # a gap Dagster calls missing: disagrees
    r = row(f, "pcf", d(8))
    assert r["dagster_agrees"] is False and r["dagster_note"] == "warehouse DATE_FAILED MISSING_DEPENDENCY, Dagster missing"
    # MISSING in the warehouse yet materialized in Dagster: disagrees
    r = row(f, "pdc", d(6))
    assert (r["status"], r["dagster_agrees"]) == ("MISSING", False)
    assert r["dagster_note"] == "warehouse MISSING, Dagster materialized"
    # MISSING and not materialized: agrees
    assert row(f, "mlfs", d(6))["dagster_agrees"] is True
    # OK but never materialized: disagrees
    assert row(f, "tdza", d(2))["dagster_note"] == "warehouse OK, Dagster missing"
    # not a partition: unknown, never counted
    assert pd.isna(row(f, "psza", START)["dagster_agrees"])
    rep = cov.report.set_index("asset")
    assert rep.loc["psza", "dagster_checked"] == 21
    # psza: OK dates 11-03..06 and 11-08 never materialized (5), the bootstrap dates 10-19..10-31
    # never materialized (13; 11-01 is, and agrees), and the PROCESSING_ERROR of 11-07 that Dagster
    # calls missing, not failed (1)
    assert rep.loc["psza", "dagster_disagreements"] == 5 + 13 + 1
    assert "2021-11-01" not in rep.loc["psza", "dagster_disagreement_dates"]
    assert "2021-11-07" in rep.loc["psza", "dagster_disagreement_dates"]
    # pcf: bootstrap dates never materialized, OK 11-02 missing, NO_GAMES 11-03 missing, the gaps of
    # 11-05, 11-07, 11-08 that Dagster calls missing; the failed gap of 11-04 agrees
    dates = rep.loc["pcf", "dagster_disagreement_dates"]
    assert [x for x in dates if x >= "2021-11-02"] == ["2021-11-02", "2021-11-03", "2021-11-05", "2021-11-07",
                                                      "2021-11-08"]
    assert all(x >= "2021-10-19" for x in dates) and "2021-11-04" not in dates


def test_without_instance_everything_is_unknown(coverage):
    assert set(coverage.frame["dagster_status"]) == {"unknown"}
    assert coverage.frame["dagster_agrees"].isna().all()
    assert coverage.report["dagster_disagreements"].sum() == 0


def test_report_window(warehouse):
    # default: the data's range (the first bootstrap failure row .. the latest date)
    assert report_window(CoverageReportConfig(), warehouse) == (dt.date(2021, 10, 19), d(8))
    assert report_window(CoverageReportConfig(days=30), warehouse) == (dt.date(2021, 10, 10), d(8))
    assert report_window(CoverageReportConfig(days=7), warehouse) == (d(2), d(8))
    assert report_window(CoverageReportConfig(start="2021-11-01", end="2021-11-03"), warehouse) == (d(1), d(3))
    with pytest.raises(dg.Failure):
        report_window(CoverageReportConfig(start="2021-11-05", end="2021-11-03"), warehouse)


def test_coverage_report_asset(warehouse, instance):
    assert [a.key for a in coverage_assets] == [dg.AssetKey("coverage_report")]
    result = dg.materialize(
        coverage_assets, instance=instance, resources={"warehouse": warehouse},
        run_config={"ops": {"coverage_report": {"config": {"start": START.isoformat(), "end": END.isoformat()}}}},
    )
    assert result.success
    meta = result.asset_materializations_for_node("coverage_report")[0].metadata
    numbers = {k: v.value for k, v in meta.items() if isinstance(v, dg.IntMetadataValue)}
    assert numbers["dates"] == 22
    assert numbers["expected"] == 21 + 21 + 20 + 20 + 20
    assert numbers["data_dates"] == 6 + 7 + 4 + 2 + 1
    assert numbers["date_level_failures"] == 15 + 14 + 15 + 18 + 18
    assert numbers["missing"] == 2 and numbers["incomplete_assets"] == 2
    assert (numbers["pdc_missing"], numbers["mlfs_missing"], numbers["psza_missing"]) == (1, 1, 0)
    assert numbers["pcf_date_level_failures"] == 18 and numbers["tdza_data_dates"] == 7
    assert numbers["dagster_disagreements"] > 0
    assert meta["status_by_asset"].value == {"psza": "EXPLAINED", "tdza": "EXPLAINED", "pdc": "INCOMPLETE",
                                             "pcf": "EXPLAINED", "mlfs": "INCOMPLETE"}
    assert "| pdc | 20 | 4 |" in meta["range_report"].value
    assert "| 2021-11-06 | Sat |" in meta["per_date"].value
    assert "[resolved upstream; rerun]" in meta["root_causes"].value
    image = meta["heatmap"].value
    uri = image[image.index("data:image/png;base64,"):].split(")")[0]
    assert base64.b64decode(uri.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    png_path, html_path = meta["heatmap_png"].value, meta["heatmap_html"].value
    assert png_path.endswith("coverage_2021-10-18_2021-11-08.png") and html_path.endswith(".html")
    with open(png_path, "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
    # the volume trend, inline like the heatmap: no date of the hand-built range is thin
    assert numbers["volume_anomalies"] == 0
    trend = meta["volume_trend"].value
    assert trend.startswith("**Rows per date and the volume check's expected band**\n\n0 anomalies\n\n")
    uri = trend[trend.index("data:image/png;base64,"):].split(")")[0]
    assert base64.b64decode(uri.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert meta["volume_trend_png"].value.endswith("coverage_2021-10-18_2021-11-08_volume.png")


def test_schedule_targets_the_report():
    (schedule,) = coverage_schedules
    assert schedule.cron_schedule == "0 7 * * *"
    (request,) = schedule.evaluate_tick(dg.build_schedule_context()).run_requests
    assert request.run_config == {"ops": {"coverage_report": {"config": {"days": 30}}}}
    defs = dg.Definitions(assets=coverage_assets, schedules=coverage_schedules,
                          resources={"warehouse": dg.ResourceDefinition.none_resource()})
    job = defs.resolve_job_def(schedule.job_name)
    assert job.asset_layer.selected_asset_keys == {dg.AssetKey("coverage_report")}


def test_the_report_sits_downstream_of_the_five_assets():
    from nba_precompute.definitions import defs

    graph = defs.resolve_asset_graph()
    node = graph.get(dg.AssetKey("coverage_report"))
    assert node.parent_keys == {dg.AssetKey(a) for a in ASSETS}
    assert all(graph.has(dg.AssetKey(a)) for a in ASSETS)
