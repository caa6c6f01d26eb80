"""The five Phase 4 assets: thin Dagster definitions around pipeline.materialize_range.

Every asset is built by one factory: daily partitions with a single-run backfill policy (a
partition range is one run and one vectorised computation), reads and writes through the
`warehouse` resource, and a MaterializeResult whose metadata says what happened per date.
"""

import dagster as dg
import pandas as pd

from nba_precompute.failures import DATE_LEVEL
from nba_precompute.partitions import daily_partitions
from nba_precompute.phase3.contract import SCHEDULE
from nba_precompute.phase3.specs import asset_key, column_schema
from nba_precompute.pipeline import ASSETS, RangeResult, materialize_range
from nba_precompute.season import SeasonCalendar
from nba_precompute.settings import ASSETS as ASSET_NAMES
from nba_precompute.tables import ENTITY_COLUMN
from nba_precompute.warehouse import Warehouse

DESCRIPTIONS = {
    "psza": "Each player's shot mix and accuracy by zone over his last 10 and 20 played games before D.",
    "tdza": "Each team's defense by zone over its last 15 games before D, in percentage points against the league.",
    "pdc": "Per slate player: rolling points, minutes, usage and efficiency, team pace and rating, and the day's context.",
    "pcf": "Per slate player: fatigue, shot-zone mismatch, pace and usage-spike factors and their total adjustment.",
    "mlfs": "The 25-feature vector per slate player-game, with each feature's source and a quality score and tier.",
}


def partition_dates(context: dg.AssetExecutionContext) -> pd.DatetimeIndex:
    window = context.partition_time_window
    return pd.date_range(window.start.date(), (window.end - pd.Timedelta(days=1)).date(), freq="D")


def result_metadata(result: RangeResult) -> dict:
    days = result.days
    failures = result.failures
    date_level = failures[failures["entity_id"] == DATE_LEVEL]
    entity = failures[failures["entity_id"] != DATE_LEVEL]
    outcome_counts = days["outcome"].fillna("UNKNOWN").value_counts().to_dict()
    per_date = days[["analysis_date", "outcome", "rows", "entity_failures"]].copy()
    per_date["analysis_date"] = per_date["analysis_date"].dt.strftime("%Y-%m-%d")
    meta: dict = {
        "dagster/row_count": dg.MetadataValue.int(len(result.rows)),
        "rows": dg.MetadataValue.int(len(result.rows)),
        "dates": dg.MetadataValue.int(len(days)),
        "first_date": str(days["analysis_date"].min().date()),
        "last_date": str(days["analysis_date"].max().date()),
        "entities": dg.MetadataValue.int(
            int(result.rows[ENTITY_COLUMN[result.asset]].nunique()) if len(result.rows) else 0
        ),
        "date_level_failures": dg.MetadataValue.int(len(date_level)),
        "date_level_failures_by_category": date_level["failure_category"].value_counts().to_dict(),
        "entity_failures": dg.MetadataValue.int(len(entity)),
        "entity_failures_by_category": entity["failure_category"].value_counts().to_dict(),
        "outcomes": outcome_counts,
        "failed_dates": sorted(date_level["analysis_date"].dt.strftime("%Y-%m-%d").unique().tolist()),
        "per_date": dg.MetadataValue.md(per_date.to_markdown(index=False)),
        "phase3_max_processed_at": result.max_processed_at,
    }
    if len(result.verdicts):
        v = result.verdicts.groupby(["rule", "upstream"]).agg(
            dates=("ok", "size"), failed=("ok", lambda s: int((~s).sum())),
            min_found=("found", "min"), min_required=("required", "min"), max_required=("required", "max"),
        ).reset_index()
        meta["dependency_rules"] = dg.MetadataValue.md(v.to_markdown(index=False))
    if len(result.rows):
        meta["preview"] = dg.MetadataValue.md(result.rows.head(5).to_markdown(index=False))
    if result.extras is not None and len(result.extras):
        meta["extras"] = dg.MetadataValue.md(result.extras.tail(10).to_markdown(index=False))
    return meta


def build_precompute_asset(name: str, storage_kind: str) -> dg.AssetsDefinition:
    spec = ASSETS[name]
    deps = [asset_key(SCHEDULE)] + [asset_key(t) for t in spec.phase3_inputs] + [
        dg.AssetKey(a) for a in spec.upstream_assets
    ]

    @dg.asset(
        name=name,
        description=DESCRIPTIONS[name] + f"\n\nTable: `{spec.table.fqn}`.",
        group_name="phase4",
        kinds={storage_kind, "pandas"},
        partitions_def=daily_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        deps=deps,
        metadata={
            "dagster/table_name": spec.table.fqn,
            "dagster/column_schema": column_schema(spec.table),
            "primary_key": ", ".join(spec.table.key),
        },
        tags={"layer": "phase4"},
        pool="warehouse",
    )
    def _asset(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        warehouse.ensure_tables()
        calendar = SeasonCalendar(warehouse.read_required(SCHEDULE))
        result = materialize_range(name, calendar, partition_dates(context), warehouse.read_required)
        warehouse.write_partitions(name, result.dates, result.rows, result.failures, context.run.run_id)
        if result.error is not None:
            raise dg.Failure(
                description=f"{name}: processing error on {len(result.days[result.days['outcome'] == 'PROCESSING_ERROR'])} "
                f"date(s), recorded in nba_processing.precompute_failures: {result.error}",
                metadata=result_metadata(result),
            ) from result.error
        return dg.MaterializeResult(metadata=result_metadata(result))

    return _asset


def build_precompute_assets(storage_kind: str) -> list[dg.AssetsDefinition]:
    return [build_precompute_asset(name, storage_kind) for name in ASSET_NAMES]
