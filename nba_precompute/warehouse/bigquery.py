"""The production warehouse: BigQuery through dagster-gcp's BigQueryResource.

Partition writes load the frames into per-run staging tables with load jobs (never streaming
inserts: streamed rows cannot be deleted for a while, which would break replace-on-rerun),
then replace the partitions of the asset table and the failure rows in one multi-statement
transaction whose date list is an ARRAY<DATE> query parameter.

The DATE cast problem of the stock BigQuery pandas IO manager does not arise here:

* that IO manager deletes a daily partition with `col >= '2021-11-01 00:00:00'`, a literal that
  BigQuery cannot cast to DATE (dagster issue 13147); the transaction script compares the DATE
  column with DATE values only (`analysis_date IN UNNEST(@dates)`);
* a pandas datetime64 column loaded without a schema becomes TIMESTAMP; every load here has an
  explicit schema, and `to_load_frame` turns DATE columns into `datetime.date` objects first.

Two writers that touch the same table at once conflict in BigQuery ("Transaction is aborted due
to concurrent update"): the losing transaction is rolled back as a whole and retried here.
Credentials: application default credentials, or a base64-encoded service-account key in the
environment variable NBA_PRECOMPUTE_GCP_CREDENTIALS (never a file under version control).
"""

from __future__ import annotations

import datetime as dt
import random
import time
import uuid
from contextlib import contextmanager
from typing import Iterator, Sequence

import pandas as pd
from dagster_gcp import BigQueryResource
from pydantic import Field

from nba_precompute.config import GCP_CREDENTIALS_ENV as CREDENTIALS_ENV
from nba_precompute.phase3.contract import Table
from nba_precompute.registry import ASSET_TABLES
from nba_precompute.tables import DEPENDENCY_CHECKS, FAILURES
from nba_precompute.warehouse import sql
from nba_precompute.warehouse.base import OUTPUT_TABLES, Warehouse, WarehouseError, stamp, verdict_frame

# Messages of BigQuery's transaction conflicts between concurrent writers of one table.
CONFLICT_MARKERS = ("concurrent update", "could not serialize access")
TRANSACTION_ATTEMPTS = 6
RETRY_BASE_SECONDS = 2.0
_sleep = time.sleep  # replaced in tests


def bq_schema(table: Table):
    from google.cloud import bigquery

    return [
        bigquery.SchemaField(name, sql.column_type(kind, "bigquery"),
                             mode="REQUIRED" if name in table.not_null else "NULLABLE")
        for name, kind in table.columns
    ]


def _as_dates(column: pd.Series, name: str) -> pd.Series:
    stamps = pd.to_datetime(column)
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_localize(None)
    partial = stamps.notna() & (stamps != stamps.dt.normalize())
    if partial.any():
        raise WarehouseError(f"column {name} holds times of day, not dates: {column[partial].iloc[0]!r}")
    dates = stamps.dt.date.astype(object)
    return dates.where(stamps.notna(), None)


def to_load_frame(frame: pd.DataFrame, table: Table) -> pd.DataFrame:
    """The frame as a load job must see it, in table column order: DATE columns as
    `datetime.date` objects (a datetime64 column would otherwise be typed TIMESTAMP), TIMESTAMP
    columns in UTC, INT64 and BOOL as nullable pandas types."""
    out = frame[table.column_names].copy()
    for name, kind in table.columns:
        if kind == "DATE":
            out[name] = _as_dates(out[name], name)
        elif kind == "TIMESTAMP":
            out[name] = pd.to_datetime(out[name], utc=True)
        elif kind == "INT64":
            out[name] = out[name].astype("Int64")
        elif kind == "BOOL":
            out[name] = out[name].astype("boolean")
    return out


def from_query_frame(frame: pd.DataFrame, table: Table) -> pd.DataFrame:
    """A query result like the DuckDB warehouse returns it: DATE columns as datetime64."""
    for name, kind in table.columns:
        if kind == "DATE" and name in frame.columns:
            frame[name] = pd.to_datetime(frame[name].astype(object))
    return frame


def date_list(dates: Sequence) -> list[dt.date]:
    return sorted(set(pd.to_datetime(list(dates)).date))


