"""The six Phase 3 tables as external assets: lineage in the UI starts here.

They are produced by another system and never materialized by this project. Keys are the
table names (dataset / table); date-keyed tables carry the shared daily partitions.
"""

from __future__ import annotations

import dagster as dg

from nba_precompute import partitions
from nba_precompute.phase3.contract import PHASE3_TABLES, SCHEDULE, Table


def asset_key(table: Table) -> dg.AssetKey:
    return dg.AssetKey([table.dataset, table.name])


def column_schema(table: Table) -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(name, type) for name, type in table.columns])


def phase3_specs(storage_kind: str) -> list[dg.AssetSpec]:
    return [
        dg.AssetSpec(
            key=asset_key(t),
            description=t.description + " Produced by the Phase 3 system (external asset).",
            group_name="phase3",
            kinds={storage_kind},
            # The schedule is a reference table read whole; every other table is keyed by game_date.
            partitions_def=None if t is SCHEDULE else partitions.daily_partitions,
            metadata={
                "dagster/column_schema": column_schema(t),
                "dagster/table_name": t.fqn,
                "primary_key": ", ".join(t.key),
            },
        )
        for t in PHASE3_TABLES
    ]
