"""The one switch between the embedded DuckDB warehouse (default) and BigQuery (production).

NBA_PRECOMPUTE_TARGET = duckdb (default) | bigquery
  duckdb:   NBA_PRECOMPUTE_WAREHOUSE (default .nba_precompute/warehouse.duckdb under the cwd)
  bigquery: NBA_PRECOMPUTE_GCP_PROJECT (or GOOGLE_CLOUD_PROJECT), NBA_PRECOMPUTE_GCP_LOCATION,
            credentials from application default credentials or GOOGLE_APPLICATION_CREDENTIALS;
            values are passed as dg.EnvVar so they never appear in run config or metadata.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from nba_precompute.warehouse import Warehouse

DEFAULT_WAREHOUSE = Path(".nba_precompute") / "warehouse.duckdb"


def target() -> str:
    value = os.environ.get("NBA_PRECOMPUTE_TARGET", "duckdb").lower()
    if value not in ("duckdb", "bigquery"):
        raise ValueError(f"NBA_PRECOMPUTE_TARGET must be duckdb or bigquery, not {value!r}")
    return value


def duckdb_path() -> str:
    return os.environ.get("NBA_PRECOMPUTE_WAREHOUSE", str(DEFAULT_WAREHOUSE))


def warehouse_from_env() -> Warehouse:
    if target() == "bigquery":
        from nba_precompute.warehouse.bigquery import BigQueryWarehouse

        project_var = "NBA_PRECOMPUTE_GCP_PROJECT" if os.environ.get("NBA_PRECOMPUTE_GCP_PROJECT") else "GOOGLE_CLOUD_PROJECT"
        return BigQueryWarehouse(
            project=dg.EnvVar(project_var),
            location=os.environ.get("NBA_PRECOMPUTE_GCP_LOCATION", "US"),
        )
    from nba_precompute.warehouse.duckdb import DuckDBWarehouse

    return DuckDBWarehouse(database=duckdb_path())


def storage_kind() -> str:
    return target()
