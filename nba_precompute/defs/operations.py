"""Daily operation: the sensors that run Phase 4 when Phase 3 lands, watch deadlines and page.

* `phase3_arrival_sensor`: one GROUP BY per Phase 3 table (operations.arrival.snapshot_queries),
  the new/changed dates reported as runless Phase 3 materializations (defs/phase3.
  phase3_arrival_events), and one RunRequest per date D with the Phase 4 assets whose inputs for D
  have all arrived and changed since they were last requested (operations.arrival.plan). The
  cursor is the arrival JSON cursor. It looks at the dates of the last `lookback` days (older
  dates are repaired with `nba-precompute backfill`).
* `freshness_deadline_sensor`: the `freshness_deadline` check of pcf and mlfs (deadline per game
  date, operations/freshness_defaults.yaml), one runless evaluation per status change (MISSED
  fails it; a later materialization passes it again, LATE), and one alert per missed (asset, D).
* `volume_anomaly_sensor`: rows per (asset, D) in the warehouse against the expected band
  (operations.volume, the thresholds of the `volume` check in checks/thresholds.yaml, the counts
  of operations.counts: the same function as the check the Phase 4 step evaluates); one alert per
  anomaly. It computes rather than reads the check's evaluations, so that an alert does not
  depend on which run, or which check selection, wrote the rows.
* `phase4_run_failure_sensor`: a failed run's genuine gaps (date-level MISSING_DEPENDENCY /
  PROCESSING_ERROR rows of nba_processing.precompute_failures written by that run) and its failed
  ERROR checks, one alert each; a run that failed without either gets one RUN_FAILED alert.

Alerts go through operations.alerts.Notifier with the instance's key-value store, so each (asset,
date, cause) is sent once whichever process sends it; a dead endpoint never fails a sensor.

Default status: STOPPED unless NBA_PRECOMPUTE_OPERATIONS_SENSORS=RUNNING (the deployment sets it;
a laptop loading a season by hand does not want a run per loaded date). The fixed 10:00 UTC
`phase4_daily_schedule` (defs/phase4.py) stays as the fallback, off by default.
"""


import datetime as dt
import json
from typing import Callable

import dagster as dg
import pandas as pd

from nba_precompute import config
from nba_precompute.checks.config import load_config as load_checks_config

from nba_precompute.defs.events import report_runless_events
from nba_precompute.defs.phase3 import phase3_arrival_events
from nba_precompute.failures import DATE_LEVEL
from nba_precompute.operations import alerts as al
from nba_precompute.operations import arrival as ar
from nba_precompute.operations import freshness as fr
from nba_precompute.operations import volume as vo
from nba_precompute.operations.counts import volume_counts
from nba_precompute.phase3.contract import PHASE3_TABLES, SCHEDULE
from nba_precompute.registry import ASSET_NAMES
from nba_precompute.season import SeasonCalendar, to_datetime
from nba_precompute.tables import FAILURES
from nba_precompute.warehouse import Warehouse
from nba_precompute.warehouse.sql import qualified

ARRIVAL_SENSOR = "phase3_arrival_sensor"
FRESHNESS_SENSOR = "freshness_deadline_sensor"
VOLUME_SENSOR = "volume_anomaly_sensor"
RUN_FAILURE_SENSOR = "phase4_run_failure_sensor"
FRESHNESS_CHECK = "freshness_deadline"
from nba_precompute.config import ARRIVAL_LOOKBACK_ENV as LOOKBACK_ENV, OPERATIONS_SENSORS_ENV as STATUS_ENV  # noqa: E402,F401
ARRIVAL_TAG = "nba_precompute/arrival"

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def default_status() -> dg.DefaultSensorStatus:
    raw = config.current().operations_sensors
    try:
        return dg.DefaultSensorStatus[raw]
    except KeyError:
        raise ValueError(f"{STATUS_ENV}={raw!r}: expected RUNNING or STOPPED") from None


def lookback_days() -> int:
    return config.current().arrival_lookback_days


