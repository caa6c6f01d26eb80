"""The five Phase 4 assets: one subsettable multi-asset around pipeline.materialize_range.

Why one multi-asset rather than five @asset functions: a partition range is one run and one
step, the assets run producers-first inside it, and the step records an honest per-date
outcome for every (asset, date) itself, which a plain ranged @asset cannot do (its single
output marks every partition of the range materialized, failed dates included). What each
(asset, date) records is decided by outcomes.decide (PRECOMPUTE.md §4):

* data, or an expected final outcome (off-season, no games, bootstrap), gets an
  AssetMaterialization of its partition with that date's metadata (outcome, rows, reason,
  entity failures, dependency counts; a preview on the run's latest date);
* a genuine gap (missing dependency, processing error, blocked by an upstream ERROR check) gets
  no materialization but one AssetObservation of its partition (category, reason, failing
  upstream tables, root cause, repair command), and the run fails at its end listing every gap,
  so Dagster shows exactly those partitions as failed;
* each §8 check is a named, unpartitioned check of its asset, evaluated once per run over the
  dates it computed; a failing ERROR check blocks that date downstream and fails the run;
* the `freshness_deadline` checks (defs/operations.py) are evaluated at the end of the run, over
  the lookback window, so a run never leaves them planned and skipped.

Events per run: one materialization per materialized (asset, date), one observation per gap, one
evaluation per (asset, check); the materializations and observations go as batches
(defs/events.py). Selecting a subset of the five (in the UI or with --assets) runs only those.
Dagster marks nothing else: the outputs are skippable and never yielded.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field

import dagster as dg
import pandas as pd

from nba_precompute import outcomes, progress, registry
from nba_precompute.checks import checks_for, evaluate_range_result, load_config
from nba_precompute.defs.events import log_asset_events
from nba_precompute.defs.operations import FRESHNESS_CHECK, freshness_check_results, freshness_check_specs
from nba_precompute.dependencies import verdict_records
from nba_precompute.failures import Category, DATE_LEVEL
from nba_precompute.operations.counts import volume_counts
from nba_precompute.outcomes import FAILED_DEPENDENCIES, CheckRow
from nba_precompute.partitions import daily_partitions
from nba_precompute.phase3.contract import SCHEDULE
from nba_precompute.phase3.specs import asset_key, column_schema
from nba_precompute.pipeline import (
    RangeResult,
    materialize_range,
)
from nba_precompute.resources import WAREHOUSE_POOL, storage_kind
from nba_precompute.season import SeasonCalendar, to_datetime
from nba_precompute.registry import ASSET_NAMES

from nba_precompute.warehouse import Warehouse



def partition_dates(context: dg.AssetExecutionContext) -> pd.DatetimeIndex:
    window = context.partition_time_window
    return pd.date_range(window.start.date(), (window.end - pd.Timedelta(days=1)).date(), freq="D")


# --- metadata ---------------------------------------------------------------------------------
# A season is ~870 (asset, date) pairs: the per-date metadata is built from plain tuples grouped
# in one pass, because pandas filtering per date cost more than writing the events.


def _grouped(frame: pd.DataFrame | None, columns: list[str], row=None) -> dict[pd.Timestamp, list]:
    """The rows of `frame` as tuples of `columns` (or `row(*columns)`), grouped by analysis_date."""
    out: dict[pd.Timestamp, list] = defaultdict(list)
    if frame is None or not len(frame):
        return out
    dates = frame["analysis_date"]
    if not pd.api.types.is_datetime64_dtype(dates.dtype):
        dates = to_datetime(dates)
    for date, *values in zip(dates, *(frame[c] for c in columns)):
        out[date].append(row(*values) if row else tuple(values))
    return out


def date_metadata(result: RangeResult) -> dict[pd.Timestamp, dict]:
    """What each (asset, date) produced, for its partition's event."""
    failures = _grouped(result.failures, ["entity_id", "failure_category", "failure_reason"])
    verdicts = _grouped(result.verdicts, ["upstream", "found", "required", "ok"])
    days = result.days
    out = {}
    for date, outcome, rows, entity_failures in zip(
        days["analysis_date"], days["outcome"], days["rows"], days["entity_failures"]
    ):
        meta: dict = {
            "outcome": str(outcome),
            "dagster/row_count": dg.MetadataValue.int(int(rows)),
            "entity_failures": dg.MetadataValue.int(int(entity_failures)),
        }
        f = failures.get(date, [])
        by_category = Counter(category for entity, category, _ in f if entity != DATE_LEVEL)
        if by_category:
            meta["entity_failures_by_category"] = dict(by_category.most_common())
        date_level = [(category, reason) for entity, category, reason in f if entity == DATE_LEVEL]
        if date_level:
            meta["failure_category"], meta["failure_reason"] = (str(x) for x in date_level[0])
        if date in verdicts:  # found / required per dependency rule, one entry
            meta["dependencies"] = "; ".join(f"{upstream} {found}/{required}" for upstream, found, required, _ in verdicts[date])
            failed = [upstream for upstream, _, _, ok in verdicts[date] if not ok]
            if failed:
                meta[FAILED_DEPENDENCIES] = dg.MetadataValue.json(failed)
        out[date] = meta
    # One preview per run, on its latest date with rows (the one the asset page shows first):
    # rendering markdown for every date of a season cost more than the event writes.
    if len(result.rows):
        row_dates = to_datetime(result.rows["analysis_date"])
        last = row_dates.max()
        out[last]["preview"] = dg.MetadataValue.md(result.rows[row_dates == last].head(5).to_markdown(index=False))
    return out


