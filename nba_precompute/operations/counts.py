"""Rows and entity failures per (asset, date), read from the warehouse in one grouped query.

The input of the volume check (operations.volume.evaluate_counts): the Phase 4 step reads the
counts of the dates before its first date (the band's trailing history), the volume sensor and
the coverage trend those of their window. No Dagster: the warehouse is the only dependency.
"""

from __future__ import annotations

import datetime as dt
from typing import Sequence

import pandas as pd

from nba_precompute.failures import DATE_LEVEL
from nba_precompute.operations.volume import COUNT_COLUMNS
from nba_precompute.registry import ASSET_NAMES, ASSET_TABLES
from nba_precompute.season import to_datetime
from nba_precompute.tables import FAILURES
from nba_precompute.warehouse.sql import qualified


def counts_sql(tables: dict[str, str], failures: str | None, start: dt.date, end: dt.date) -> str:
    """One statement: a GROUP BY per asset table (`tables`: asset -> qualified name) in a UNION
    ALL, left-joined with the entity failures per (asset, date) of the failure table."""
    between = f"BETWEEN DATE '{start.isoformat()}' AND DATE '{end.isoformat()}'"
    rows = " UNION ALL ".join(
        f"SELECT '{asset}' AS asset, analysis_date AS date, COUNT(*) AS n FROM {name} "
        f"WHERE analysis_date {between} GROUP BY analysis_date" for asset, name in tables.items())
    if failures is None:
        return f"SELECT asset, date, n AS rows, 0 AS entity_failures FROM ({rows}) AS r"
    return (
        f"WITH r AS ({rows}), f AS (SELECT processor_name AS asset, analysis_date AS date, COUNT(*) AS n "
        f"FROM {failures} WHERE entity_id <> '{DATE_LEVEL}' AND analysis_date {between} GROUP BY 1, 2) "
        "SELECT r.asset, r.date, r.n AS rows, COALESCE(f.n, 0) AS entity_failures "
        "FROM r LEFT JOIN f ON r.asset = f.asset AND r.date = f.date"
    )


def volume_counts(warehouse, start: dt.date, end: dt.date, assets: Sequence[str] = ASSET_NAMES) -> pd.DataFrame:
    """Rows and entity failures per (asset, date) in [start, end] (COUNT_COLUMNS; dates with rows
    only), in one query; empty when no asset table exists yet or start > end."""
    project = getattr(warehouse, "project", None)
    tables = {a: qualified(ASSET_TABLES[a], warehouse.dialect, project) for a in ASSET_NAMES
              if a in set(assets) and warehouse.table_exists(ASSET_TABLES[a])}
    if not tables or start > end:
        return pd.DataFrame({"asset": pd.Series(dtype=object), "date": pd.Series(dtype="datetime64[ns]"),
                             "rows": pd.Series(dtype="int64"), "entity_failures": pd.Series(dtype="int64")})
    failures = qualified(FAILURES, warehouse.dialect, project) if warehouse.table_exists(FAILURES) else None
    counts = warehouse.query(counts_sql(tables, failures, start, end))
    counts["date"] = to_datetime(counts["date"]).dt.normalize().astype("datetime64[ns]")
    counts["rows"] = counts["rows"].astype("int64")
    counts["entity_failures"] = counts["entity_failures"].fillna(0).astype("int64")
    return counts.sort_values(["asset", "date"]).reset_index(drop=True)[COUNT_COLUMNS]
