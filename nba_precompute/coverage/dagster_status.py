"""Dagster's own view of the partitions, cross-checked against the warehouse coverage status.

Per (asset, date), from the instance's asset status cache (the same data as the UI's partition
bar):

    dagster_status   "failed"       the latest materialization attempt of the partition failed
                     "materialized" the partition has a materialization
                     "in_progress"  a run is materializing it now
                     "missing"      none of these
                     "no_partition" the date is not a partition of the shared daily partitions
                     "unknown"      no instance was read

(The project's asset checks are unpartitioned, one evaluation per run: a per-date status of a
check is in the warehouse's check view, `nba-precompute check`, not in Dagster's partitions.)

What Dagster should say (the asset layer materializes exactly these):

    OK, NO_GAMES, OFF_SEASON, DATE_FAILED with a final category (BOOTSTRAP_PERIOD)   materialized
    DATE_FAILED with a retryable category (a genuine gap)   failed (with a gap observation)
    MISSING                    not materialized

`dagster_agrees` is True when Dagster says so, False when it contradicts it (a gap that is not
"failed", a materialized MISSING date, a data or expected date that is not materialized), and <NA> when the Dagster status is
unknown, in progress or not a partition. `dagster_note` says what disagrees, in words.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from nba_precompute.coverage import status as st
from nba_precompute.season import to_datetime

MATERIALIZED, FAILED, IN_PROGRESS, MISSING, NO_PARTITION, UNKNOWN = (
    "materialized", "failed", "in_progress", "missing", "no_partition", "unknown",
)
SHOULD_BE_MATERIALIZED = frozenset({st.OK, st.NO_GAMES, st.OFF_SEASON})
DAGSTER_COLUMNS = ["dagster_status", "dagster_agrees", "dagster_note"]


def read_dagster_status(instance, assets: Sequence[str], dates, partitions_def=None) -> pd.DataFrame:
    """One row per (asset, date): asset, date, dagster_status."""
    import dagster as dg
    from dagster._core.storage.partition_status_cache import get_and_update_asset_status_cache_value

    from nba_precompute.partitions import daily_partitions

    partitions_def = partitions_def or daily_partitions
    dates = pd.DatetimeIndex(to_datetime(list(dates))).normalize()
    keys = [d.strftime("%Y-%m-%d") for d in dates]
    valid = set(partitions_def.get_partition_keys())
    rows = []
    for asset in assets:
        key = dg.AssetKey(asset)
        materialized: set[str] = set()
        failed: set[str] = set()
        in_progress: set[str] = set()
        cache = get_and_update_asset_status_cache_value(instance, key, partitions_def)
        if cache is not None:
            materialized = set(cache.deserialize_materialized_partition_subsets(partitions_def).get_partition_keys())
            failed = set(cache.deserialize_failed_partition_subsets(partitions_def).get_partition_keys())
            in_progress = set(cache.deserialize_in_progress_partition_subsets(partitions_def).get_partition_keys())
        else:  # storages without the status cache
            materialized = set(instance.get_materialized_partitions(key))
        for d, k in zip(dates, keys):
            if k not in valid:
                s = NO_PARTITION
            elif k in failed:
                s = FAILED
            elif k in materialized:
                s = MATERIALIZED
            elif k in in_progress:
                s = IN_PROGRESS
            else:
                s = MISSING
            rows.append({"asset": asset, "date": d, "dagster_status": s})
    return pd.DataFrame(rows, columns=["asset", "date", "dagster_status"])


def expected_dagster(status: str, category: str | None = None) -> str:
    """What Dagster should show for a warehouse status (PRECOMPUTE.md §4): 'materialized' for data
    and expected final outcomes (bootstrap included), 'failed' for a genuine gap (a retryable
    date-level failure), 'not materialized' for a date nothing explains."""
    from nba_precompute import outcomes

    if status in SHOULD_BE_MATERIALIZED or (status == st.DATE_FAILED and outcomes.is_materialized(category)):
        return MATERIALIZED
    return FAILED if status == st.DATE_FAILED else "not materialized"


def _judge(status: str, category: str | None, dagster: str) -> tuple[object, str | None]:
    if dagster in (UNKNOWN, IN_PROGRESS, NO_PARTITION):
        return pd.NA, None
    notes = []
    expected = expected_dagster(status, category)
    if expected in (MATERIALIZED, FAILED) and dagster != expected:
        notes.append(f"warehouse {status}{f' {category}' if category else ''}, Dagster {dagster}")
    elif expected not in (MATERIALIZED, FAILED) and dagster == MATERIALIZED:
        notes.append(f"warehouse {status}, Dagster materialized")
    return (not notes), ("; ".join(notes) or None)


def attach(frame: pd.DataFrame, statuses: pd.DataFrame | None) -> pd.DataFrame:
    """Add the Dagster columns (DAGSTER_COLUMNS) to a coverage frame; without statuses every
    date is 'unknown' and dagster_agrees is <NA>."""
    out = frame.drop(columns=[c for c in DAGSTER_COLUMNS if c in frame.columns])
    if statuses is None or not len(statuses):
        out["dagster_status"] = UNKNOWN
    else:
        s = statuses.copy()
        s["date"] = to_datetime(s["date"]).dt.normalize()
        out = out.merge(s, on=["asset", "date"], how="left")
        out["dagster_status"] = out["dagster_status"].fillna(UNKNOWN)
    judged = [_judge(s, c, d) for s, c, d in zip(out["status"], out["category"], out["dagster_status"])]
    out["dagster_agrees"] = pd.array([j[0] for j in judged], dtype="boolean")
    out["dagster_note"] = np.array([j[1] for j in judged], dtype=object) if judged else pd.Series(dtype="object")
    return out
