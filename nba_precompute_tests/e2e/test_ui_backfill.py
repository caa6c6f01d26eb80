"""End to end through a real webserver and daemon: the November 2021 gap scenario backfilled as the
UI does it (GraphQL launchPartitionBackfill), the asset pages in headless Chromium, and healing
of a downstream gap after an upstream repair.

The tests share one deployment (conftest.dagster_stack) and run in file order: the backfill, the
browser, then the repair (which changes the counts the browser checks).
"""

from __future__ import annotations

import datetime as dt
import time

import dagster as dg
import pandas as pd
import pytest

from nba_precompute.automation import HEAL_SENSOR, HEALED_AFTER_TAG, LAUNCHED_BY_TAG, latest_gaps
from nba_precompute_demo.season import NOV_2021_GAP_DATES
from nba_precompute.registry import ASSET_NAMES as ASSETS, ASSET_TABLES
from nba_precompute_tests.e2e.conftest import failing
from nba_precompute_tests.e2e.stack import launch_backfill, wait_backfill, wait_until

pytestmark = pytest.mark.webserver

START, END = dt.date(2021, 11, 5), dt.date(2021, 11, 30)
DATES = [d.date() for d in pd.date_range(START, END, freq="D")]
KEYS = [d.isoformat() for d in DATES]
GAPS = sorted(pd.Timestamp(d).date() for d in NOV_2021_GAP_DATES)
GAP_KEYS = [d.isoformat() for d in GAPS]
UTGC = "nba_analytics.upcoming_team_game_context"
BACKFILL_TIMEOUT = 300.0
# 3 backfill-daemon iterations (30 s each, fixed in Dagster) + queue + the run, with room to spare
MAX_UI_BACKFILL_SECONDS = 150.0
DAEMON_LATENCY_SECONDS = 60.0  # a pickup wait and the closing iteration (30 s each)
# A failed run closes its backfill on the daemon's next iteration (issue target 35 s); margin for load.
MAX_RUN_END_TO_CLOSE_SECONDS = 45.0
HEAL_TIMEOUT = 120.0


# --- the backfill, once for the module ------------------------------------------------------------
class Backfill:
    def __init__(self, backfill_id: str, data: dict, seconds: float):
        self.id, self.data, self.seconds = backfill_id, data, seconds
        self.status, self.runs = data["status"], data["runs"]
        self.counts = {
            s["assetKey"]["path"][-1]: s for s in data["assetBackfillData"]["assetBackfillStatuses"]
            if s["__typename"] == "AssetPartitionsStatusCounts"
        }


@pytest.fixture(scope="module")
def backfill(dagster_stack) -> Backfill:
    t0 = time.monotonic()
    with failing():
        backfill_id = launch_backfill(dagster_stack, ASSETS, KEYS, "e2e nov-2021-gaps")
        b = wait_backfill(dagster_stack, backfill_id, BACKFILL_TIMEOUT)
    seconds = time.monotonic() - t0
    print(f"\nUI backfill {backfill_id} {START}..{END} x {len(ASSETS)} assets: {b['status']} in {seconds:.1f}s "
          f"(launch -> completed), {len(b['runs'])} run(s)")
    return Backfill(backfill_id, b, seconds)


def gap_observations(instance, asset: str, keys: list[str]) -> dict[str, dict]:
    """partition -> plain metadata of the latest gap observation, for the keys that have one."""
    out = {}
    for key in keys:
        got = latest_gaps(instance, [asset], key).get(asset)
        if got is not None:
            out[key] = {k: getattr(v, "value", v) for k, v in got[1].items()}
    return out


def materialization_counts(instance, asset: str, keys: list[str]) -> dict[str, int]:
    result = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=keys), limit=10_000
    )
    counts = {k: 0 for k in keys}
    for rec in result.records:
        counts[rec.asset_materialization.partition] += 1
    return counts


def rows_per_date(wh, asset: str) -> dict[dt.date, int]:
    
    table = ASSET_TABLES[asset].fqn
    frame = wh.query(
        f"SELECT analysis_date, count(*) AS n FROM {table} WHERE analysis_date BETWEEN ? AND ? GROUP BY 1",
        [START, END],
    )
    return {pd.Timestamp(d).date(): int(n) for d, n in zip(frame["analysis_date"], frame["n"])}


