"""The hand-written SQL: identifier validation, BigQuery DDL (partitioning, clustering, NOT NULL),
DuckDB DDL that really runs, BigQueryWarehouse.ddl() and the partition-replacement script."""

from __future__ import annotations

import re

import duckdb
import pytest

from nba_precompute.phase3.contract import PHASE3_TABLES, Table
from nba_precompute.tables import DEPENDENCY_CHECKS, FAILURES, MLFS, PCF, PDC, PSZA, TDZA
from nba_precompute.registry import ASSET_TABLES
from nba_precompute.warehouse import sql
from nba_precompute.warehouse.base import OUTPUT_TABLES, all_tables
from nba_precompute.warehouse.bigquery import BigQueryWarehouse, transaction_script

PROJECT = "nba-props-prod"

INJECTIONS = [
    "analysis_date; DROP TABLE nba_precompute.player_daily_cache",
    "x' OR '1'='1",
    "name--",
    "a.b",
    "a b",
    "`quoted`",
    '"quoted"',
    "1starts_with_digit",
    "",
    "tab\tle",
    "semi;",
    "nba_precompute.player_daily_cache /*",
]


@pytest.mark.parametrize("name", INJECTIONS)
def test_identifier_rejects_injection_like_names(name):
    with pytest.raises(ValueError) as err:
        sql.identifier(name)

    assert str(err.value) == f"invalid SQL identifier {name!r}"


def test_identifier_rejects_none():
    with pytest.raises(ValueError, match="invalid SQL identifier None"):
        sql.identifier(None)


@pytest.mark.parametrize("name", ["analysis_date", "f00_points_avg_last_5", "_private", "nba_precompute",
                                  "A1"])
def test_identifier_accepts_plain_names_unchanged(name):
    assert sql.identifier(name) == name


@pytest.mark.parametrize("project", ["my project", "proj`; DROP", "UPPERCASE-proj", "ab", "p" * 31, "proj-"])
def test_project_id_rejects_invalid_google_cloud_project_ids(project):
    with pytest.raises(ValueError) as err:
        sql.project_id(project)

    assert str(err.value) == f"invalid Google Cloud project id {project!r}"


def test_a_table_with_an_injected_name_never_becomes_sql():
    evil = Table("nba_precompute", "t; DROP SCHEMA nba_precompute", "evil", (("analysis_date", "DATE"),),
                 key=("analysis_date",), date_column="analysis_date")

    for build in (lambda: sql.create_table(evil, "duckdb"),
                  lambda: sql.create_table(evil, "bigquery", PROJECT),
                  lambda: sql.delete_range(evil, "duckdb"),
                  lambda: sql.select_range(evil, "bigquery")):
        with pytest.raises(ValueError, match="invalid SQL identifier 't; DROP SCHEMA nba_precompute'"):
            build()
    with pytest.raises(ValueError, match="invalid Google Cloud project id"):
        sql.create_table(PSZA, "bigquery", "evil`.x; --")


# --- BigQuery DDL -------------------------------------------------------------------------------

EXPECTED_CLUSTERING = {
    PSZA: "player_lookup",
    TDZA: "team_abbr",
    PDC: "player_lookup",
    PCF: "player_lookup",
    MLFS: "player_lookup",
    FAILURES: "processor_name, failure_category",
    DEPENDENCY_CHECKS: "processor_name, upstream_table",
}


def test_every_output_table_has_an_expected_clustering():
    assert set(EXPECTED_CLUSTERING) == set(OUTPUT_TABLES)


@pytest.mark.parametrize("table", OUTPUT_TABLES, ids=lambda t: t.name)
def test_bigquery_ddl_partitions_by_analysis_date_and_clusters_by_entity(table):
    ddl = sql.create_table(table, "bigquery", PROJECT)

    assert ddl.startswith(f"CREATE TABLE IF NOT EXISTS `{PROJECT}.{table.dataset}.{table.name}` (\n")
    assert ddl.endswith(f")\nPARTITION BY analysis_date\nCLUSTER BY {EXPECTED_CLUSTERING[table]}")


@pytest.mark.parametrize("table", OUTPUT_TABLES, ids=lambda t: t.name)
def test_bigquery_ddl_declares_every_column_with_not_null_exactly_on_required_ones(table):
    ddl = sql.create_table(table, "bigquery", PROJECT)
    lines = {m.group(1): m.group(2) for m in re.finditer(r"^  (\w+) (.+?),?$", ddl, re.MULTILINE)}

    assert list(lines) == table.column_names
    for column in table.key:
        assert lines[column].endswith(" NOT NULL"), column
    for column, kind in table.columns:
        expected = sql.column_type(kind, "bigquery") + (" NOT NULL" if column in table.not_null else "")
        assert lines[column] == expected, column


def test_bigquery_ddl_keys_and_types_of_the_shot_zone_table():
    ddl = sql.create_table(PSZA, "bigquery", PROJECT)

    assert "  analysis_date DATE NOT NULL,\n" in ddl
    assert "  player_lookup STRING NOT NULL,\n" in ddl
    assert "  universal_player_id STRING,\n" in ddl
    assert "  early_season_flag BOOL,\n" in ddl
    assert "  created_at TIMESTAMP\n" in ddl


def test_bigquery_ddl_of_the_failure_table_requires_its_audit_columns():
    ddl = sql.create_table(FAILURES, "bigquery", PROJECT)

    for column in ("processor_name STRING", "run_id STRING", "analysis_date DATE", "entity_id STRING",
                   "failure_category STRING", "failure_reason STRING", "can_retry BOOL",
                   "created_at TIMESTAMP"):
        assert f"  {column} NOT NULL" in ddl
    assert "  expected_game_count INT64,\n" in ddl


