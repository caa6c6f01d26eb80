"""Coverage of the Phase 4 assets (PRECOMPUTE.md §9): which dates are missing for which asset, and why.

Modules:

* status.py         the coverage model: status per (asset, date) and the range report (pure pandas)
* load.py           reads row counts, failures and the schedule from the warehouse -> Coverage
* dagster_status.py Dagster's partition status per (asset, date) and the agreement column
* explain.py        root-cause chains of failed dates
* heatmap.py        assets x dates heatmap, PNG and self-contained HTML
* trend.py          rows per date against the volume check's expected band (PNG)
* report.py         table / CSV / JSON (documented shape) / Markdown
* cli.py            `nba-precompute coverage` and `nba-precompute explain`
(the `coverage_report` asset and its schedule are in nba_precompute/defs/coverage.py)
"""
