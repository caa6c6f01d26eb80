"""The one switch between the embedded DuckDB warehouse (default) and BigQuery (production).

From the configuration (nba_precompute/config.py; README "Configuration"):
  target = duckdb (default) | bigquery  (NBA_PRECOMPUTE_TARGET)
  duckdb:   the warehouse file (NBA_PRECOMPUTE_WAREHOUSE, default .nba_precompute/warehouse.duckdb)
  bigquery: the project (NBA_PRECOMPUTE_GCP_PROJECT or GOOGLE_CLOUD_PROJECT), location, credentials
            (NBA_PRECOMPUTE_GCP_CREDENTIALS, else application default credentials); the project is
            passed to Dagster as a dg.EnvVar so its value never appears in run config or metadata.
"""

from __future__ import annotations

import dagster as dg

from nba_precompute import config as configuration
from nba_precompute.config import DEFAULT_WAREHOUSE, GCP_CREDENTIALS_ENV, Config
from nba_precompute.warehouse import Warehouse

__all__ = ["DEFAULT_WAREHOUSE", "WAREHOUSE_POOL", "bigquery_warehouse", "storage_kind", "target",
           "warehouse_from_config"]

# The Dagster concurrency pool of every step that writes the warehouse (deploy/dagster.yaml
# limits it; instance.initialize_pools creates its row before runs start).
WAREHOUSE_POOL = "warehouse"


def target(config: Config | None = None) -> str:
    return (config or configuration.current()).target


def bigquery_warehouse(project: str | None = None, resolve: bool = False, config: Config | None = None):
    """The BigQuery warehouse, its project from the argument or the configuration: as a dg.EnvVar
    for Definitions (Dagster resolves it in the run; the value never lands in run config), the
    value itself for direct use (resolve)."""
    from nba_precompute.warehouse.bigquery import BigQueryWarehouse

    config = config or configuration.current()
    if project is None:
        if config.gcp_project_env is None:
            raise ValueError("set NBA_PRECOMPUTE_GCP_PROJECT (or GOOGLE_CLOUD_PROJECT) for the BigQuery target")
        project = config.gcp_project if resolve else dg.EnvVar(config.gcp_project_env)
    credentials = None
    if config.gcp_credentials:  # a secret: by name too, or the UI's resource page would show it
        credentials = config.gcp_credentials if resolve else dg.EnvVar(GCP_CREDENTIALS_ENV)
    return BigQueryWarehouse(project=project, location=config.gcp_location, gcp_credentials=credentials)


def warehouse_from_config(config: Config | None = None) -> Warehouse:
    config = config or configuration.current()
    if config.target == "bigquery":
        return bigquery_warehouse(config=config)
    from nba_precompute.warehouse.duckdb import DuckDBWarehouse

    return DuckDBWarehouse(database=str(config.warehouse), lock_timeout_seconds=config.duckdb_lock_timeout_seconds)


def storage_kind(config: Config | None = None) -> str:
    return target(config)
