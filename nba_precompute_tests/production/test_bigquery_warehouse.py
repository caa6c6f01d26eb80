"""BigQueryWarehouse without BigQuery: a small hand-written fake of google.cloud.bigquery.Client
records every call (there is no BigQuery and no network here), plus the real client library's
DataFrame -> Parquet step that a load job uploads, captured before the upload.

Asserted: partition writes go through load jobs (never streaming inserts) into staging tables
with an explicit schema (analysis_date DATE, WRITE_TRUNCATE), DATE columns handed over as
datetime.date objects, one multi-statement transaction with an ARRAY<DATE> @dates parameter,
staging tables deleted on success and on every error, transaction conflicts retried; DDL as one
script; the service-account key from the environment; `nba-precompute bigquery-ddl [--apply]`.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
from contextlib import contextmanager

import pandas as pd
import pyarrow.parquet as pq
import pytest
import sqlglot
from google.api_core.exceptions import BadRequest, NotFound
from google.cloud import bigquery

from nba_precompute.failures import FAILURE_COLUMNS
from nba_precompute.tables import DEPENDENCY_CHECKS, FAILURES, PCF
from nba_precompute.registry import ASSET_TABLES, ENTITY_COLUMN, output_columns
from nba_precompute.warehouse import WarehouseError
from nba_precompute.warehouse import bigquery as bq_module
from nba_precompute.warehouse.base import OUTPUT_TABLES
from nba_precompute.warehouse.bigquery import BigQueryWarehouse, to_load_frame, transaction_script

PROJECT = "nba-props-prod"
D1, D2 = dt.date(2021, 11, 8), dt.date(2021, 11, 10)


# --- the fake ------------------------------------------------------------------------------------

class FakeJob:
    def __init__(self, error: Exception | None = None, frame: pd.DataFrame | None = None):
        self.error, self.frame = error, frame

    def result(self):
        if self.error is not None:
            raise self.error
        return self

    def to_dataframe(self, **kwargs):
        return self.frame


class FakeClient:
    """Records calls; query results and errors are scripted per test."""

    def __init__(self):
        self.calls: list[tuple] = []
        self.query_errors: list[Exception | None] = []
        self.load_errors: list[Exception | None] = []
        self.query_frame: pd.DataFrame | None = None
        self.existing: set[str] = set()

    def load_table_from_dataframe(self, frame, destination, job_config=None, **kwargs):
        self.calls.append(("load", frame.copy(), destination, job_config))
        return FakeJob(self.load_errors.pop(0) if self.load_errors else None)

    def query(self, query, job_config=None, **kwargs):
        self.calls.append(("query", query, job_config))
        return FakeJob(self.query_errors.pop(0) if self.query_errors else None, self.query_frame)

    def delete_table(self, table, not_found_ok=False, **kwargs):
        self.calls.append(("delete_table", table, not_found_ok))

    def get_table(self, table, **kwargs):
        self.calls.append(("get_table", table))
        if table not in self.existing:
            raise NotFound(f"Not found: Table {table}")
        return object()

    def insert_rows(self, *args, **kwargs):
        raise AssertionError("streaming insert (insert_rows) used")

    def insert_rows_json(self, *args, **kwargs):
        raise AssertionError("streaming insert (insert_rows_json) used")

    def __getattr__(self, name):
        raise AssertionError(f"unexpected client call {name}")

    def kinds(self) -> list[str]:
        return [c[0] for c in self.calls]

    def of(self, kind: str) -> list[tuple]:
        return [c for c in self.calls if c[0] == kind]


@pytest.fixture
def client(monkeypatch) -> FakeClient:
    fake = FakeClient()

    @contextmanager
    def _client(self):
        yield fake

    monkeypatch.setattr(BigQueryWarehouse, "_client", _client)
    monkeypatch.setattr(bq_module, "_sleep", lambda seconds: fake.calls.append(("sleep", seconds)))
    return fake


@pytest.fixture
def wh() -> BigQueryWarehouse:
    return BigQueryWarehouse(project=PROJECT, location="EU")


def pcf_rows(entries) -> pd.DataFrame:
    """pcf rows as the pure function returns them: analysis_date/game_date as datetime64."""
    columns = output_columns("pcf")
    records = []
    for d, player in entries:
        record = dict.fromkeys(columns)
        record.update(analysis_date=pd.Timestamp(d), game_date=pd.Timestamp(d), player_lookup=player,
                      fatigue_score=90, has_warnings=False, total_composite_adjustment=1.25)
        records.append(record)
    frame = pd.DataFrame(records, columns=columns)
    frame["analysis_date"] = pd.to_datetime(frame["analysis_date"])
    frame["game_date"] = pd.to_datetime(frame["game_date"])
    return frame


def failure_rows(entries) -> pd.DataFrame:
    frame = pd.DataFrame(
        [{"processor_name": "pcf", "analysis_date": pd.Timestamp(d), "entity_id": e, "failure_category": "MISSING_DATA",
          "failure_reason": "UPCG row lacks team_abbr", "can_retry": True, "expected_game_count": None,
          "actual_game_count": None} for d, e in entries],
        columns=FAILURE_COLUMNS,
    )
    frame["analysis_date"] = pd.to_datetime(frame["analysis_date"])
    return frame


def write(wh, client=None):
    wh.write_partitions("pcf", pd.DatetimeIndex([D2, D1, D1]), pcf_rows([(D1, "a"), (D2, "b")]),
                        failure_rows([(D1, "c")]), run_id="run-42")


# --- partition writes ------------------------------------------------------------------------------

def test_a_partition_write_is_three_load_jobs_one_transaction_and_three_staging_deletes(wh, client):
    write(wh)

    assert client.kinds() == ["load", "load", "load", "query", "delete_table", "delete_table", "delete_table"]
    (_, rows, rows_dest, rows_cfg), (_, fails, fails_dest, fails_cfg), (_, verdicts, verdicts_dest, _) = client.of("load")
    assert rows_dest.startswith(f"{PROJECT}.nba_processing._stage_pcf_")
    assert fails_dest.startswith(f"{PROJECT}.nba_processing._stage_pcf_failures_")
    assert verdicts_dest.startswith(f"{PROJECT}.nba_processing._stage_pcf_verdicts_")
    assert len({rows_dest, fails_dest, verdicts_dest}) == 3
    assert [c[1] for c in client.of("delete_table")] == [rows_dest, fails_dest, verdicts_dest]
    assert list(verdicts.columns) == DEPENDENCY_CHECKS.column_names and verdicts.empty
    assert all(c[2] is True for c in client.of("delete_table"))
    assert len(rows) == 2 and len(fails) == 1


def test_load_jobs_have_an_explicit_schema_with_date_and_truncate_the_staging_table(wh, client):
    write(wh)

    (_, _, _, rows_cfg), (_, _, _, fails_cfg), _ = client.of("load")
    for config, table in ((rows_cfg, PCF), (fails_cfg, FAILURES)):
        assert isinstance(config, bigquery.LoadJobConfig)
        assert config.write_disposition == "WRITE_TRUNCATE"
        schema = {f.name: (f.field_type, f.mode) for f in config.schema}
        assert list(schema) == table.column_names
        assert schema["analysis_date"] == ("DATE", "REQUIRED")
        assert schema["created_at"][0] == "TIMESTAMP"
    rows_schema = {f.name: f.field_type for f in rows_cfg.schema}
    assert rows_schema["game_date"] == "DATE" and rows_schema["fatigue_score"] == "INT64"
    assert {f.name: f.mode for f in fails_cfg.schema}["run_id"] == "REQUIRED"


def test_date_columns_are_loaded_as_date_objects_not_datetime64(wh, client):
    write(wh)

    (_, rows, _, _), (_, fails, _, _), _ = client.of("load")
    for frame, columns in ((rows, ["analysis_date", "game_date"]), (fails, ["analysis_date"])):
        for column in columns:
            assert frame[column].dtype == object, column
            assert all(type(v) is dt.date for v in frame[column]), column
    assert list(rows["analysis_date"]) == [D1, D2]
    assert str(rows["created_at"].dtype) == "datetime64[us, UTC]" or str(rows["created_at"].dtype).endswith("UTC]")
    assert str(rows["fatigue_score"].dtype) == "Int64" and str(rows["has_warnings"].dtype) == "boolean"
    assert set(fails["run_id"]) == {"run-42"}


def test_the_transaction_replaces_the_dates_with_an_array_of_date_parameter(wh, client):
    write(wh)

    (_, script, config) = client.of("query")[0]
    (_, _, rows_dest, _), (_, _, fails_dest, _), (_, _, verdicts_dest, _) = client.of("load")
    assert script == transaction_script("pcf", rows_dest, fails_dest, PROJECT, verdicts_dest)
    params = {p.name: p for p in config.query_parameters}
    assert isinstance(params["dates"], bigquery.ArrayQueryParameter)
    assert params["dates"].array_type == "DATE"
    assert params["dates"].values == [D1, D2]  # sorted, unique, datetime.date
    assert all(type(v) is dt.date for v in params["dates"].values)
    assert params["processor"].type_ == "STRING" and params["processor"].value == "pcf"
    assert [type(t).__name__ for t in sqlglot.parse(script, read="bigquery")] == [
        "Transaction", "Delete", "Insert", "Delete", "Insert", "Delete", "Insert", "Commit"]


@pytest.mark.parametrize("stage", ["first load", "second load", "transaction"])
def test_staging_tables_are_deleted_when_any_step_fails(wh, client, stage):
    boom = BadRequest("Query error: something broke")
    if stage == "first load":
        client.load_errors = [boom]
    elif stage == "second load":
        client.load_errors = [None, boom]
    else:
        client.query_errors = [boom]

    with pytest.raises(WarehouseError) as err:
        write(wh)

    assert str(err.value).startswith(
        "writing nba_precompute.player_composite_factors for 2021-11-08..2021-11-10 (2 date(s)) failed: ")
    assert "something broke" in str(err.value)
    deleted = [c[1] for c in client.of("delete_table")]
    assert len(deleted) == 3 and deleted[0].startswith(f"{PROJECT}.nba_processing._stage_pcf_")
    assert client.kinds()[-3:] == ["delete_table", "delete_table", "delete_table"]
    assert len(client.of("query")) == (1 if stage == "transaction" else 0)


def test_a_failing_staging_delete_does_not_hide_the_write_error(wh, client, monkeypatch):
    client.query_errors = [BadRequest("Query error: the real problem")]
    monkeypatch.setattr(client, "delete_table", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("network")),
                        raising=False)
    with pytest.raises(WarehouseError, match="the real problem"):
        write(wh)


def test_a_transaction_aborted_by_a_concurrent_writer_is_retried(wh, client):
    conflict = BadRequest("Query error: Transaction is aborted due to concurrent update against table "
                          f"{PROJECT}:nba_processing.precompute_failures.")
    client.query_errors = [conflict, conflict]

    write(wh)

    assert client.kinds() == ["load", "load", "load", "query", "sleep", "query", "sleep", "query", "delete_table",
                              "delete_table", "delete_table"]
    scripts = {c[1] for c in client.of("query")}
    assert len(scripts) == 1  # the same script against the same staging tables
    sleeps = [c[1] for c in client.of("sleep")]
    assert 2 <= sleeps[0] <= 4 and 4 <= sleeps[1] <= 8


def test_conflicts_beyond_the_retry_budget_fail_clearly(wh, client):
    conflict = BadRequest("Could not serialize access to table x due to concurrent update")
    client.query_errors = [conflict] * bq_module.TRANSACTION_ATTEMPTS

    with pytest.raises(WarehouseError, match="concurrent update"):
        write(wh)

    assert len(client.of("query")) == bq_module.TRANSACTION_ATTEMPTS
    assert len(client.of("delete_table")) == 3


def test_other_errors_are_not_retried(wh, client):
    client.query_errors = [BadRequest("Query error: Syntax error")]
    with pytest.raises(WarehouseError):
        write(wh)
    assert len(client.of("query")) == 1 and not client.of("sleep")


def test_an_empty_write_still_replaces_the_dates(wh, client):
    wh.write_partitions("pcf", [D1], pcf_rows([]), failure_rows([]), run_id="r")

    (_, rows, _, _), (_, fails, _, _), _ = client.of("load")
    assert rows.empty and fails.empty and list(rows.columns) == PCF.column_names
    params = {p.name: p for p in client.of("query")[0][2].query_parameters}
    assert params["dates"].values == [D1]


def test_a_time_of_day_in_a_date_column_is_refused_before_any_job(wh, client):
    rows = pcf_rows([(D1, "a")])
    rows["analysis_date"] = pd.Timestamp("2021-11-08 13:30")
    with pytest.raises(WarehouseError, match="column analysis_date holds times of day"):
        wh.write_partitions("pcf", [D1], rows, failure_rows([]), run_id="r")
    assert not client.of("load") and not client.of("query")


# --- the real client library's serialization of a load --------------------------------------------

def test_the_client_library_uploads_analysis_date_as_a_parquet_date(wh, monkeypatch):
    """A real google.cloud.bigquery.Client (anonymous credentials) builds the Parquet file of the
    load job from our frame and schema; the upload itself is captured."""
    from google.auth.credentials import AnonymousCredentials

    real = bigquery.Client(project=PROJECT, credentials=AnonymousCredentials(), location="EU")
    uploads = []

    def capture(file_obj, destination, job_config=None, **kwargs):
        uploads.append((pq.read_table(io.BytesIO(file_obj.read())), destination, job_config))
        return FakeJob()

    monkeypatch.setattr(real, "load_table_from_file", capture)
    monkeypatch.setattr(real, "get_table", lambda *a, **k: pytest.fail("schema lookup despite an explicit schema"))
    frame = pcf_rows([(D1, "a"), (D2, "b")]).assign(created_at=pd.Timestamp("2021-11-10 09:00", tz="UTC"))

    wh._load(real, frame, PCF, f"{PROJECT}.nba_processing._stage_pcf_x")

    (table, destination, config), = uploads
    assert destination == f"{PROJECT}.nba_processing._stage_pcf_x"
    assert config.source_format == "PARQUET" and config.write_disposition == "WRITE_TRUNCATE"
    assert str(table.schema.field("analysis_date").type) == "date32[day]"
    assert str(table.schema.field("game_date").type) == "date32[day]"
    assert str(table.schema.field("created_at").type).startswith("timestamp[us, tz=UTC]")
    assert table.column("analysis_date").to_pylist() == [D1, D2]
    assert table.column("fatigue_score").type == "int64"


def test_without_our_conversion_pandas_would_type_the_date_as_a_timestamp():
    """Why to_load_frame exists: schema inference makes a datetime64 column a DATETIME/TIMESTAMP;
    after to_load_frame the same column is inferred as DATE even without a schema."""
    from google.cloud.bigquery import _pandas_helpers

    raw = pcf_rows([(D1, "a")])[["analysis_date", "player_lookup"]]
    inferred = {f.name: f.field_type for f in _pandas_helpers.dataframe_to_bq_schema(raw, [])}
    assert inferred["analysis_date"] in ("DATETIME", "TIMESTAMP")

    stamped = pcf_rows([(D1, "a")]).assign(created_at=pd.Timestamp("2021-11-10", tz="UTC"))
    converted = to_load_frame(stamped, PCF)[["analysis_date", "player_lookup"]]
    inferred = {f.name: f.field_type for f in _pandas_helpers.dataframe_to_bq_schema(converted, [])}
    assert inferred["analysis_date"] == "DATE"


# --- DDL, reads, existence --------------------------------------------------------------------------

def test_ensure_tables_runs_the_ddl_as_one_script(wh, client):
    wh.ensure_tables()

    (_, script, _), = client.of("query")
    assert script == wh.ddl_script()
    statements = sqlglot.parse(script, read="bigquery")
    assert len(statements) == 3 + len(OUTPUT_TABLES)
    assert not client.of("load")


def test_read_binds_date_parameters_and_returns_datetime64_dates(wh, client):
    import db_dtypes  # noqa: F401  (what the client library returns for DATE)

    client.query_frame = pd.DataFrame({"analysis_date": pd.Series([D1, D2], dtype="dbdate"),
                                       "player_lookup": ["a", "b"]})

    frame = wh.read(PCF, D1, D2, columns=["analysis_date", "player_lookup"])

    (_, query, config), = client.of("query")
    assert query == (f"SELECT analysis_date, player_lookup FROM `{PROJECT}.nba_precompute.player_composite_factors`"
                     " WHERE analysis_date BETWEEN @start AND @end")
    params = {p.name: (p.type_, p.value) for p in config.query_parameters}
    assert params == {"start": ("DATE", D1), "end": ("DATE", D2)}
    assert str(frame["analysis_date"].dtype).startswith("datetime64")
    assert list(frame["analysis_date"]) == [pd.Timestamp(D1), pd.Timestamp(D2)]


def test_table_exists_asks_for_the_fully_qualified_table(wh, client):
    client.existing = {f"{PROJECT}.nba_precompute.player_composite_factors"}
    assert wh.table_exists(PCF)
    assert not wh.table_exists(FAILURES)


# --- credentials ---------------------------------------------------------------------------------

def _service_account_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    info = {"type": "service_account", "project_id": PROJECT, "private_key_id": "k1", "private_key": pem,
            "client_email": f"precompute@{PROJECT}.iam.gserviceaccount.com", "client_id": "1",
            "token_uri": "https://oauth2.googleapis.com/token"}
    return base64.b64encode(json.dumps(info).encode()).decode()


def test_a_service_account_key_in_the_environment_is_used_without_any_file_in_the_repo(monkeypatch, tmp_path):
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("NBA_PRECOMPUTE_GCP_CREDENTIALS", _service_account_key())
    monkeypatch.setenv("NBA_PRECOMPUTE_GCP_LOCATION", "EU")
    monkeypatch.chdir(tmp_path)
    from nba_precompute.config import Config
    from nba_precompute.resources import bigquery_warehouse

    # the configuration reads the key; the warehouse gets it (resolved, as the CLI uses it)
    warehouse = bigquery_warehouse(project=PROJECT, resolve=True, config=Config.from_env(__import__("os").environ))
    with warehouse._client() as real:
        email = real._credentials.service_account_email
        project, location = real.project, real.location

    assert email == f"precompute@{PROJECT}.iam.gserviceaccount.com"
    assert (project, location) == (PROJECT, "EU")
    assert "GOOGLE_APPLICATION_CREDENTIALS" not in __import__("os").environ  # the temp key file is gone
    assert not list(tmp_path.iterdir())


def test_without_a_key_application_default_credentials_are_left_to_the_library(monkeypatch):
    monkeypatch.delenv("NBA_PRECOMPUTE_GCP_CREDENTIALS", raising=False)
    assert BigQueryWarehouse(project=PROJECT)._resource().gcp_credentials is None
    assert BigQueryWarehouse(project=PROJECT, gcp_credentials="abc")._resource().gcp_credentials == "abc"


# --- the command --------------------------------------------------------------------------------

def test_bigquery_ddl_prints_the_statements_and_apply_runs_them(client, capsys):
    from nba_precompute.cli import main

    assert main(["bigquery-ddl", "--project", PROJECT]) == 0
    printed = capsys.readouterr().out
    assert not client.calls
    statements = sqlglot.parse(printed, read="bigquery")
    assert len([s for s in statements if s is not None]) == 3 + len(OUTPUT_TABLES)
    assert f"CREATE TABLE IF NOT EXISTS `{PROJECT}.nba_processing.precompute_failures`" in printed
    assert "PARTITION BY analysis_date\nCLUSTER BY processor_name, failure_category;" in printed

    assert main(["bigquery-ddl", "--project", PROJECT, "--apply"]) == 0
    (_, script, _), = client.of("query")
    assert script == BigQueryWarehouse(project=PROJECT).ddl_script()
    assert f"to project {PROJECT}" in capsys.readouterr().out


def test_rows_keep_the_asset_table_column_order(wh, client):
    shuffled = pcf_rows([(D1, "a")])
    shuffled = shuffled[list(reversed(shuffled.columns))]
    wh.write_partitions("pcf", [D1], shuffled, failure_rows([]), run_id="r")
    (_, rows, _, _), *_ = client.of("load")
    assert list(rows.columns) == PCF.column_names
    assert ENTITY_COLUMN["pcf"] in rows.columns and ASSET_TABLES["pcf"] is PCF
