"""Coverage of the Phase 4 assets (PRECOMPUTE.md §9): which dates are missing for which asset, and why.

Modules:

* status.py         the coverage model: status per (asset, date) and the range report (pure pandas)
* load.py           reads row counts, failures and the schedule from the warehouse -> Coverage
* dagster_status.py Dagster's partition status per (asset, date) and the agreement column
* explain.py        root-cause chains of failed dates
* heatmap.py        assets x dates heatmap, PNG and self-contained HTML
* report.py         table / CSV / JSON (documented shape) / Markdown
* cli.py            `nba-precompute coverage` and `nba-precompute explain`
* asset.py          the `coverage_report` asset and its daily schedule

For the code location: `coverage_assets` and `coverage_schedules` (built on first access, for
the configured storage kind).
"""

from __future__ import annotations


def __getattr__(name: str):
    if name == "coverage_assets":
        from nba_precompute.coverage.asset import build_coverage_report
        from nba_precompute.resources import storage_kind

        value = [build_coverage_report(storage_kind())]
    elif name == "coverage_schedules":
        from nba_precompute.coverage.asset import build_coverage_schedule

        value = [build_coverage_schedule()]
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


__all__ = ["coverage_assets", "coverage_schedules"]