def run_summary(result: RangeResult) -> str:
    days = result.days
    counts = days["outcome"].value_counts().to_dict()
    return (
        f"{result.asset}: {len(result.rows)} rows over {len(days)} date(s) "
        f"{days['analysis_date'].min().date()}..{days['analysis_date'].max().date()}; outcomes {counts}; "
        f"{int((result.failures['entity_id'] != DATE_LEVEL).sum())} entity failures"
    )


# --- the run ---------------------------------------------------------------------------------
@dataclass
class Phase4Run:
    """One step's work over a partition range: each selected asset in dependency order."""

    context: dg.AssetExecutionContext
    warehouse: Warehouse
    dates: pd.DatetimeIndex
    blocked: dict[pd.Timestamp, str] = field(default_factory=dict)  # date -> why (ERROR check upstream)
    gaps: list[outcomes.Gap] = field(default_factory=list)  # not materialized: fail the run at its end
    check_frames: dict[str, pd.DataFrame] = field(default_factory=dict)  # asset -> §8 results of the run
    errors: list[str] = field(default_factory=list)  # failing ERROR checks of materialized dates
    history: pd.DataFrame | None = None  # stored counts before the run's first date (the volume band)

    def materialize(self, asset: str, calendar: SeasonCalendar) -> RangeResult:
        blocked = dict(self.blocked)  # by upstream assets of this run, before this one reports
        progress.report(asset, len(self.dates), finished=False)
        dates = pd.DatetimeIndex([d for d in self.dates if d not in blocked])
        result = materialize_range(asset, calendar, dates, self.warehouse.read_required) if len(dates) else None
        if result is not None:
            self.warehouse.write_partitions(asset, result.dates, result.rows, result.failures, self.context.run.run_id,
                                            verdict_records(asset, result.verdicts))
            self.context.log.info(run_summary(result))
            if result.error is not None:
                self.context.log.error(f"{asset}: {result.error}")
            slate = result.days.set_index("analysis_date")["slate"] if "slate" in result.days else None
            checks = evaluate_range_result(result, slate_sizes=slate, calendar=calendar, history=self.volume_history())
            self.check_frames[asset] = checks
            self._report(asset, result, checks)
        for date, why in sorted(blocked.items()):
            self.gaps.append(outcomes.blocked(asset, date, why).gap)
        progress.report(asset, len(self.dates), finished=True)
        return result

    def volume_history(self) -> pd.DataFrame:
        """Rows and entity failures per (asset, date) of the `history_days` before the run's first
        date, read once per run (one grouped query): the volume check's trailing references."""
        if self.history is None:
            first = self.dates.min()
            days = load_config().volume.history_days
            self.history = volume_counts(self.warehouse, (first - pd.Timedelta(days=days)).date(),
                                         (first - pd.Timedelta(days=1)).date())
        return self.history

    def _report(self, asset: str, result: RangeResult, checks: pd.DataFrame) -> None:
        """Log what the outcome policy decides for each date (outcomes.decide)."""
        by_date = _grouped(checks, list(CheckRow._fields), CheckRow)
        metadata = date_metadata(result)
        decisions = [(date, outcomes.decide(asset, date, outcome, by_date.get(date, []), metadata[date]))
                     for date, outcome in zip(result.days["analysis_date"], result.days["outcome"])]
        # one batch for the asset (defs/events.py)
        log_asset_events(self.context, [
            dg.AssetMaterialization(asset_key=asset, partition=_key(date), metadata=metadata[date])
            for date, decided in decisions if decided.materialize
        ])
        for date, decided in decisions:
            if decided.blocks:
                self.blocked.setdefault(date, decided.blocks)
            if decided.error:
                self.errors.append(decided.error)
            if decided.gap:
                self.gaps.append(decided.gap)

    def check_results(self) -> list[dg.AssetCheckResult]:
        """One result per selected named §8 check of the run (outcomes.run_checks)."""
        config = load_config()
        selected = self.context.selected_asset_check_keys
        out = []
        for asset in ASSET_NAMES:
            names = [d.name for d in checks_for(asset) if dg.AssetCheckKey(dg.AssetKey(asset), d.name) in selected]
            if not names:
                continue
            summaries = outcomes.run_checks(asset, names, {n: config.severity(n).value for n in names},
                                            self.check_frames.get(asset))
            out.extend(
                dg.AssetCheckResult(
                    asset_key=asset, check_name=c.check, passed=c.passed, severity=dg.AssetCheckSeverity(c.severity),
                    metadata=_metadata(c.metadata),
                )
                for c in summaries
            )
        return out

    def failure(self) -> dg.Failure | None:
        """The run's end when it holds genuine gaps or failing ERROR checks: every asset and date
        has been computed and written by now, so the chains read the stored verdicts. Each gap's
        partition gets its observation here, with its chain (one batch per asset)."""
        if not self.gaps and not self.errors:
            return None
        start, end = self.dates.min().date(), self.dates.max().date()
        chains = root_cause_chains(self.warehouse, start, end, self.gaps)
        command = f"nba-precompute backfill --start {start} --end {end} --only failed"
        for asset in ASSET_NAMES:
            log_asset_events(self.context, [
                dg.AssetObservation(asset_key=asset, partition=g.day, metadata=_metadata(
                    outcomes.gap_observation(g, chains.get((g.asset, g.day), []), command)))
                for g in self.gaps if g.asset == asset
            ])
        description = outcomes.failure_description(self.gaps, self.errors, chains, command=command)
        return dg.Failure(description=description, metadata={
            "gaps": dg.MetadataValue.int(len(self.gaps)),
            # an exception, not an upstream gap: `backfill` exits 1 for these even with --allow-gaps
            "processing_errors": dg.MetadataValue.int(
                sum(g.category == Category.PROCESSING_ERROR.value for g in self.gaps)),
            "failed_partitions": dg.MetadataValue.json(
                [{"asset": g.asset, "date": g.day, "category": g.category, "reason": g.reason}
                 for g in self.gaps[:outcomes.MAX_LISTED]]),
            "check_errors": dg.MetadataValue.json(self.errors[:outcomes.MAX_LISTED]),
        })


