"""Freshness deadlines: game dates only, timezone-aware, late vs missed; and the Dagster API the
wiring uses to show a miss as a failed check."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from nba_precompute.operations import freshness as f

CONFIG = f.load_freshness_config()
NY = ZoneInfo("America/New_York")
UTC = dt.timezone.utc


def test_default_deadline_is_16_eastern_for_mlfs_and_pcf_across_daylight_saving():
    assert set(CONFIG.deadlines) == {"mlfs", "pcf"}
    assert CONFIG.deadline("mlfs", "2022-10-18").astimezone(UTC) == dt.datetime(2022, 10, 18, 20, 0, tzinfo=UTC)
    assert CONFIG.deadline("mlfs", "2023-01-10").astimezone(UTC) == dt.datetime(2023, 1, 10, 21, 0, tzinfo=UTC)
    assert CONFIG.deadline("psza", "2023-01-10") is None


def test_missed_on_time_late_and_pending():
    now = dt.datetime(2023, 1, 11, 18, 0, tzinfo=UTC)  # 13:00 New York on the 11th
    materialized = {
        ("mlfs", "2023-01-09"): dt.datetime(2023, 1, 9, 15, 0, tzinfo=NY),
        ("pcf", "2023-01-09"): dt.datetime(2023, 1, 9, 15, 0, tzinfo=NY),
        ("mlfs", "2023-01-10"): dt.datetime(2023, 1, 10, 20, 0, tzinfo=NY),  # four hours late
    }
    res = f.evaluate(["2023-01-09", "2023-01-10", "2023-01-11"], materialized, now, CONFIG).set_index(["asset", "date"])
    assert res.loc[("mlfs", "2023-01-09"), "status"] == f.ON_TIME
    assert res.loc[("mlfs", "2023-01-10"), "status"] == f.LATE
    assert res.loc[("mlfs", "2023-01-10"), "minutes_late"] == 240
    assert res.loc[("pcf", "2023-01-10"), "status"] == f.MISSED
    assert res.loc[("pcf", "2023-01-10"), "minutes_late"] == pytest.approx(21 * 60)
    assert res.loc[("pcf", "2023-01-11"), "status"] == f.PENDING
    assert res.loc[("pcf", "2023-01-10"), "reason"] == "pcf 2023-01-10 not materialized 1260 min after its deadline 16:00 EST"
    assert [(m.asset, m.date) for m in f.misses(res.reset_index()).itertuples()] == [("pcf", "2023-01-10")]


def test_dates_without_games_have_no_deadline():
    now = dt.datetime(2023, 1, 20, tzinfo=UTC)
    res = f.evaluate(["2023-01-10"], {}, now, CONFIG)  # the 11th..19th are not game dates here
    assert sorted(res["date"].unique()) == ["2023-01-10"]


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="naive timestamp"):
        f.evaluate(["2023-01-10"], {}, dt.datetime(2023, 1, 11), CONFIG)


def test_bad_config_names_file_and_key(tmp_path):
    p = tmp_path / "fresh.yaml"
    p.write_text("freshness:\n  timezone: Mars/Olympus\n  deadlines: {mlfs: '16:00'}\n")
    with pytest.raises(f.FreshnessConfigError, match=r"fresh\.yaml: freshness\.timezone: .*Mars/Olympus"):
        f.load_freshness_config(p)
    p.write_text("freshness:\n  timezone: UTC\n  deadlines: {mlfz: '16:00'}\n")
    with pytest.raises(f.FreshnessConfigError, match=r"unknown assets \['mlfz'\]"):
        f.load_freshness_config(p)


# --- the Dagster side (pins the API the wiring wave uses) ------------------------------------
def test_a_missed_deadline_reported_as_a_runless_check_evaluation_is_a_failed_check(tmp_path):
    """What a freshness sensor returns in SensorResult(asset_events=[...]); the daemon stores it with
    instance.report_runless_asset_event, which is what this test calls."""
    parts = dg.DailyPartitionsDefinition(start_date="2023-01-01", end_offset=1)

    @dg.asset(partitions_def=parts, check_specs=[dg.AssetCheckSpec("freshness_deadline", asset="mlfs")])
    def mlfs():
        return dg.MaterializeResult()

    defs = dg.Definitions(assets=[mlfs])
    assert defs.resolve_asset_graph().get_check_spec(dg.AssetCheckKey(dg.AssetKey("mlfs"), "freshness_deadline"))
    miss = f.misses(f.evaluate(["2023-01-10"], {}, dt.datetime(2023, 1, 10, 22, tzinfo=UTC), CONFIG))
    row = miss[miss["asset"] == "mlfs"].iloc[0]
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        instance.report_runless_asset_event(dg.AssetCheckEvaluation(
            asset_key=dg.AssetKey("mlfs"), check_name="freshness_deadline", passed=False,
            severity=dg.AssetCheckSeverity.WARN, description=row["reason"],
            metadata={"partition": row["date"], "deadline": row["deadline"].isoformat()},
        ))
        key = dg.AssetCheckKey(dg.AssetKey("mlfs"), "freshness_deadline")
        rec = instance.event_log_storage.get_latest_asset_check_execution_by_key([key])[key]
        assert rec.status.value == "FAILED"
        assert rec.evaluation.severity == dg.AssetCheckSeverity.WARN
        assert rec.evaluation.description == "mlfs 2023-01-10 not materialized 60 min after its deadline 16:00 EST"


def test_a_sensor_can_return_the_check_evaluation_as_a_runless_asset_event(tmp_path):
    """The wiring's freshness sensor shape: SensorResult(asset_events=[AssetCheckEvaluation]); the
    daemon hands each asset event to instance.report_runless_asset_event (tested above)."""
    evaluation = dg.AssetCheckEvaluation(asset_key=dg.AssetKey("pcf"), check_name="freshness_deadline",
                                         passed=False, severity=dg.AssetCheckSeverity.WARN)

    @dg.sensor(name="freshness_sensor", minimum_interval_seconds=60)
    def freshness_sensor(context):
        return dg.SensorResult(asset_events=[evaluation])

    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        result = freshness_sensor(dg.build_sensor_context(instance=instance))
    assert list(result.asset_events) == [evaluation]