def window(now: dt.datetime, days: int) -> pd.DatetimeIndex:
    """The partition dates the sensors look at: the last `days` days through today (UTC)."""
    today = pd.Timestamp(now.astimezone(dt.timezone.utc).date())
    return pd.date_range(today - pd.Timedelta(days=days - 1), today, freq="D")


def alert_settings() -> al.AlertSettings:
    """Where alerts go: the configuration's alert fields, taken when a sensor is built (inside the
    definitions' `config.using` block, so the environment is read once per load)."""
    return al.AlertSettings.from_config(config.current())


def notifier(instance: dg.DagsterInstance, settings: al.AlertSettings) -> al.Notifier:
    return al.Notifier(settings, al.InstanceAlertStore(instance))


def _notify(context, alerts: list[al.Alert], settings: al.AlertSettings) -> al.NotifyResult:
    result = notifier(context.instance, settings).notify(alerts)
    for a in result.sent:
        context.log.info(f"alert sent: {a.cause.value} {a.asset} {a.date}")
    for a in result.undelivered:
        context.log.warning(f"alert not delivered (retried next tick): {a.cause.value} {a.asset} {a.date}")
    return result


# --- arrival --------------------------------------------------------------------------------------
def snapshots(warehouse: Warehouse) -> dict[str, ar.Snapshot]:
    """One GROUP BY per Phase 3 table present in the warehouse."""
    project = getattr(warehouse, "project", None)
    out = {}
    for table in PHASE3_TABLES:
        if warehouse.table_exists(table):
            out[table.fqn] = ar.snapshot_from_frame(warehouse.query(ar.snapshot_sql(table, warehouse.dialect, project)))
    return out


def changed_snapshot(previous: dict, current: dict) -> dict[str, ar.Snapshot]:
    """The dates of each table that are new or changed (the schedule whole when it changed)."""
    out = {}
    for fqn, snap in current.items():
        before = previous.get(fqn, {})
        if fqn == SCHEDULE.fqn:
            out[fqn] = snap if snap != before else {}
        else:
            out[fqn] = {d: v for d, v in snap.items() if before.get(d) != v}
    return out


def build_arrival_sensor(clock: Clock = utc_now) -> dg.SensorDefinition:
    @dg.sensor(
        name=ARRIVAL_SENSOR,
        target=dg.AssetSelection.assets(*ASSET_NAMES),
        minimum_interval_seconds=120,
        default_status=default_status(),
        description="Runs Phase 4 when Phase 3 lands: one run per date D with the assets whose inputs for D have "
        "all arrived (and changed since last requested); reports each new or changed Phase 3 date as a runless "
        "materialization of its table.",
    )
    def phase3_arrival_sensor(context: dg.SensorEvaluationContext, warehouse: Warehouse):
        cursor = ar.Cursor.from_json(context.cursor)
        snaps = snapshots(warehouse)
        if SCHEDULE.fqn not in snaps:
            return dg.SkipReason(f"no {SCHEDULE.fqn} in the warehouse yet")
        report_runless_events(context.instance, phase3_arrival_events(changed_snapshot(cursor.tables, snaps)))
        calendar = SeasonCalendar(warehouse.read(SCHEDULE))
        plan = ar.plan(cursor, snaps, calendar, window(clock(), lookback_days()))
        requests = [
            dg.RunRequest(
                run_key=f"arrival:{date}:{','.join(assets)}:{_digest(plan, date)}",
                partition_key=date,
                asset_selection=[dg.AssetKey(a) for a in assets],
                tags={ARRIVAL_TAG: "true"},
            )
            for date, assets in plan.by_date().items()
        ]
        waiting = plan.readiness[~plan.readiness["ready"]]
        for r in waiting.itertuples(index=False):
            context.log.info(f"{r.asset} {r.date} waits for {'; '.join(r.waiting_for)}")
        context.update_cursor(plan.cursor.to_json())
        if not requests:
            return dg.SkipReason(f"{len(plan.arrivals)} Phase 3 change(s); no Phase 4 date became ready")
        return requests

    return phase3_arrival_sensor