def root_cause_chains(warehouse: Warehouse, start, end, gaps: list[outcomes.Gap]) -> dict[tuple[str, str], list[str]]:
    """The §9 root-cause chain lines of each gap computed in the run (not of blocked dates, whose
    reason is the upstream check), from the verdicts just written."""
    from nba_precompute.coverage.explain import Explainer
    from nba_precompute.coverage.load import load_coverage

    computed = [g for g in gaps if g.category != outcomes.BLOCKED]
    if not computed:
        return {}
    cov = load_coverage(warehouse, start, end, ASSET_NAMES)
    explainer = Explainer(cov.frame, cov.calendar)
    return {(g.asset, g.day): [c.text for c in explainer.chains(g.asset, g.date)] for g in computed}


def _metadata(values: dict) -> dict:
    """Plain metadata values as Dagster's: lists and dicts as JSON."""
    return {k: dg.MetadataValue.json(v) if isinstance(v, (list, dict)) else v for k, v in values.items()}


def _key(date) -> str:
    return pd.Timestamp(date).strftime("%Y-%m-%d")


# --- definitions ------------------------------------------------------------------------------
def phase4_specs(storage_kind: str) -> list[dg.AssetSpec]:
    specs = []
    for name in ASSET_NAMES:
        spec = registry.get(name)
        deps = [asset_key(SCHEDULE)] + [asset_key(t) for t in registry.phase3_inputs(name)] + [
            dg.AssetKey(a) for a in registry.upstream_assets(name)
        ]
        specs.append(
            dg.AssetSpec(
                key=name,
                description=spec.description + f"\n\nTable: `{spec.table.fqn}`.",
                group_name="phase4",
                kinds={storage_kind, "pandas"},
                deps=deps,
                skippable=True,
                metadata={
                    "dagster/table_name": spec.table.fqn,
                    "dagster/column_schema": column_schema(spec.table),
                    "primary_key": ", ".join(spec.table.key),
                },
                tags={"layer": "phase4"},
            )
        )
    return specs


