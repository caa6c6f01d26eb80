"""`coverage_report`: the coverage of the five Phase 4 assets as an asset of the Dagster UI.

Unpartitioned, downstream of psza, tdza, pdc, pcf and mlfs; materialized on demand (the
Materialize button, with optional config) and every morning by `coverage_report_schedule`. Each
materialization reads the warehouse and this Dagster instance and carries:

* `range_report` (markdown): the §9 range table, missing dates, Dagster disagreements
* `per_date` (markdown): the per-date grid, one column per asset, Dagster's status in brackets
* `heatmap` (markdown with the PNG inline) and `heatmap_png` / `heatmap_html` (file paths)
* `volume_trend` (markdown with the PNG inline: rows per date with the volume check's expected
  band, a panel per asset, anomalies marked), `volume_trend_png` (file path) and
  `volume_anomalies` (the count of flagged (asset, date) in the window)
* `root_causes` (markdown): the root-cause chain of every failed date
* numeric counts (`expected`, `data_dates`, `date_level_failures`, `missing`,
  `dagster_disagreements`, `incomplete_assets`, and `<asset>_missing` / `<asset>_data_dates` /
  `<asset>_date_level_failures` per asset), which the UI plots over materializations.

Window: by default the data's range, the first to the latest analysis_date in the Phase 4 tables
or the failure table (today when they are empty), so the report covers what the CLI computed and
its statuses agree with `nba-precompute coverage` over that range; `days` (the schedule sets 30)
makes it the last `days` dates up to `end`; `start` / `end` override either bound.
"""

# (no `from __future__ import annotations`: Dagster resolves the config annotation at definition time)
import datetime as dt
from pathlib import Path

import dagster as dg
import pandas as pd

from nba_precompute.coverage import heatmap, report, trend
from nba_precompute.coverage.load import Coverage, data_range, load_coverage
from nba_precompute.resources import WAREHOUSE_POOL, storage_kind
from nba_precompute.registry import ASSET_NAMES
from nba_precompute.warehouse import Warehouse

COVERAGE_ASSET = "coverage_report"


class CoverageReportConfig(dg.Config):
    start: str | None = None  # "YYYY-MM-DD"; default the first analysis_date (or end - (days - 1))
    end: str | None = None  # "YYYY-MM-DD"; default the latest analysis_date in the warehouse
    days: int | None = None  # the last `days` dates up to end instead of the data's range


def report_window(config: CoverageReportConfig, warehouse: Warehouse, today: dt.date | None = None
                  ) -> tuple[dt.date, dt.date]:
    found = data_range(warehouse)
    end = dt.date.fromisoformat(config.end) if config.end else (found[1] if found else today or dt.date.today())
    if config.start:
        start = dt.date.fromisoformat(config.start)
    elif config.days is not None or not found:
        start = end - dt.timedelta(days=max(1, config.days or 30) - 1)
    else:
        start = min(found[0], end)
    if start > end:
        raise dg.Failure(f"coverage_report: start {start} is after end {end}")
    return start, end


