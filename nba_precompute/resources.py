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

# The Dagster concurrency pool of every step that writes the warehouse (deploy/dagster.yaml
# limits it; instance.initialize_pools creates its row before runs start).
WAREHOUSE_POOL = "warehouse"


def target() -> str:
    value = os.environ.get("NBA_PRECOMPUTE_TARGET", "duckdb").lower()
    if value not in ("duckdb", "bigquery"):
        raise ValueError(f"NBA_PRECOMPUTE_TARGET must be duckdb or bigquery, not {value!r}")
    return value


def duckdb_path() -> str:
    return os.environ.get("NBA_PRECOMPUTE_WAREHOUSE", str(DEFAULT_WAREHOUSE))


def bigquery_warehouse(project: str | None = None, resolve: bool = False):
    """The BigQuery warehouse, its project from the argument or the environment: as a dg.EnvVar
    for Definitions (the value never lands in run config), resolved for direct use (resolve)."""
    from nba_precompute.warehouse.bigquery import BigQueryWarehouse

    if project is None:
        project_var = "NBA_PRECOMPUTE_GCP_PROJECT" if os.environ.get("NBA_PRECOMPUTE_GCP_PROJECT") else "GOOGLE_CLOUD_PROJECT"
        if not os.environ.get(project_var):
            raise ValueError("set NBA_PRECOMPUTE_GCP_PROJECT (or GOOGLE_CLOUD_PROJECT) for the BigQuery target")
        project = os.environ[project_var] if resolve else dg.EnvVar(project_var)
    return BigQueryWarehouse(project=project, location=os.environ.get("NBA_PRECOMPUTE_GCP_LOCATION", "US"))


def warehouse_from_env() -> Warehouse:
    if target() == "bigquery":
        return bigquery_warehouse()
    from nba_precompute.warehouse.duckdb import DuckDBWarehouse

    return DuckDBWarehouse(database=duckdb_path())


def storage_kind() -> str:
    return target()