def named_check_specs() -> list[dg.AssetCheckSpec]:
    """Each §8 check of the registry as a named, unpartitioned check of its asset: one evaluation
    per run summarizes the run's dates (blocking per date stays inside the step, which runs the
    five assets in one step, so Dagster's step-level `blocking` would add nothing)."""
    config = load_config()
    return [
        dg.AssetCheckSpec(d.name, asset=name, description=f"{d.description} (severity {config.severity(d.name).value}; "
                          "one evaluation per run over the dates it computed)")
        for name in ASSET_NAMES for d in checks_for(name)
    ]


def build_phase4_assets(storage_kind: str) -> dg.AssetsDefinition:
    check_specs = named_check_specs() + freshness_check_specs()

    @dg.multi_asset(
        name="phase4",
        specs=phase4_specs(storage_kind),
        check_specs=check_specs,
        partitions_def=daily_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        can_subset=True,
        pool=WAREHOUSE_POOL,
    )
    def phase4(context: dg.AssetExecutionContext, warehouse: Warehouse):
        """Materialize the selected Phase 4 assets over the run's partition range."""
        selected = [name for name in ASSET_NAMES if dg.AssetKey(name) in context.selected_asset_keys]
        # the checks alone (the UI's "Execute checks") run without a partition: nothing to compute
        run, failure = None, None
        with warehouse.session():  # one connection for the whole step
            warehouse.ensure_tables()
            calendar = SeasonCalendar(warehouse.read_required(SCHEDULE))
            if selected:
                run = Phase4Run(context, warehouse, partition_dates(context))
                for name in selected:
                    run.materialize(name, calendar)
                failure = run.failure()
        fresh = freshness_check_results(context.instance, calendar, [
            k.asset_key.path[-1] for k in context.selected_asset_check_keys if k.name == FRESHNESS_CHECK])
        if run is not None:
            yield from run.check_results()
        yield from fresh
        if failure is not None:
            raise failure

    return phase4


# --- the daily production run -----------------------------------------------------------------
# Rows for D describe the state before D's games, from Phase 3 data that lands in the morning, so
# the job runs at 10:00 UTC for partition D (the partitions end tomorrow, `end_offset=1`).
# Off by default: a deployment turns it on once Phase 3 lands daily (docs/DEPLOY.md).
phase4_daily_job = dg.define_asset_job(
    "phase4_daily",
    selection=dg.AssetSelection.assets(*ASSET_NAMES),
    description="The five Phase 4 assets for one date (their named checks included).",
)


def build_phase4_daily_schedule() -> dg.ScheduleDefinition:
    return dg.build_schedule_from_partitioned_job(
        phase4_daily_job, hour_of_day=10, minute_of_hour=0, default_status=dg.DefaultScheduleStatus.STOPPED,
        name="phase4_daily_schedule",
    )


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(
        assets=[build_phase4_assets(storage_kind())],
        jobs=[phase4_daily_job],
        schedules=[build_phase4_daily_schedule()],
    )
