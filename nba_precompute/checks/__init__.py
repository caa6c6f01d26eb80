"""Asset checks of the five precompute assets (PRECOMPUTE.md §8).

- config: the typed thresholds / severities (thresholds.yaml + NBA_PRECOMPUTE_CHECKS_CONFIG);
- rules: `evaluate_checks`, pure pandas, shared by the Dagster checks and the audit;
- candidates: an asset's candidates re-derived from Phase 3 (for audits of stored tables);
- audit: `nba-precompute check` over stored tables (imports the warehouse layer).
"""

from nba_precompute.checks.config import CHECK_NAMES, ChecksConfig, ChecksConfigError, Severity, load_config
from nba_precompute.checks.rules import CHECK_DESCRIPTIONS, RESULT_COLUMNS, evaluate_checks, failed

__all__ = [
    "CHECK_DESCRIPTIONS",
    "CHECK_NAMES",
    "ChecksConfig",
    "ChecksConfigError",
    "RESULT_COLUMNS",
    "Severity",
    "evaluate_checks",
    "failed",
    "load_config",
]