def _digest(plan: ar.Plan, date: str) -> str:
    """The fingerprints requested for the date: a run key that repeats only for the same inputs."""
    ready = plan.readiness[(plan.readiness["date"] == date) & plan.readiness["ready"]]
    return ar._hash(sorted(ready["fingerprint"]))[:10]


# --- freshness --------------------------------------------------------------------------------------
def first_materializations(instance: dg.DagsterInstance, asset: str, dates: list[str]) -> dict[tuple[str, str], dt.datetime]:
    """(asset, date) -> aware time of the partition's first materialization."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=dates), limit=10 * len(dates) + 10,
        ascending=True,
    ).records
    out: dict[tuple[str, str], dt.datetime] = {}
    for r in records:
        key = (asset, r.partition_key)
        out.setdefault(key, dt.datetime.fromtimestamp(r.timestamp, dt.timezone.utc))
    return out


def freshness_evaluations(results: pd.DataFrame, previous: dict[str, str]) -> tuple[list, dict[str, str]]:
    """Runless check evaluations for the (asset, date) that became MISSED (failed) or were
    materialized after having been MISSED (passed again: healed, LATE). Only a miss and its healing
    are reported: an on-time partition needs no evaluation beyond its materialization. Returns the
    events and the new {asset|date: status} (PENDING is not recorded)."""
    events, state = [], dict(previous)
    for r in results.itertuples(index=False):
        key = f"{r.asset}|{r.date}"
        was = state.get(key)
        if r.status == fr.PENDING or was == r.status:
            continue
        state[key] = r.status
        if r.status != fr.MISSED and was != fr.MISSED:
            continue
        events.append(dg.AssetCheckEvaluation(
            asset_key=dg.AssetKey(r.asset), check_name=FRESHNESS_CHECK, passed=r.status != fr.MISSED,
            severity=dg.AssetCheckSeverity.WARN, description=r.reason,
            metadata={"partition": r.date, "status": r.status, "deadline": pd.Timestamp(r.deadline).isoformat(),
                      "minutes_late": float(r.minutes_late)},
        ))
    return events, state


def build_freshness_sensor(clock: Clock = utc_now) -> dg.SensorDefinition:
    config = fr.load_freshness_config()
    alerting = alert_settings()

    @dg.sensor(
        name=FRESHNESS_SENSOR,
        minimum_interval_seconds=60,
        default_status=default_status(),
        description="Evaluates the freshness_deadline check of "
        + ", ".join(config.deadlines)
        + " (materialized by the deadline of each game date) and alerts once per missed (asset, date).",
    )
    def freshness_deadline_sensor(context: dg.SensorEvaluationContext, warehouse: Warehouse):
        now = clock()
        if not warehouse.table_exists(SCHEDULE):
            return dg.SkipReason(f"no {SCHEDULE.fqn} in the warehouse yet")
        days, results = freshness_window(context.instance, SeasonCalendar(warehouse.read(SCHEDULE)),
                                         list(config.deadlines), now, config)
        state = json.loads(context.cursor) if context.cursor else {}
        events, state = freshness_evaluations(results, state)
        report_runless_events(context.instance, events)
        _notify(context, al.freshness_alerts(fr.misses(results)), alerting)
        context.update_cursor(json.dumps(state, sort_keys=True))
        return dg.SkipReason(f"{len(events)} freshness status change(s) over {len(days)} game date(s)")

    return freshness_deadline_sensor


def freshness_check_specs() -> list[dg.AssetCheckSpec]:
    """The freshness_deadline check of each asset with a deadline. The specs belong to the Phase 4
    multi-asset (defs/phase4.py), which evaluates them at the end of each run that selects them
    (`freshness_check_results`), so a run never leaves them planned and skipped; the sensor also
    evaluates them, runless, when a deadline passes."""
    config = fr.load_freshness_config()
    return [dg.AssetCheckSpec(FRESHNESS_CHECK, asset=a, description=f"{a} is materialized by "
                              f"{config.deadlines[a].strftime('%H:%M')} {config.timezone} on every game date "
                              "(no deadline without games): evaluated over the last days at the end of each Phase 4 "
                              "run, and by the freshness_deadline_sensor when a deadline passes.")
            for a in config.deadlines]


def freshness_window(instance: dg.DagsterInstance, calendar: SeasonCalendar, assets: list[str], now: dt.datetime,
                     config: fr.FreshnessConfig) -> tuple[list[pd.Timestamp], pd.DataFrame]:
    """The game dates of the lookback window and their freshness (operations.freshness.evaluate)
    for `assets`, from the partitions' first materializations: what the sensor and the checks see."""
    days = [d for d in window(now, lookback_days()) if calendar.is_game_date(d)]
    keys = [d.strftime("%Y-%m-%d") for d in days]
    materialized = {}
    for asset in assets if keys else []:
        materialized.update(first_materializations(instance, asset, keys))
    results = fr.evaluate(days, materialized, now, config)
    return days, results[results["asset"].isin(assets)]


