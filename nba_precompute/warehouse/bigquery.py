"""The production warehouse: BigQuery through dagster-gcp's BigQueryResource.

Partition writes load the frames into per-run staging tables with load jobs (never streaming
inserts: streamed rows cannot be deleted for a while, which would break replace-on-rerun),
then replace the partitions of the asset table and the failure rows in one multi-statement
transaction. DATE columns are loaded with an explicit schema, which avoids the DATE/TIMESTAMP
cast problem of partition overwrites with the stock BigQuery pandas IO manager.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Sequence

import pandas as pd
from dagster_gcp import BigQueryResource
from pydantic import Field

from nba_precompute.phase3.contract import Table
from nba_precompute.tables import ASSET_TABLES, FAILURES
from nba_precompute.warehouse import sql
from nba_precompute.warehouse.base import OUTPUT_TABLES, Warehouse, WarehouseError, stamp


def bq_schema(table: Table):
    from google.cloud import bigquery

    return [
        bigquery.SchemaField(name, sql.column_type(kind, "bigquery"),
                             mode="REQUIRED" if name in table.not_null else "NULLABLE")
        for name, kind in table.columns
    ]


def transaction_script(asset: str, staging_rows: str, staging_failures: str, project: str) -> str:
    """The one BigQuery script that replaces an asset's partitions and its failure rows."""
    table = ASSET_TABLES[asset]
    return ";\n".join(
        [
            "BEGIN TRANSACTION",
            sql.delete_dates(table, "bigquery", "dates", project),
            sql.insert_from(table, f"`{staging_rows}`", "bigquery", project),
            sql.delete_dates(FAILURES, "bigquery", "dates", project, processor=True),
            sql.insert_from(FAILURES, f"`{staging_failures}`", "bigquery", project),
            "COMMIT TRANSACTION",
        ]
    ) + ";"


class BigQueryWarehouse(Warehouse):
    """BigQuery datasets named like the local schemas (nba_analytics, nba_precompute, ...)."""

    project: str = Field(description="Google Cloud project id.")
    location: str = Field(default="US", description="BigQuery location of the datasets and jobs.")
    gcp_credentials: str | None = Field(
        default=None,
        description="Base64-encoded service-account key (leave unset for application default credentials).",
    )
    staging_dataset: str = Field(default="nba_processing", description="Dataset for per-run staging tables.")
    dialect: str = "bigquery"

    def _resource(self) -> BigQueryResource:
        return BigQueryResource(project=self.project, location=self.location, gcp_credentials=self.gcp_credentials)

    def ddl(self, tables: Sequence[Table] = OUTPUT_TABLES) -> list[str]:
        statements = [sql.create_schema(ds, "bigquery", self.project) for ds in dict.fromkeys(t.dataset for t in tables)]
        return statements + [sql.create_table(t, "bigquery", self.project) for t in tables]

    def ensure_tables(self, tables: Sequence[Table] = OUTPUT_TABLES) -> None:
        with self._resource().get_client() as client:
            for statement in self.ddl(tables):
                client.query(statement).result()

    def table_exists(self, table: Table) -> bool:
        from google.api_core.exceptions import NotFound

        with self._resource().get_client() as client:
            try:
                client.get_table(f"{self.project}.{table.dataset}.{table.name}")
                return True
            except NotFound:
                return False

    def read(self, table, start=None, end=None, columns=None) -> pd.DataFrame:
        from google.cloud import bigquery

        bounded = start is not None or end is not None
        params = [
            bigquery.ScalarQueryParameter("start", "DATE", start or dt.date(1900, 1, 1)),
            bigquery.ScalarQueryParameter("end", "DATE", end or dt.date(2999, 12, 31)),
        ] if bounded else []
        with self._resource().get_client() as client:
            job = client.query(
                sql.select_range(table, "bigquery", columns, self.project, bounded=bounded),
                job_config=bigquery.QueryJobConfig(query_parameters=params),
            )
            return job.to_dataframe()

    def _load(self, client, frame: pd.DataFrame, table: Table, destination: str) -> None:
        from google.cloud import bigquery

        config = bigquery.LoadJobConfig(schema=bq_schema(table), write_disposition="WRITE_TRUNCATE")
        client.load_table_from_dataframe(frame, destination, job_config=config).result()

    def write_partitions(self, asset, dates, rows, failures, run_id) -> None:
        from google.cloud import bigquery

        table = ASSET_TABLES[asset]
        created_at = pd.Timestamp.now(tz="UTC")
        rows = stamp(rows, table, created_at)
        failures = stamp(failures, FAILURES, created_at, run_id=run_id)
        suffix = uuid.uuid4().hex[:12]
        staging_rows = f"{self.project}.{self.staging_dataset}._stage_{asset}_{suffix}"
        staging_failures = f"{self.project}.{self.staging_dataset}._stage_{asset}_failures_{suffix}"
        params = [
            bigquery.ArrayQueryParameter("dates", "DATE", sorted(pd.to_datetime(list(dates)).date)),
            bigquery.ScalarQueryParameter("processor", "STRING", asset),
        ]
        with self._resource().get_client() as client:
            try:
                self._load(client, rows, table, staging_rows)
                self._load(client, failures, FAILURES, staging_failures)
                client.query(
                    transaction_script(asset, staging_rows, staging_failures, self.project),
                    job_config=bigquery.QueryJobConfig(query_parameters=params),
                ).result()
            except Exception as exc:
                raise WarehouseError(f"writing {table.fqn} for {len(list(dates))} date(s) failed: {exc}") from exc
            finally:
                for staged in (staging_rows, staging_failures):
                    client.delete_table(staged, not_found_ok=True)

    def replace_date_range(self, frames, start, end) -> None:
        raise WarehouseError(
            "Phase 3 tables in BigQuery are produced by the Phase 3 system; load-phase3 targets the "
            "embedded DuckDB warehouse only"
        )