@pytest.mark.parametrize("table", PHASE3_TABLES, ids=lambda t: t.name)
def test_bigquery_ddl_of_phase3_tables_is_not_partitioned_by_analysis_date(table):
    ddl = sql.create_table(table, "bigquery", PROJECT)

    assert "PARTITION BY" not in ddl and "CLUSTER BY" not in ddl
    assert "  game_date DATE NOT NULL" in ddl


# --- DuckDB DDL runs ----------------------------------------------------------------------------

DUCKDB_TYPES = {"STRING": "VARCHAR", "DATE": "DATE", "INT64": "BIGINT", "FLOAT64": "DOUBLE",
                "BOOL": "BOOLEAN", "TIMESTAMP": "TIMESTAMP WITH TIME ZONE"}


def test_duckdb_ddl_of_every_table_runs_and_creates_the_contract_columns():
    con = duckdb.connect(":memory:")
    for table in all_tables():
        con.execute(sql.create_schema(table.dataset, "duckdb"))
        con.execute(sql.create_table(table, "duckdb"))
        con.execute(sql.create_table(table, "duckdb"))  # IF NOT EXISTS: idempotent

    for table in all_tables():
        columns = con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [table.dataset, table.name],
        ).fetchall()
        assert columns == [(c, DUCKDB_TYPES[k]) for c, k in table.columns], table.fqn
    schemas = {r[0] for r in
               con.execute("SELECT DISTINCT table_schema FROM information_schema.tables").fetchall()}
    assert schemas == {"nba_reference", "nba_analytics", "nba_precompute", "nba_predictions",
                       "nba_processing"}


def test_duckdb_range_and_date_list_statements_run_with_parameters():
    con = duckdb.connect(":memory:")
    con.execute(sql.create_schema(FAILURES.dataset, "duckdb"))
    con.execute(sql.create_table(FAILURES, "duckdb"))
    con.execute(
        "INSERT INTO nba_processing.precompute_failures (processor_name, run_id, analysis_date, entity_id,"
        " failure_category, failure_reason, can_retry) VALUES"
        " ('psza', 'r', DATE '2021-11-01', 'a', 'X', 'x', true),"
        " ('tdza', 'r', DATE '2021-11-01', 'b', 'X', 'x', true),"
        " ('psza', 'r', DATE '2021-11-02', 'c', 'X', 'x', true)"
    )
    con.execute("CREATE TEMP TABLE _dates AS SELECT DATE '2021-11-01' AS d")

    con.execute(sql.delete_dates(FAILURES, "duckdb", "_dates", processor=True), ["psza"])

    left = con.execute(sql.select_range(FAILURES, "duckdb", ["processor_name", "entity_id"]),
                       ["2021-10-01", "2021-12-31"]).fetchall()
    assert sorted(left) == [("psza", "c"), ("tdza", "b")]


# --- BigQueryWarehouse.ddl() and the transaction script ------------------------------------------

def test_bigquery_warehouse_ddl_creates_the_three_output_datasets_then_every_output_table():
    statements = BigQueryWarehouse(project=PROJECT).ddl()

    schemas = [s for s in statements if s.startswith("CREATE SCHEMA")]
    tables = [s for s in statements if s.startswith("CREATE TABLE")]
    assert schemas == [
        f"CREATE SCHEMA IF NOT EXISTS `{PROJECT}.nba_precompute`",
        f"CREATE SCHEMA IF NOT EXISTS `{PROJECT}.nba_predictions`",
        f"CREATE SCHEMA IF NOT EXISTS `{PROJECT}.nba_processing`",
    ]
    assert statements == schemas + tables  # datasets before the tables in them
    assert tables == [sql.create_table(t, "bigquery", PROJECT) for t in OUTPUT_TABLES]
    assert all("PARTITION BY analysis_date" in t for t in tables)


def test_bigquery_warehouse_rejects_a_bad_project_before_any_statement():
    with pytest.raises(ValueError, match="invalid Google Cloud project id"):
        BigQueryWarehouse(project="bad project; --").ddl()


@pytest.mark.parametrize("asset", list(ASSET_TABLES))
def test_transaction_script_replaces_dates_and_processor_failures_in_one_transaction(asset):
    table = ASSET_TABLES[asset]
    stage_rows = f"{PROJECT}.nba_processing._stage_{asset}_abc"
    stage_failures = f"{PROJECT}.nba_processing._stage_{asset}_failures_abc"

    script = transaction_script(asset, stage_rows, stage_failures, PROJECT)

    statements = [s.strip() for s in script.split(";") if s.strip()]
    target = f"`{PROJECT}.{table.dataset}.{table.name}`"
    failures = f"`{PROJECT}.nba_processing.precompute_failures`"
    assert statements[0] == "BEGIN TRANSACTION"
    assert statements[-1] == "COMMIT TRANSACTION"
    assert statements[1] == f"DELETE FROM {target} WHERE analysis_date IN UNNEST(@dates)"
    assert statements[2].startswith(f"INSERT INTO {target} (")
    assert statements[2].endswith(f"FROM `{stage_rows}`")
    assert statements[3] == (
        f"DELETE FROM {failures} WHERE analysis_date IN UNNEST(@dates) AND processor_name = @processor"
    )
    assert statements[4].startswith(f"INSERT INTO {failures} (")
    assert statements[4].endswith(f"FROM `{stage_failures}`")
    assert len(statements) == 6
    assert script.endswith("COMMIT TRANSACTION;")
    cols = ", ".join(table.column_names)
    assert f"({cols}) SELECT {cols} FROM" in statements[2]