def freshness_check_results(instance: dg.DagsterInstance, calendar: SeasonCalendar, assets: list[str],
                            now: dt.datetime | None = None) -> list[dg.AssetCheckResult]:
    """One result per asset of `assets`: passed when no game date of the lookback window is past
    its deadline without a materialization."""
    if not assets:
        return []
    days, window_results = freshness_window(instance, calendar, assets, now or utc_now(), fr.load_freshness_config())
    out = []
    for asset in assets:
        results = window_results[window_results["asset"] == asset]
        missed = fr.misses(results)
        out.append(dg.AssetCheckResult(
            asset_key=asset, check_name=FRESHNESS_CHECK, passed=not len(missed), severity=dg.AssetCheckSeverity.WARN,
            metadata={"missed_dates": dg.MetadataValue.json(list(missed["date"])),
                      "late_dates": dg.MetadataValue.json(list(results[results["status"] == fr.LATE]["date"])),
                      "game_dates_checked": len(days)},
        ))
    return out


# --- volume ---------------------------------------------------------------------------------------
def build_volume_sensor(clock: Clock = utc_now) -> dg.SensorDefinition:
    config = load_checks_config().volume
    alerting = alert_settings()

    @dg.sensor(
        name=VOLUME_SENSOR,
        minimum_interval_seconds=300,
        default_status=default_status(),
        description="Compares the rows of each (asset, date) of the last days with the band the slate and the "
        "recent past predict (operations/volume); one alert per anomaly.",
    )
    def volume_anomaly_sensor(context: dg.SensorEvaluationContext, warehouse: Warehouse):
        now = clock()
        if not warehouse.table_exists(SCHEDULE):
            return dg.SkipReason(f"no {SCHEDULE.fqn} in the warehouse yet")
        days = window(now, lookback_days())
        # the band needs the reference dates before the window: one grouped query
        counts = volume_counts(warehouse, (days[0] - pd.Timedelta(days=config.history_days)).date(), days[-1].date())
        if not len(counts):
            return dg.SkipReason("no Phase 4 rows yet")
        calendar = SeasonCalendar(warehouse.read(SCHEDULE))
        results = vo.evaluate_counts(counts, calendar, config)
        recent = results[to_datetime(results["date"]).isin(days)]
        sent = _notify(context, al.volume_alerts(recent), alerting)
        return dg.SkipReason(f"{int(recent['anomaly'].sum())} anomal(ies) in the window; {len(sent.sent)} alert(s) sent")

    return volume_anomaly_sensor