def date_level_failures(wh, asset: str) -> pd.DataFrame:
    return wh.query(
        "SELECT analysis_date, failure_category, failure_reason FROM nba_processing.precompute_failures "
        "WHERE processor_name = ? AND entity_id = 'DATE_LEVEL' AND analysis_date BETWEEN ? AND ? "
        "ORDER BY analysis_date",
        [asset, START, END],
    )


# --- 1. the backfill ----------------------------------------------------------------------------
def test_ui_backfill_is_one_run_and_records_the_gaps(dagster_stack, backfill):
    # Every targeted partition was attempted; the 8 genuine gaps (pcf, mlfs x 4 gap dates) are the
    # backfill's failed partitions: not materialized by a run that failed at its end (PRECOMPUTE §4).
    assert backfill.status == "COMPLETED_FAILED", backfill.data
    for asset in ASSETS:
        c = backfill.counts[asset]
        failed = len(GAPS) if asset in ("pcf", "mlfs") else 0
        assert (c["numPartitionsTargeted"], c["numPartitionsMaterialized"], c["numPartitionsFailed"],
                c["numPartitionsInProgress"]) == (len(KEYS), len(KEYS) - failed, failed, 0), (asset, c)
    # BackfillPolicy.single_run: the 26 dates x 5 assets are one ranged run.
    assert len(backfill.runs) == 1, backfill.runs
    run = backfill.runs[0]
    assert run["status"] == "FAILURE", run
    tags = {t["key"]: t["value"] for t in run["tags"]}
    assert tags.get("dagster/asset_partition_range_start") == START.isoformat(), tags
    assert tags.get("dagster/asset_partition_range_end") == END.isoformat(), tags

    # Where the time goes: the backfill daemon picks the backfill up on its next 30 s iteration, the
    # run queue launches the run, and the daemon needs one or two more iterations to close it.
    instance = dagster_stack.instance()
    record = instance.get_run_record_by_id(run["runId"])
    launched = backfill.data["timestamp"]
    print(
        f"\nlaunch -> run submitted {record.create_timestamp.timestamp() - launched:.1f}s, -> run started "
        f"{record.start_time - launched:.1f}s, run {record.end_time - record.start_time:.1f}s, run end -> "
        f"backfill completed {backfill.data['endTimestamp'] - record.end_time:.1f}s; "
        f"launch -> completed (polled) {backfill.seconds:.1f}s"
    )
    assert backfill.seconds <= MAX_UI_BACKFILL_SECONDS, backfill.seconds
    assert backfill.data["endTimestamp"] - record.end_time <= MAX_RUN_END_TO_CLOSE_SECONDS

    # The run's failure message lists every gap with its category, reason and chain.
    (failure,) = instance.all_logs(run["runId"], of_type=dg.DagsterEventType.STEP_FAILURE)
    message = failure.dagster_event.step_failure_data.user_failure_data.description
    assert f"{2 * len(GAPS)} (asset, date) not materialized (genuine gaps):" in message, message
    for asset in ("pcf", "mlfs"):
        for key in GAP_KEYS:
            assert f"- {asset} {key} MISSING_DEPENDENCY: Missing " in message, (asset, key)
    assert f"<- {UTGC} {GAP_KEYS[0]} (0 rows, need " in message

    # The warehouse: pcf and mlfs have no rows and a MISSING_DEPENDENCY on each gap date naming the
    # missing Phase 3 table (mlfs through pcf); rows on every other game date.
    wh = dagster_stack.warehouse_db()
    game_dates = {pd.Timestamp(d).date() for d in wh.query(
        "SELECT DISTINCT game_date FROM nba_reference.schedule WHERE game_date BETWEEN ? AND ?", [START, END]
    )["game_date"]}
    assert set(GAPS) <= game_dates
    pcf_table = "nba_precompute.player_composite_factors"
    for asset, names in (("pcf", UTGC), ("mlfs", pcf_table)):
        rows = rows_per_date(wh, asset)
        assert all(rows.get(d, 0) == 0 for d in GAPS), {d: rows.get(d) for d in GAPS}
        assert all(rows.get(d, 0) > 0 for d in game_dates - set(GAPS)), sorted(game_dates - set(rows))
        failures = date_level_failures(wh, asset)
        assert [pd.Timestamp(d).date() for d in failures["analysis_date"]] == GAPS, failures
        assert set(failures["failure_category"]) == {"MISSING_DEPENDENCY"}, failures
        for date, reason in zip(failures["analysis_date"], failures["failure_reason"]):
            assert names in reason and pd.Timestamp(date).strftime("%Y-%m-%d") in reason, reason
    for asset in ("psza", "tdza", "pdc"):
        assert date_level_failures(wh, asset).empty
    assert "Missing nba_analytics.upcoming_team_game_context" in date_level_failures(wh, "pcf")["failure_reason"][0]

    # Dagster: the gap dates are FAILED, every other date MATERIALIZED (nothing Missing), for every
    # asset, and `nba-precompute coverage` agrees on every (asset, date).
    from dagster._core.storage.partition_status_cache import AssetPartitionStatus
    from nba_precompute.partitions import daily_partitions

    for asset in ASSETS:
        status = instance.get_status_by_partition(dg.AssetKey(asset), partition_keys=KEYS,
                                                  partitions_def=daily_partitions)
        expected = {k: AssetPartitionStatus.FAILED if asset in ("pcf", "mlfs") and k in GAP_KEYS
                    else AssetPartitionStatus.MATERIALIZED for k in KEYS}
        assert dict(status) == expected, asset
    coverage = dagster_stack.cli("coverage", "--start", START.isoformat(), "--end", END.isoformat(), "--format", "json")
    assert coverage.returncode == 0, coverage.stderr[-2000:]
    import json
    doc = json.loads(coverage.stdout)
    assert doc["dagster_source"] == "instance"
    for asset, a in doc["assets"].items():
        assert a["dagster"]["checked"] == len(KEYS) and a["dagster"]["disagreements"] == 0, (asset, a["dagster"])
    for asset in ("pcf", "mlfs"):
        materialized = instance.get_materialized_partitions(dg.AssetKey(asset))
        assert not materialized & set(GAP_KEYS), sorted(materialized & set(GAP_KEYS))
        assert set(KEYS) - set(GAP_KEYS) <= materialized, sorted(set(KEYS) - set(GAP_KEYS) - materialized)
        for gap in GAPS:
            for neighbour in (gap - dt.timedelta(days=1), gap + dt.timedelta(days=1)):
                assert neighbour.isoformat() in materialized
        # each gap, and only a gap, has its observation: category, reason, failing table, chain, repair
        observed = gap_observations(instance, asset, KEYS)
        assert sorted(observed) == GAP_KEYS, sorted(observed)
        upstream = UTGC if asset == "pcf" else "nba_precompute.player_composite_factors"
        for key, meta in observed.items():
            assert meta["failure_category"] == "MISSING_DEPENDENCY" and key in meta["failure_reason"], meta
            assert meta["failed_dependencies"] == [upstream], meta
            assert f"<- {UTGC} {key} (0 rows, need " in meta["root_cause"], meta
            assert meta["repair"].endswith("--only failed"), meta
    for asset in ("psza", "tdza", "pdc"):
        assert set(KEYS) <= instance.get_materialized_partitions(dg.AssetKey(asset))
        assert gap_observations(instance, asset, KEYS) == {}

    # Each check of each asset (named §8 checks, freshness_deadline) evaluated once in the run, none
    # left planned; no per-partition check evaluations; and no "did not yield or return expected
    # outputs" line in the run's logs.
    from nba_precompute.checks import checks_for
    from nba_precompute.defs.operations import FRESHNESS_CHECK
    from nba_precompute.operations.freshness import load_freshness_config
    from nba_precompute_tests.e2e.stack import phase4_check_keys

    evaluations = instance.all_logs(run["runId"], of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    evaluated = sorted((e.dagster_event.event_specific_data.asset_key.path[-1], e.dagster_event.event_specific_data.check_name)
                       for e in evaluations)
    expected = [(a, c.name) for a in ASSETS for c in checks_for(a)]
    expected += [(a, FRESHNESS_CHECK) for a in load_freshness_config().deadlines]  # evaluated at the run's end too
    assert evaluated == sorted(expected) == [(k.asset_key.path[-1], k.name) for k in phase4_check_keys(ASSETS)]
    assert all(e.dagster_event.event_specific_data.partition is None for e in evaluations)
    messages = [e.message or "" for e in instance.all_logs(run["runId"])]
    assert not [m for m in messages if "did not yield or return expected outputs" in m]


def test_ui_backfill_time_against_cli(dagster_stack, backfill, tmp_path):
    """The issue's target is a UI backfill within the CLI's time + 60 s (same data, same range).

    Measured and printed; asserted with Dagster's own latency on top (DAEMON_LATENCY_SECONDS): the
    backfill daemon iterates every 30 s (fixed in Dagster 1.13), so it picks a new backfill up within
    30 s, and closes a backfill whose successful run left date-failed partitions without a
    materialization only on the iteration after the one that sees the run finish (stall detection).
    """
    env = {"DAGSTER_HOME": str(tmp_path / "cli_home"), "NBA_PRECOMPUTE_WAREHOUSE": str(tmp_path / "cli.duckdb")}
    (tmp_path / "cli_home").mkdir()
    loaded = dagster_stack.cli("load-phase3", str(dagster_stack.phase3), env=env)
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    t0 = time.monotonic()
    cli = dagster_stack.cli("backfill", "--start", START.isoformat(), "--end", END.isoformat(), env=env)
    cli_seconds = time.monotonic() - t0
    assert cli.returncode == 3, cli.stdout[-2000:] + cli.stderr[-2000:]  # EXIT_GAPS: the scenario's gaps
    target = cli_seconds + 60
    print(f"\nCLI backfill {cli_seconds:.1f}s; UI backfill {backfill.seconds:.1f}s; issue target <= {target:.1f}s: "
          f"{'met' if backfill.seconds <= target else f'missed by {backfill.seconds - target:.1f}s'}")
    assert backfill.seconds <= target + DAEMON_LATENCY_SECONDS


# --- 2. the UI in headless Chromium -------------------------------------------------------------
@pytest.mark.browser
def test_asset_pages_render_in_chromium(chromium, dagster_stack, backfill, tmp_path):
    from nba_precompute_tests.e2e import browser

    driver = chromium
    text = browser.load_asset_group_list(driver, dagster_stack.url, "phase4", ASSETS)
    assert all(a in text.splitlines() for a in ASSETS), text[:2000]
    shots = [browser.screenshot(driver, tmp_path / "phase4_list.png")]
    browser.load_asset_lineage(driver, dagster_stack.url, "phase4")
    shots.append(browser.screenshot(driver, tmp_path / "phase4_lineage.png"))

    instance = dagster_stack.instance()
    for asset in ASSETS:
        # All partitions: Dagster's own count of materialized partitions.
        everything = browser.partition_counts(driver, dagster_stack.url, asset)
        materialized = instance.get_materialized_partitions(dg.AssetKey(asset))
        assert everything["materialized"] == len(materialized), (asset, everything)
        assert everything["selected"] == everything["materialized"] + everything["missing"] + everything["failed"]
        assert everything["materializing"] == 0
        # the partitions are the demo season (e2e/stack.DEMO_SEASON, as `make dev`), not five years
        assert everything["selected"] == 174, everything
        # The backfilled range: the gap dates are failed for pcf and mlfs, nothing is missing.
        gaps = len(GAPS) if asset in ("pcf", "mlfs") else 0
        window = browser.partition_counts(driver, dagster_stack.url, asset, KEYS[0], KEYS[-1])
        assert window == {"selected": len(KEYS), "failed": gaps, "materialized": len(KEYS) - gaps,
                          "materializing": 0, "missing": 0}, (asset, window)
        if asset == "pcf":
            shots.append(browser.screenshot(driver, tmp_path / "pcf_partitions.png"))
            # a failed date: one click ("View logs") from the run's failure message with the reasons
            panel = browser.failed_partition_panel(driver, dagster_stack.url, asset, GAP_KEYS[0])
            run_id = backfill.runs[0]["runId"]
            assert f"Run {run_id[:8]} failed, and did not materialize this asset." in panel, panel[-1500:]
            assert "View logs" in panel
            shots.append(browser.screenshot(driver, tmp_path / "pcf_failed_partition.png"))
            # ... and the partition's event history holds its gap observation (a second click opens it)
            assert "View all historical events (1)" in panel, panel[-1500:]
            browser.click_and_read(driver, "View all historical events", lambda t: "Observation" in t,
                                   "the partition's event history")
            history = browser.click_text_and_read(
                driver, "Observation", lambda t: "MISSING_DEPENDENCY" in t and "upcoming_team_game_context" in t,
                "the gap observation's metadata")
            assert "--only failed" in history, history[-2000:]
            shots.append(browser.screenshot(driver, tmp_path / "pcf_gap_observation.png"))
    print(f"\nscreenshots: {', '.join(map(str, shots))}")


@pytest.mark.browser
def test_coverage_report_heatmap_is_one_click_from_its_asset_page(chromium, dagster_stack, backfill, tmp_path):
    """`coverage_report` materialized through Dagster (as `make demo` does), then its page in
    Chromium: the heatmap entry opens inline with one click, and its title counts the gaps."""
    from nba_precompute_tests.e2e import browser
    from nba_precompute_tests.e2e.stack import launch_run, wait_run

    run = wait_run(dagster_stack, launch_run(dagster_stack, ["coverage_report"]), timeout=180)
    assert run["status"] == "SUCCESS", dagster_stack.log_tails()
    shown = browser.markdown_metadata_image(chromium, dagster_stack.url, "coverage_report", "heatmap")
    assert shown["images"] == ["data:image/png;base64,"], shown["dialog"][-1500:]
    assert "Phase 4 coverage" in shown["dialog"], shown["dialog"][-1500:]
    browser.screenshot(chromium, tmp_path / "coverage_report_heatmap.png")


# --- 3. healing ---------------------------------------------------------------------------------
def test_upstream_repair_heals_the_downstream_gap(dagster_stack, backfill):
    from nba_precompute.phase3.contract import UPCOMING_TEAM_GAME_CONTEXT
    from nba_precompute_demo.season import generate_season

    instance = dagster_stack.instance()
    wh = dagster_stack.warehouse_db()
    gap = GAPS[0]
    other_keys = [k for k in KEYS if k != gap.isoformat()]
    before = materialization_counts(instance, "mlfs", KEYS)
    assert before[gap.isoformat()] == 0

    # Repair upstream: the gap date's team contexts from the same season without the gaps.
    full = generate_season(2021, 0, None)[UPCOMING_TEAM_GAME_CONTEXT.fqn]
    day = full[pd.to_datetime(full["game_date"]).dt.date == gap]
    assert len(day)
    wh.replace_date_range({UPCOMING_TEAM_GAME_CONTEXT: day}, gap, gap)

    # Re-materialize pcf for that date only, from the command line, into the same instance.
    t0 = time.monotonic()
    cli = dagster_stack.cli("backfill", "--start", gap.isoformat(), "--end", gap.isoformat(), "--assets", "pcf")
    assert cli.returncode == 0, cli.stdout[-3000:] + cli.stderr[-3000:]
    assert gap.isoformat() in instance.get_materialized_partitions(dg.AssetKey("pcf"))

    # The heal sensor requests mlfs for that date, and only that.
    def healed_run():
        runs = instance.get_runs(filters=dg.RunsFilter(tags={LAUNCHED_BY_TAG: HEAL_SENSOR}))
        done = [r for r in runs if r.is_finished]
        return done[0] if done and len(done) == len(runs) else None

    with failing():
        run = wait_until(healed_run, HEAL_TIMEOUT, what="the heal sensor's run", logs=dagster_stack.log_tails)
    print(f"\nrepair -> healed run finished in {time.monotonic() - t0:.1f}s (CLI run included)")
    assert run.status == dg.DagsterRunStatus.SUCCESS, run.status
    assert run.tags.get("dagster/partition") == gap.isoformat(), run.tags
    assert run.tags.get(HEALED_AFTER_TAG, "").startswith("pcf@"), run.tags
    assert set(run.asset_selection or []) == {dg.AssetKey("mlfs")}, run.asset_selection
    runs = instance.get_runs(filters=dg.RunsFilter(tags={LAUNCHED_BY_TAG: HEAL_SENSOR}))
    assert len(runs) == 1, [(r.run_id, r.tags) for r in runs]

    after = materialization_counts(instance, "mlfs", KEYS)
    assert after[gap.isoformat()] == 1
    assert {k: after[k] for k in other_keys} == {k: before[k] for k in other_keys}
    assert gap.isoformat() in instance.get_materialized_partitions(dg.AssetKey("mlfs"))
    assert rows_per_date(wh, "mlfs").get(gap, 0) > 0
    assert gap not in [pd.Timestamp(d).date() for d in date_level_failures(wh, "mlfs")["analysis_date"]]
    # The other gaps stay as they were (their upstream was not repaired).
    for key in GAP_KEYS[1:]:
        assert key not in instance.get_materialized_partitions(dg.AssetKey("mlfs"))

    # A later tick heals nothing more.
    time.sleep(2 * 5 + 2)
    assert len(instance.get_runs(filters=dg.RunsFilter(tags={LAUNCHED_BY_TAG: HEAL_SENSOR}))) == 1


# --- 4. the UI's re-execution of the failed partitions ------------------------------------------------
def test_reexecuting_the_backfill_from_failure_targets_exactly_the_gaps(dagster_stack, backfill):
    """The backfill page's Re-execute -> From failure, after one more upstream repair: the new
    backfill targets exactly the genuine gaps (pcf and mlfs on the gap dates), nothing healthy;
    the repaired dates become materialized, the others stay failed."""
    from nba_precompute.phase3.contract import UPCOMING_TEAM_GAME_CONTEXT
    from nba_precompute_demo.season import generate_season
    from nba_precompute_tests.e2e.stack import reexecute_backfill

    instance = dagster_stack.instance()
    repaired = GAPS[1]
    full = generate_season(2021, 0, None)[UPCOMING_TEAM_GAME_CONTEXT.fqn]
    dagster_stack.warehouse_db().replace_date_range(
        {UPCOMING_TEAM_GAME_CONTEXT: full[pd.to_datetime(full["game_date"]).dt.date == repaired]}, repaired, repaired)
    healthy_before = {a: materialization_counts(instance, a, KEYS) for a in ("psza", "tdza", "pdc")}

    with failing():
        again = wait_backfill(dagster_stack, reexecute_backfill(dagster_stack, backfill.id), BACKFILL_TIMEOUT)
    counts = {s["assetKey"]["path"][-1]: s for s in again["assetBackfillData"]["assetBackfillStatuses"]
              if s["__typename"] == "AssetPartitionsStatusCounts"}
    assert sorted(counts) == ["mlfs", "pcf"], counts
    # GAPS[0] was repaired by the heal test, GAPS[1] just now; the other two still miss UTGC
    for asset, c in counts.items():
        assert (c["numPartitionsTargeted"], c["numPartitionsMaterialized"], c["numPartitionsFailed"]) == (
            len(GAPS), 2, len(GAPS) - 2), (asset, c)
    assert again["status"] == "COMPLETED_FAILED", again["status"]
    for asset in ("pcf", "mlfs"):
        materialized = instance.get_materialized_partitions(dg.AssetKey(asset))
        assert {GAPS[0].isoformat(), repaired.isoformat()} <= materialized
        assert not {g.isoformat() for g in GAPS[2:]} & materialized
    # the healthy assets were not re-run
    assert {a: materialization_counts(instance, a, KEYS) for a in healthy_before} == healthy_before