def coverage_metadata(cov: Coverage, png: bytes | None = None, files: dict[str, Path] | None = None,
                      volume: pd.DataFrame | None = None, trend_png: bytes | None = None) -> dict:
    """The materialization metadata of a coverage (see the module docstring)."""
    r = cov.report
    meta: dict = {
        "start": str(cov.start),
        "end": str(cov.end),
        "dates": dg.MetadataValue.int((cov.end - cov.start).days + 1),
        "expected": dg.MetadataValue.int(int(r["expected"].sum())),
        "data_dates": dg.MetadataValue.int(int(r["data_dates"].sum())),
        "date_level_failures": dg.MetadataValue.int(int(r["date_level_failures"].sum())),
        "missing": dg.MetadataValue.int(int(r["missing"].sum())),
        "entity_failures": dg.MetadataValue.int(int(r["entity_failures"].sum())),
        "dagster_disagreements": dg.MetadataValue.int(int(r["dagster_disagreements"].sum())),
        "incomplete_assets": dg.MetadataValue.int(int((r["status"] == "INCOMPLETE").sum())),
        "status_by_asset": dg.MetadataValue.json(dict(zip(r["asset"], r["status"]))),
        "range_report": dg.MetadataValue.md(report.to_markdown(cov)),
        "per_date": dg.MetadataValue.md(report.grid_markdown(cov) + "\n\n" + report.GRID_LEGEND + ". "
                                        + report.GRID_DAGSTER_LEGEND + "."),
    }
    for row in r.itertuples():
        meta[f"{row.asset}_missing"] = dg.MetadataValue.int(int(row.missing))
        meta[f"{row.asset}_data_dates"] = dg.MetadataValue.int(int(row.data_dates))
        meta[f"{row.asset}_date_level_failures"] = dg.MetadataValue.int(int(row.date_level_failures))
    lines = report.chain_lines(cov)
    meta["root_causes"] = dg.MetadataValue.md("```\n" + "\n".join(lines) + "\n```" if lines else "No failed dates.")
    if png is not None:
        title, counts = heatmap.title_lines(cov.frame)
        meta["heatmap"] = dg.MetadataValue.md(f"**{title}**\n\n{counts}\n\n![coverage heatmap]({heatmap.png_data_uri(png)})")
    if volume is not None:
        flagged = volume[volume["anomaly"]]
        meta["volume_anomalies"] = dg.MetadataValue.int(len(flagged))
        if trend_png is not None:
            listed = ", ".join(f"{a} {pd.Timestamp(d):%Y-%m-%d}" for a, d in zip(flagged["asset"], flagged["date"]))
            meta["volume_trend"] = dg.MetadataValue.md(
                f"**Rows per date and the volume check's expected band**\n\n{len(flagged)} anomal"
                f"{'y' if len(flagged) == 1 else 'ies'}{': ' + listed if listed else ''}\n\n"
                f"![volume trend]({heatmap.png_data_uri(trend_png)})")
    for name, path in (files or {}).items():
        meta[name] = dg.MetadataValue.path(str(path))
    return meta


def build_coverage_report(storage_kind: str) -> dg.AssetsDefinition:
    @dg.asset(
        name=COVERAGE_ASSET,
        group_name="coverage",
        deps=[dg.AssetKey(a) for a in ASSET_NAMES],
        kinds={storage_kind, "pandas"},
        description="Which dates are missing for which Phase 4 asset, and why (PRECOMPUTE.md §9): the range "
        "report, a per-date grid, a heatmap, the rows per date against the volume check's band and the root causes, "
        "cross-checked with Dagster's partition status.",
        pool=WAREHOUSE_POOL,
        tags={"layer": "coverage"},
    )
    def coverage_report(context: dg.AssetExecutionContext, config: CoverageReportConfig,
                        warehouse: Warehouse) -> dg.MaterializeResult:
        start, end = report_window(config, warehouse)
        cov = load_coverage(warehouse, start, end, ASSET_NAMES, instance=context.instance).explain(warehouse)
        png = heatmap.png_bytes(cov.frame, cov.report, cov.calendar, dpi=80)
        volume = trend.volume_trend(warehouse, start, end, cov.calendar)
        trend_png = trend.trend_png_bytes(volume)
        files: dict[str, Path] = {}
        try:
            folder = Path(context.instance.storage_directory()) / "coverage"
            stem = f"coverage_{start}_{end}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{stem}.png").write_bytes(png)
            files["heatmap_png"] = folder / f"{stem}.png"
            files["heatmap_html"] = heatmap.render_html(cov.frame, folder / f"{stem}.html", cov.report, cov.calendar)
            if trend_png is not None:
                (folder / f"{stem}_volume.png").write_bytes(trend_png)
                files["volume_trend_png"] = folder / f"{stem}_volume.png"
        except OSError as exc:  # no local storage directory: the inline image is still there
            context.log.warning(f"heatmap files not written: {exc}")
        context.log.info("\n" + report.to_text(cov))
        return dg.MaterializeResult(metadata=coverage_metadata(cov, png, files, volume, trend_png))

    return coverage_report


def build_coverage_schedule() -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name="coverage_report_schedule",
        cron_schedule="0 7 * * *",
        target=dg.AssetSelection.assets(COVERAGE_ASSET),
        run_config={"ops": {COVERAGE_ASSET: {"config": {"days": 30}}}},
        description="Every morning at 07:00: the coverage of the last 30 days of Phase 4 data.",
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[build_coverage_report(storage_kind())], schedules=[build_coverage_schedule()])
