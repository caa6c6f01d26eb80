"""Asset checks of the five precompute assets (PRECOMPUTE.md §8, and `volume`, issue 14).

- registry: CHECKS, one CheckDefinition per check (function, description, default severity,
  when it applies, settings model); `checks_for(asset)`, CHECK_NAMES;
- config: the thresholds / severities (thresholds.yaml + NBA_PRECOMPUTE_CHECKS_CONFIG), pydantic;
- partition: the per-partition view the checks read; text: how results read;
- rules: the checks themselves, pure pandas; evaluate: `evaluate_checks`, the result frame,
  shared by the Dagster checks and the audit;
- candidates: an asset's candidates re-derived from Phase 3 (for audits of stored tables);
- audit: `nba-precompute check` over stored tables (imports the warehouse layer).
"""

from nba_precompute.checks.config import ChecksConfig, ChecksConfigError, Severity, load_config
from nba_precompute.checks.evaluate import (
    RESULT_COLUMNS,
    CheckResult,
    check_results,
    evaluate_checks,
    evaluate_range_result,
    failed,
)
from nba_precompute.checks.registry import CHECK_NAMES, CHECKS, CheckDefinition, checks_for

__all__ = [
    "CHECKS",
    "CHECK_NAMES",
    "CheckDefinition",
    "CheckResult",
    "ChecksConfig",
    "ChecksConfigError",
    "RESULT_COLUMNS",
    "Severity",
    "check_results",
    "checks_for",
    "evaluate_checks",
    "evaluate_range_result",
    "failed",
    "load_config",
]
