"""The `coverage` and `explain` commands (wired in nba_precompute/cli.py).

    nba-precompute coverage --start D1 --end D2 [--assets a,b] [--format table|csv|json|md]
                            [--dates] [--explain] [--heatmap FILE.png|FILE.html] [--trend FILE.png]
    nba-precompute explain ASSET DATE

`coverage` prints the §9 range report (and with --dates the per-date grid, with --explain the
root-cause chain of every failed date) on stdout; --trend writes the rows-per-date plot with the
volume check's expected band (coverage/trend.py). The file paths go to stderr so that
`--format json` stdout stays pure JSON. It returns 0 whatever the statuses are: it is a report,
not a gate (scripts read "status" per asset from --format json). Errors (no schedule loaded, an
unreadable warehouse) exit 2 through the main CLI.

The Dagster instance compared against is the CLI's ($DAGSTER_HOME, else
.nba_precompute/dagster_home); when neither exists no instance is created and every
dagster_status is "unknown".
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from nba_precompute import config as configuration
from nba_precompute.config import Config
from nba_precompute.coverage import heatmap, report, trend
from nba_precompute.coverage.explain import Explainer
from nba_precompute.coverage.load import load_coverage
from nba_precompute.registry import ASSET_NAMES
from nba_precompute.warehouse import Warehouse


def open_instance(config: Config | None = None):
    """The CLI's Dagster instance when one exists, else None (never creates one)."""
    from nba_precompute.instance import DEFAULT_HOME, get_instance

    config = config or configuration.current()
    if not Path(config.dagster_home or DEFAULT_HOME).is_dir():
        return None
    try:
        return get_instance(config)
    except Exception as exc:  # a broken instance must not stop the report
        print(f"warning: Dagster instance not readable ({exc}); dagster_status unknown", file=sys.stderr)
        return None


def run_coverage(args, warehouse: Warehouse, instance=None) -> int:
    if args.end < args.start:
        print(f"error: --end {args.end} is before --start {args.start}", file=sys.stderr)
        return 2
    instance = instance if instance is not None else open_instance()
    assets = list(getattr(args, "assets", None) or ASSET_NAMES)
    # all five are loaded so that chains can follow any clause; the output shows `assets`
    cov = load_coverage(warehouse, args.start, args.end, ASSET_NAMES, instance=instance)
    explain = bool(getattr(args, "explain", False))
    if explain:
        cov.explain(warehouse)
    cov = cov.select(assets)
    path = getattr(args, "heatmap", None)
    if path is not None:
        heatmap.render(cov.frame, path, cov.report, cov.calendar)
        print(f"heatmap written to {path}", file=sys.stderr)
    trend_path = getattr(args, "trend", None)
    if trend_path is not None:
        results = trend.volume_trend(warehouse, args.start, args.end, cov.calendar, assets)
        if trend.write_trend(results, trend_path) is None:
            print(f"volume trend not written: no rows in {args.start}..{args.end}", file=sys.stderr)
        else:
            n = int(results["anomaly"].sum())
            print(f"volume trend written to {trend_path} ({n} anomal{'y' if n == 1 else 'ies'})", file=sys.stderr)
    sys.stdout.write(report.render(cov, getattr(args, "format", "table"), bool(getattr(args, "dates", False)), explain))
    return 0


def explain_lines(asset: str, date: dt.date, warehouse: Warehouse, instance=None) -> list[str]:
    """The chain lines of (asset, date), then a note when Dagster disagrees."""
    cov = load_coverage(warehouse, date, date, ASSET_NAMES, instance=instance)
    lines = [c.text for c in Explainer(cov.frame, cov.calendar, warehouse).chains(asset, date)]
    cell = cov.frame[cov.frame["asset"] == asset].iloc[0]
    if heatmap.disagrees(cell["dagster_agrees"]):
        lines.append(f"  Dagster disagrees: {cell['dagster_note']}")
    return lines


def run_explain(asset: str, date: dt.date, warehouse: Warehouse, instance=None) -> int:
    instance = instance if instance is not None else open_instance()
    for line in explain_lines(asset, date, warehouse, instance):
        print(line)
    return 0
