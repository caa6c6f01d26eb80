"""The registry of asset checks: each check of PRECOMPUTE.md §8 (and the volume check of issue
14) declared once.

An entry names the check, its function (rules.py), the settings model of its thresholds.yaml
section, its default severity, whether every asset has it or only the assets whose declaration
(features/<module>.py DECLARATION.checks) names it, when it applies on a date, what its
`observed` number counts, and a description written for the Dagster UI. Everything else is
derived from CHECKS: the checks of an asset (`checks_for`, CHECK_NAMES), the allowed sections of
thresholds.yaml (config.build_config), the evaluation order of the engine (evaluate.py).

Adding a check: a function and, if it has thresholds, its settings model in rules.py; an entry
here; its section in thresholds.yaml; a test in nba_precompute_tests/checks/test_rules.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Callable, Mapping

import numpy as np
import pandas as pd

from nba_precompute.checks import rules
from nba_precompute.checks.config import CheckSettings, Severity
from nba_precompute.checks.partition import Partition
from nba_precompute.registry import ASSET_NAMES, DECLARATIONS

CheckFunction = Callable[[Partition, CheckSettings], pd.DataFrame]


@dataclass(frozen=True)
class Condition:
    """A per-date condition of a check: `why_not(p, settings)` gives, per date of p, why the
    check does not apply there ("" where it applies)."""

    text: str
    why_not: Callable[[Partition, CheckSettings], np.ndarray]


ROWS_PRESENT = Condition("rows > 0", rules.rows_present)
SLATE_KNOWN = Condition("N(D) known when ROW_MIN is slate-relative", rules.slate_known)
COMPUTE_REACHED = Condition("the compute step ran (candidates known, no DATE_LEVEL failure)",
                            rules.compute_reached)
MIN_ROWS = Condition("rows >= min_rows", rules.min_rows)
VOLUME_BAND = Condition("min_reference earlier dates of its group (the season calendar given)",
                        rules.volume_evaluable)


@dataclass(frozen=True)
class CheckDefinition:
    name: str
    function: CheckFunction
    description: str  # the Dagster asset check's description
    severity: Severity  # the default; a thresholds.yaml section may set `severity:`
    applies_when: tuple[Condition, ...] = ()  # every condition must hold; none = always
    observed: str = ""  # what the result's `observed` number counts
    settings: type[CheckSettings] = CheckSettings  # the model of its thresholds.yaml section
    common: bool = True  # on every asset; else only on those whose declaration names it in `checks`

    def applies_to(self, asset: str) -> bool:
        return self.common or self.name in DECLARATIONS[asset].checks

    @property
    def assets(self) -> tuple[str, ...]:
        """The assets the check is declared on, in producer-first order."""
        return tuple(a for a in ASSET_NAMES if self.applies_to(a))

    @property
    def applies_when_text(self) -> str:
        return " and ".join(c.text for c in self.applies_when) or "always"

    def not_applicable(self, p: Partition, settings: CheckSettings) -> np.ndarray:
        """Per date of p: why the check does not apply ("" = it applies); the first failing
        condition names the reason."""
        why = np.full(len(p.dates), "", dtype=object)
        for condition in reversed(self.applies_when):
            reason = np.asarray(condition.why_not(p, settings), dtype=object)
            why = np.where(reason != "", reason, why)
        return why


CHECKS: Mapping[str, CheckDefinition] = MappingProxyType({d.name: d for d in (
    CheckDefinition(
        "primary_key_unique", rules.primary_key_unique,
        "No duplicate primary key (analysis_date and the entity key) among the partition's rows, and no "
        "duplicate (processor_name, analysis_date, entity_id) among its failure rows.",
        Severity.ERROR, observed="duplicated keys",
    ),
    CheckDefinition(
        "keys_not_null", rules.keys_not_null,
        "analysis_date and the entity key are non-NULL in every row, and analysis_date and entity_id in "
        "every failure row.",
        Severity.ERROR, observed="rows and failure rows with a NULL key",
    ),
    CheckDefinition(
        "outcome_consistent", rules.outcome_consistent,
        "The partition holds one outcome: a DATE_LEVEL failure comes with 0 rows and no entity failure, "
        "rows come without a DATE_LEVEL failure, and entity failures never stand alone.",
        Severity.ERROR, observed="rows and entity failures contradicting the outcome",
    ),
    CheckDefinition(
        "entity_accounting", rules.entity_accounting,
        "Every candidate entity of the date has exactly one row or one entity failure: rows + entity "
        "failures = candidates, no entity has both, and no row or failure names a non-candidate.",
        Severity.ERROR, (COMPUTE_REACHED,), observed="entities unaccounted for, doubly accounted or not candidates",
    ),
    CheckDefinition(
        "row_minimum", rules.row_minimum,
        "Minimum records: the partition has at least ROW_MIN rows, the strictest requirement any consumer "
        "places on the asset (a row count, or max(1, ceil(ratio x N)) for a slate of N players).",
        Severity.WARN, (ROWS_PRESENT, SLATE_KNOWN), observed="rows",
        settings=rules.RowMinimumSettings,
    ),
    CheckDefinition(
        "volume", rules.volume,
        "Volume: the rows are within the band the slate and the recent past predict (rows per scheduled team, "
        "or per entity with history, against the median of the trailing dates); a thinner date fails.",
        Severity.WARN, (ROWS_PRESENT, VOLUME_BAND), observed="rows",
        settings=rules.VolumeSettings,
    ),
    CheckDefinition(
        "value_ranges", rules.value_ranges,
        "Every value of a ranged column lies in its configured range (percentages, fractions, bounded "
        "scores, counts >= 0); NULL passes, an infinite value fails.",
        Severity.ERROR, (ROWS_PRESENT,), observed="values out of range",
        settings=rules.ValueRangesSettings,
    ),
    CheckDefinition(
        "zone_rates_sum", rules.zone_rates_sum,
        "The three zone rates (*_rate_last_10) of each row are all NULL or all non-NULL, and non-NULL "
        "ones sum to 100 within the configured tolerance.",
        Severity.ERROR, (ROWS_PRESENT,), observed="rows with inconsistent zone rates",
        settings=rules.ZoneRatesSumSettings, common=False,
    ),
    CheckDefinition(
        "non_constant_features", rules.non_constant_features,
        "No feature or factor score has a single value across the partition: a column with at least "
        "min_rows non-NULL values that are all equal is flagged.",
        Severity.WARN, (MIN_ROWS,), observed="constant columns",
        settings=rules.NonConstantSettings, common=False,
    ),
)})
"""Every check, in evaluation order (the order of PRECOMPUTE.md §8; volume beside row_minimum)."""

_unknown = {c for d in DECLARATIONS.values() for c in d.checks} - {n for n, d in CHECKS.items() if not d.common}
if _unknown:
    raise ValueError(f"asset declarations name unknown or common check(s) {', '.join(sorted(_unknown))}")


def checks_for(asset: str) -> tuple[CheckDefinition, ...]:
    """The checks declared on `asset`, in evaluation order."""
    if asset not in DECLARATIONS:
        raise KeyError(f"unknown asset {asset!r}; assets are {', '.join(ASSET_NAMES)}")
    return tuple(d for d in CHECKS.values() if d.applies_to(asset))


CHECK_NAMES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {asset: tuple(d.name for d in checks_for(asset)) for asset in ASSET_NAMES})
"""The names of each asset's checks, in evaluation order."""