# --- failed runs ------------------------------------------------------------------------------------
def run_gaps(warehouse: Warehouse, run_id: str) -> pd.DataFrame:
    """The date-level failures the run wrote (asset, date, status, category, reason)."""
    if not warehouse.table_exists(FAILURES):
        return pd.DataFrame(columns=["asset", "date", "status", "category", "reason"])
    project = getattr(warehouse, "project", None)
    safe = run_id.replace("'", "")
    f = warehouse.query(
        f"SELECT processor_name AS asset, analysis_date AS date, failure_category AS category, "
        f"failure_reason AS reason FROM {qualified(FAILURES, warehouse.dialect, project)} "
        f"WHERE run_id = '{safe}' AND entity_id = '{DATE_LEVEL}' ORDER BY 1, 2")
    from nba_precompute.coverage import status as st

    f["status"] = st.DATE_FAILED
    return f


def failed_error_checks(instance: dg.DagsterInstance, run_id: str, fallback_date: str | None) -> list[al.Alert]:
    """One alert per failed ERROR check evaluation of the run (per partition, or per failing date
    listed in an unpartitioned named check's `failures`, outcomes.run_checks)."""
    out = []
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        ev = record.get_dagster_event().event_specific_data
        if ev.passed or ev.severity != dg.AssetCheckSeverity.ERROR:
            continue
        meta = {k: getattr(v, "value", v) for k, v in (ev.metadata or {}).items()}
        listed = [f["date"] for f in meta.get("failures") or [] if isinstance(f, dict) and f.get("date")]
        dates = [ev.partition] if ev.partition else listed or [fallback_date]
        detail = str(ev.description or meta.get("failure_reason") or ev.check_name)
        for date in dates:
            alert = al.check_alert(ev.asset_key.path[-1], date, ev.check_name, "ERROR", detail) if date else None
            if alert:
                out.append(alert)
    return out


def run_assets_and_range(run: dg.DagsterRun) -> tuple[list[str], str | None, str | None]:
    tags = run.tags
    start = tags.get("dagster/asset_partition_range_start") or tags.get("dagster/partition")
    end = tags.get("dagster/asset_partition_range_end") or start
    selected = {k.path[-1] for k in run.asset_selection} if run.asset_selection else set(ASSET_NAMES)
    return sorted(selected & set(ASSET_NAMES), key=ASSET_NAMES.index), start, end


def step_errors(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """The first line of each failed step's error (the run failure's own message names no cause)."""
    out = []
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE):
        error = record.get_dagster_event().event_specific_data.error
        while error is not None and error.cause is not None and "DagsterExecutionStepExecutionError" in error.cls_name:
            error = error.cause
        if error is not None:
            out.append(f"{error.cls_name}: {error.message.strip().splitlines()[0]}")
    return out


def build_run_failure_sensor() -> dg.SensorDefinition:
    settings = alert_settings()

    @dg.run_failure_sensor(
        name=RUN_FAILURE_SENSOR,
        default_status=default_status(),
        monitor_all_code_locations=False,
        description="Alerts for a failed Phase 4 run: each genuine gap it recorded and each failed ERROR check, "
        "once per (asset, date, cause); a run that failed otherwise gets one RUN_FAILED alert.",
    )
    def phase4_run_failure_sensor(context: dg.RunFailureSensorContext, warehouse: Warehouse):
        run = context.dagster_run
        assets, start, end = run_assets_and_range(run)
        alerts = al.gap_alerts(run_gaps(warehouse, run.run_id)) + failed_error_checks(context.instance, run.run_id, start)
        if not alerts:
            message = "\n".join([context.failure_event.message or "run failed"] + step_errors(context.instance, run.run_id))
            alerts = [al.run_failure_alert(run.run_id, assets, start or "unknown", end or start or "unknown", message)
                      if start else al.Alert(al.Cause.RUN_FAILED, ",".join(assets) or run.job_name, run.run_id,
                                             "RUN_FAILED", message.splitlines()[0], (), "see the run's logs", run.run_id)]
        _notify(context, alerts, settings)

    return phase4_run_failure_sensor


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(
        sensors=[build_arrival_sensor(), build_freshness_sensor(), build_volume_sensor(), build_run_failure_sensor()],
    )