def is_conflict(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(marker in text for marker in CONFLICT_MARKERS)


def transaction_script(asset: str, staging_rows: str, staging_failures: str, project: str,
                       staging_verdicts: str | None = None) -> str:
    """The one BigQuery script that replaces an asset's partitions, its failure rows and (with
    `staging_verdicts`) its dependency verdicts."""
    table = ASSET_TABLES[asset]
    verdicts = [
        sql.delete_dates(DEPENDENCY_CHECKS, "bigquery", "dates", project, processor=True),
        sql.insert_from(DEPENDENCY_CHECKS, f"`{staging_verdicts}`", "bigquery", project),
    ] if staging_verdicts else []
    return ";\n".join(
        [
            "BEGIN TRANSACTION",
            sql.delete_dates(table, "bigquery", "dates", project),
            sql.insert_from(table, f"`{staging_rows}`", "bigquery", project),
            sql.delete_dates(FAILURES, "bigquery", "dates", project, processor=True),
            sql.insert_from(FAILURES, f"`{staging_failures}`", "bigquery", project),
            *verdicts,
            "COMMIT TRANSACTION",
        ]
    ) + ";"


class BigQueryWarehouse(Warehouse):
    """BigQuery datasets named like the local schemas (nba_analytics, nba_precompute, ...)."""

    project: str = Field(description="Google Cloud project id.")
    location: str = Field(default="US", description="BigQuery location of the datasets and jobs.")
    gcp_credentials: str | None = Field(
        default=None,
        description="Base64-encoded service-account key (the configuration passes "
        f"{CREDENTIALS_ENV} here). Unset: application default credentials.",
    )
    staging_dataset: str = Field(default="nba_processing", description="Dataset for per-run staging tables.")
    dialect: str = "bigquery"

    def _resource(self) -> BigQueryResource:
        credentials = self.gcp_credentials or None
        return BigQueryResource(project=self.project, location=self.location, gcp_credentials=credentials)

    @contextmanager
    def _client(self) -> Iterator:
        with self._resource().get_client() as client:
            yield client

    def ddl(self, tables: Sequence[Table] = OUTPUT_TABLES) -> list[str]:
        statements = [sql.create_schema(ds, "bigquery", self.project) for ds in dict.fromkeys(t.dataset for t in tables)]
        return statements + [sql.create_table(t, "bigquery", self.project) for t in tables]

    def ddl_script(self, tables: Sequence[Table] = OUTPUT_TABLES) -> str:
        """ddl() as one multi-statement script: one query job creates everything missing."""
        return ";\n".join(self.ddl(tables)) + ";"

    def ensure_tables(self, tables: Sequence[Table] = OUTPUT_TABLES) -> None:
        with self._client() as client:
            client.query(self.ddl_script(tables)).result()

    def table_exists(self, table: Table) -> bool:
        from google.api_core.exceptions import NotFound

        with self._client() as client:
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
        with self._client() as client:
            job = client.query(
                sql.select_range(table, "bigquery", columns, self.project, bounded=bounded),
                job_config=bigquery.QueryJobConfig(query_parameters=params),
            )
            return from_query_frame(job.to_dataframe(), table)

    def query(self, statement: str, params: list | None = None) -> pd.DataFrame:
        """Run one read-only statement (positional parameters: bigquery.ScalarQueryParameter)."""
        from google.cloud import bigquery

        with self._client() as client:
            config = bigquery.QueryJobConfig(query_parameters=list(params or []))
            return client.query(statement, job_config=config).to_dataframe()

    def _load(self, client, frame: pd.DataFrame, table: Table, destination: str) -> None:
        from google.cloud import bigquery

        config = bigquery.LoadJobConfig(schema=bq_schema(table), write_disposition="WRITE_TRUNCATE")
        client.load_table_from_dataframe(to_load_frame(frame, table), destination, job_config=config).result()

    def _run_transaction(self, client, script: str, params: list) -> None:
        """Run the script; a transaction aborted by a concurrent writer of the same table was
        rolled back by BigQuery and is run again (with backoff), up to TRANSACTION_ATTEMPTS."""
        from google.cloud import bigquery

        for attempt in range(1, TRANSACTION_ATTEMPTS + 1):
            try:
                client.query(script, job_config=bigquery.QueryJobConfig(query_parameters=params)).result()
                return
            except Exception as exc:
                if not is_conflict(exc) or attempt == TRANSACTION_ATTEMPTS:
                    raise
                _sleep(RETRY_BASE_SECONDS * 2 ** (attempt - 1) * (1 + random.random()))

    def write_partitions(self, asset, dates, rows, failures, run_id, verdicts=None) -> None:
        from google.cloud import bigquery

        table = ASSET_TABLES[asset]
        days = date_list(dates)
        created_at = pd.Timestamp.now(tz="UTC")
        rows = stamp(rows, table, created_at)
        failures = stamp(failures, FAILURES, created_at, run_id=run_id)
        verdicts = stamp(verdict_frame(verdicts), DEPENDENCY_CHECKS, created_at)
        suffix = uuid.uuid4().hex[:12]
        # Project and staging dataset are configuration (the launchpad can set them): validated
        # before they name anything, as they end up inside the transaction script's SQL.
        staging = f"{sql.project_id(self.project)}.{sql.identifier(self.staging_dataset)}"
        staging_rows = f"{staging}._stage_{asset}_{suffix}"
        staging_failures = f"{staging}._stage_{asset}_failures_{suffix}"
        staging_verdicts = f"{staging}._stage_{asset}_verdicts_{suffix}"
        staged = (staging_rows, staging_failures, staging_verdicts)
        params = [
            bigquery.ArrayQueryParameter("dates", "DATE", days),
            bigquery.ScalarQueryParameter("processor", "STRING", asset),
        ]
        span = f"{days[0]}..{days[-1]}" if days else "no dates"
        with self._client() as client:
            try:
                self._load(client, rows, table, staging_rows)
                self._load(client, failures, FAILURES, staging_failures)
                self._load(client, verdicts, DEPENDENCY_CHECKS, staging_verdicts)
                script = transaction_script(asset, staging_rows, staging_failures, self.project, staging_verdicts)
                self._run_transaction(client, script, params)
            except Exception as exc:
                self._drop_staging(client, staged, quiet=True)
                raise WarehouseError(f"writing {table.fqn} for {span} ({len(days)} date(s)) failed: {exc}") from exc
            self._drop_staging(client, staged, quiet=False)

    @staticmethod
    def _drop_staging(client, tables: Sequence[str], quiet: bool) -> None:
        """Delete the staging tables (all of them, even if one delete fails); after a failed
        write a failing delete must not hide the write's own error."""
        problems = []
        for staged in tables:
            try:
                client.delete_table(staged, not_found_ok=True)
            except Exception as exc:
                problems.append(f"{staged}: {exc}")
        if problems and not quiet:
            raise WarehouseError("could not delete staging table(s) " + "; ".join(problems))

    def replace_date_ranges(self, frames, ranges) -> None:
        raise WarehouseError(
            "Phase 3 tables in BigQuery are produced by the Phase 3 system; load-phase3 targets the "
            "embedded DuckDB warehouse only"
        )
