"""The six Phase 3 tables as external assets (lineage in the UI starts here), and their arrival
events: per-date runless materializations with row counts, so the partition bar of each Phase 3
table shows which dates hold rows (load-phase3 reports them; the arrival sensor calls the same
function)."""

from __future__ import annotations

from typing import Mapping

import dagster as dg
import pandas as pd

from nba_precompute.defs.events import report_runless_events
from nba_precompute.operations.arrival import Snapshot, snapshot_from_frame
from nba_precompute.phase3.contract import PHASE3_TABLES, SCHEDULE, Table
from nba_precompute.phase3.specs import asset_key, phase3_specs
from nba_precompute.resources import storage_kind

ROW_COUNT = "dagster/row_count"
_BY_FQN = {t.fqn: t for t in PHASE3_TABLES}


def phase3_arrival_events(snapshot: Mapping[str, Snapshot]) -> list[dg.AssetMaterialization]:
    """One runless materialization per (table, date) with rows (metadata: row count and
    MAX(processed_at)); the unpartitioned schedule gets one with its total row count. A date a
    table has no rows on gets no event: its partition stays unmaterialized in the lineage."""
    events: list[dg.AssetMaterialization] = []
    for fqn, dates in snapshot.items():
        table = _BY_FQN[fqn]
        if table is SCHEDULE:
            events.append(dg.AssetMaterialization(
                asset_key=asset_key(table), metadata={ROW_COUNT: sum(rows for rows, _ in dates.values())}))
            continue
        events.extend(
            dg.AssetMaterialization(asset_key=asset_key(table), partition=day,
                                    metadata={ROW_COUNT: rows, "max_processed_at": processed_at})
            for day, (rows, processed_at) in sorted(dates.items())
        )
    return events


def snapshot_of_frames(frames: Mapping[Table, pd.DataFrame]) -> dict[str, Snapshot]:
    """The snapshot (operations.arrival's shape) of frames just loaded, without a query."""
    out = {}
    for table, frame in frames.items():
        dates = frame[table.date_column]
        processed = frame["processed_at"] if "processed_at" in frame else pd.Series(pd.NaT, index=frame.index)
        grouped = pd.DataFrame({"game_date": dates, "max_processed_at": processed}).groupby("game_date")
        summary = grouped.agg(row_count=("max_processed_at", "size"), max_processed_at=("max_processed_at", "max"))
        out[table.fqn] = snapshot_from_frame(summary.reset_index())
    return out


def report_phase3_load(instance: dg.DagsterInstance, frames: Mapping[Table, pd.DataFrame]) -> int:
    """Record the per-date arrival of frames just loaded; returns the number of events."""
    events = phase3_arrival_events(snapshot_of_frames(frames))
    report_runless_events(instance, events)
    return len(events)


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=phase3_specs(storage_kind()))
