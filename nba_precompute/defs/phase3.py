"""The six Phase 3 tables as external assets (lineage in the UI starts here)."""

import dagster as dg

from nba_precompute.phase3.contract import PHASE3_TABLES, SCHEDULE
from nba_precompute.phase3.specs import asset_key, phase3_specs
from nba_precompute.resources import storage_kind


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=phase3_specs(storage_kind()))


def phase3_arrival_events(snapshot) -> list[dg.AssetMaterialization]:
    """The runless materializations recording what Phase 3 data is in the warehouse.

    `snapshot`: {table fqn: {"YYYY-MM-DD": (rows, max_processed_at ISO or None)}} (the shape of
    operations.arrival snapshots; pass only the dates to record). One materialization per
    (date-keyed table, date) with `dagster/row_count` and `max_processed_at`; the schedule
    (unpartitioned) gets one with its total row count. Materializations, not observations: only
    they fill the partition bar.
    """
    by_fqn = {t.fqn: t for t in PHASE3_TABLES}
    events = []
    for fqn, dates in snapshot.items():
        table = by_fqn[fqn]
        if table is SCHEDULE:
            if dates:
                events.append(dg.AssetMaterialization(
                    asset_key=asset_key(table),
                    metadata={"dagster/row_count": dg.MetadataValue.int(sum(int(n) for n, _ in dates.values()))}))
            continue
        for day, (rows, max_processed_at) in sorted(dates.items()):
            events.append(dg.AssetMaterialization(
                asset_key=asset_key(table), partition=day,
                metadata={"dagster/row_count": dg.MetadataValue.int(int(rows)),
                          "max_processed_at": max_processed_at}))
    return events
