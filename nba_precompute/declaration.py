"""The declaration of one Phase 4 asset: everything the rest of the package knows about it.

Each feature module declares its asset next to its compute function (`DECLARATION` at the end
of features/<module>.py); registry.py collects them. Pure: no Dagster import.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

import pandas as pd

from nba_precompute.dependencies import Rule
from nba_precompute.features.result import FeatureResult
from nba_precompute.phase3.contract import Table
from nba_precompute.season import SeasonCalendar

HISTORY, ON_DATE = "history", "on_date"  # season-to-date games before D / rows dated D

Compute = Callable[[dict[str, pd.DataFrame], SeasonCalendar, pd.DatetimeIndex], FeatureResult]


@dataclass(frozen=True)
class AssetDeclaration:
    """One Phase 4 asset (PRECOMPUTE.md §5-§8).

    name:        the short name (asset key, processor_name of its failures)
    table:       its output table (tables.py)
    entity:      the entity column of its rows (failures carry it as entity_id)
    reads:       each input table, read as HISTORY (this season before D) or ON_DATE (rows dated D)
    slate_based: rows only on game dates, for the slate of D
    compute:     inputs by table fqn, calendar, dates -> FeatureResult
    rules:       its dependency rules (§5)
    checks:      the §8 checks it gets beyond the common ones (checks/registry.py)
    candidates:  the Phase 3 table an audit derives its candidates from (checks/candidates.py)
    description: the Dagster asset description
    """

    name: str
    table: Table
    entity: str
    reads: Mapping[Table, str]
    slate_based: bool
    compute: Compute = field(repr=False, compare=False)
    rules: tuple[Rule, ...] = ()
    checks: tuple[str, ...] = ()
    candidates: Table | None = None
    description: str = ""

    @property
    def output_columns(self) -> list[str]:
        """Columns its pure function returns (the table's, without created_at)."""
        return [c for c in self.table.column_names if c != "created_at"]
