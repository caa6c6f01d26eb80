"""Every hand-written statement in both dialects: each BigQuery variant parses (sqlglot,
read="bigquery"), its DuckDB twin runs against a real DuckDBWarehouse with the intended effect,
and the BigQuery text transpiled to DuckDB by sqlglot has the same effect as the twin.

The DuckDB file is named after the Google Cloud project, so DuckDB's catalog has the project's
name and the transpiled `project.dataset.table` names resolve as they do in BigQuery.
"""

from __future__ import annotations

import datetime as dt
import inspect
import re

import duckdb
import pandas as pd
import pytest
import sqlglot
from sqlglot import exp

from nba_precompute.failures import FAILURE_COLUMNS
from nba_precompute.phase3.contract import PHASE3_TABLES
from nba_precompute.tables import DEPENDENCY_CHECKS, FAILURES, PSZA
from nba_precompute.registry import ASSET_TABLES, ENTITY_COLUMN, output_columns
from nba_precompute.warehouse import sql
from nba_precompute.warehouse.base import OUTPUT_TABLES, all_tables, stamp
from nba_precompute.warehouse.bigquery import BigQueryWarehouse, transaction_script
from nba_precompute.warehouse.duckdb import DuckDBWarehouse

PROJECT = "nba-props-prod"
D1, D2, D3 = dt.date(2021, 11, 1), dt.date(2021, 11, 2), dt.date(2021, 11, 3)
STATEMENT_BUILDERS = {"create_schema", "create_table", "delete_dates", "delete_range", "insert_from", "select_range"}
HELPERS = {"identifier", "project_id", "qualified", "column_type"}
CREATED = pd.Timestamp("2021-11-04 12:00", tz="UTC")


def parse_bigquery(text: str) -> list[exp.Expression]:
    return sqlglot.parse(text, read="bigquery", error_level=sqlglot.ErrorLevel.RAISE)


def to_duckdb(text: str) -> list[str]:
    return sqlglot.transpile(text, read="bigquery", write="duckdb", error_level=sqlglot.ErrorLevel.RAISE)


def run_transpiled(con, text: str, params: dict) -> list:
    """Run BigQuery text through sqlglot on DuckDB; @name parameters become $name."""
    result = None
    for statement in to_duckdb(text):
        used = {k: v for k, v in params.items() if re.search(rf"\${k}\b", statement)}
        result = con.execute(statement, used) if used else con.execute(statement)
    return result.fetchall() if result is not None and result.description else []


def failure_frame(entries) -> pd.DataFrame:
    frame = pd.DataFrame(
        [{"processor_name": p, "analysis_date": d, "entity_id": e, "failure_category": "INSUFFICIENT_DATA",
          "failure_reason": "Only 1 games, need 3", "can_retry": False, "expected_game_count": 3,
          "actual_game_count": 1} for p, d, e in entries],
        columns=FAILURE_COLUMNS,
    )
    return stamp(frame, FAILURES, CREATED, run_id="run-1")


def row_frame(asset, entries) -> pd.DataFrame:
    columns = output_columns(asset)
    records = []
    for d, entity in entries:
        record = dict.fromkeys(columns)
        record.update(analysis_date=d, **{ENTITY_COLUMN[asset]: entity})
        records.append(record)
    return stamp(pd.DataFrame(records, columns=columns, dtype=object), ASSET_TABLES[asset], CREATED)


SEED = [("psza", D1, "a"), ("psza", D2, "b"), ("psza", D3, "c"), ("tdza", D1, "x"), ("tdza", D2, "y")]


@pytest.fixture
def wh(tmp_path) -> DuckDBWarehouse:
    """A real warehouse whose DuckDB catalog is named like the project, failures seeded."""
    warehouse = DuckDBWarehouse(database=str(tmp_path / f"{PROJECT}.duckdb"))
    warehouse.ensure_tables()
    with warehouse._connect() as con:
        con.register("_seed", failure_frame(SEED))
        con.execute(sql.insert_from(FAILURES, "_seed", "duckdb"))
    return warehouse


def failures_left(wh) -> list[tuple]:
    frame = wh.read(FAILURES, columns=["processor_name", "analysis_date", "entity_id"])
    return sorted((p, pd.Timestamp(d).date(), e) for p, d, e in frame.itertuples(index=False))


def every_bigquery_statement() -> list[tuple[str, str]]:
    out = []
    for table in all_tables():
        out += [
            (f"create_table[{table.name}]", sql.create_table(table, "bigquery", PROJECT)),
            (f"delete_range[{table.name}]", sql.delete_range(table, "bigquery", PROJECT)),
            (f"insert_from[{table.name}]", sql.insert_from(table, f"`{PROJECT}.nba_processing._stage`", "bigquery", PROJECT)),
            (f"select_range[{table.name}]", sql.select_range(table, "bigquery", None, PROJECT)),
            (f"select_all[{table.name}]", sql.select_range(table, "bigquery", None, PROJECT, bounded=False)),
        ]
    for table in OUTPUT_TABLES:
        out.append((f"delete_dates[{table.name}]",
                    sql.delete_dates(table, "bigquery", "dates", PROJECT, processor=table in (FAILURES, DEPENDENCY_CHECKS))))
    for dataset in dict.fromkeys(t.dataset for t in all_tables()):
        out.append((f"create_schema[{dataset}]", sql.create_schema(dataset, "bigquery", PROJECT)))
    for asset in ASSET_TABLES:
        out.append((f"transaction_script[{asset}]", transaction_script(
            asset, f"{PROJECT}.nba_processing._stage_{asset}_1", f"{PROJECT}.nba_processing._stage_{asset}_f_1", PROJECT,
            f"{PROJECT}.nba_processing._stage_{asset}_v_1")))
    out.append(("ddl_script", BigQueryWarehouse(project=PROJECT).ddl_script()))
    return out


# --- coverage of sql.py ---------------------------------------------------------------------------

def test_every_statement_builder_of_sql_py_is_tested_here():
    public = {name for name, fn in inspect.getmembers(sql, inspect.isfunction)
              if fn.__module__ == sql.__name__ and not name.startswith("_")}
    assert public - HELPERS == STATEMENT_BUILDERS, "a new statement builder needs its dialect tests here"
    builders = {name.split("[")[0] for name, _ in every_bigquery_statement()}
    assert STATEMENT_BUILDERS <= builders | {"select_all"}


# --- BigQuery: every statement parses -------------------------------------------------------------

@pytest.mark.parametrize("name,text", every_bigquery_statement(), ids=[n for n, _ in every_bigquery_statement()])
def test_every_bigquery_statement_parses(name, text):
    parsed = parse_bigquery(text)

    assert parsed and all(p is not None for p in parsed)
    # the text names only this project's tables, always fully qualified and quoted
    for tree in parsed:
        if isinstance(tree, exp.Create) and tree.kind == "SCHEMA":  # `project.dataset`
            assert tree.this.sql("bigquery").startswith(f"`{PROJECT}."), name
            continue
        for table in tree.find_all(exp.Table):
            assert table.catalog == PROJECT, (name, table.sql("bigquery"))


@pytest.mark.parametrize("table", OUTPUT_TABLES, ids=lambda t: t.name)
def test_bigquery_ddl_parses_to_a_date_partition_and_the_clustering(table):
    (tree,) = parse_bigquery(sql.create_table(table, "bigquery", PROJECT))

    partition = tree.find(exp.PartitionedByProperty)
    assert partition is not None and partition.this.sql("bigquery") == "analysis_date"
    column_types = {c.name: c.args["kind"].sql("bigquery") for c in tree.find_all(exp.ColumnDef)}
    assert column_types["analysis_date"] == "DATE"  # a DATE column: DATE partitioning, no cast
    cluster = tree.find(exp.ClusterProperty)
    assert [e.sql("bigquery") for e in cluster.expressions] == list(sql.CLUSTERING[table.name])


def test_the_transaction_script_parses_to_one_transaction_of_four_dml_statements():
    script = transaction_script("pcf", f"{PROJECT}.nba_processing._s", f"{PROJECT}.nba_processing._f", PROJECT)

    kinds = [type(t).__name__ for t in parse_bigquery(script)]

    assert kinds == ["Transaction", "Delete", "Insert", "Delete", "Insert", "Commit"]
    params = {p.sql("bigquery") for t in parse_bigquery(script) for p in t.find_all(exp.Parameter)}
    assert params == {"@dates", "@processor"}
    assert "00:00:00" not in script and "TIMESTAMP" not in script  # DATE compared with DATE only


def test_the_ddl_script_is_one_statement_per_dataset_and_table():
    script = BigQueryWarehouse(project=PROJECT).ddl_script()

    trees = parse_bigquery(script)

    assert len(trees) == 3 + len(OUTPUT_TABLES)
    assert [t.sql("bigquery") for t in trees] == [
        sqlglot.parse_one(s, read="bigquery").sql("bigquery") for s in BigQueryWarehouse(project=PROJECT).ddl()
    ]


# --- DuckDB twins run with their effect, and so does the transpiled BigQuery text ------------------

def test_create_schema_twin_and_transpiled(wh):
    with wh._connect() as con:
        con.execute(sql.create_schema("nba_scratch", "duckdb"))
        # sqlglot keeps a dotted `project.dataset` schema name as one identifier: transpile the
        # project-less form, which BigQuery runs in the job's project just the same
        run_transpiled(con, sql.create_schema("nba_scratch2", "bigquery"), {})
        run_transpiled(con, sql.create_schema("nba_scratch2", "bigquery"), {})  # IF NOT EXISTS
        schemas = {r[0] for r in con.execute("SELECT schema_name FROM information_schema.schemata").fetchall()}
    assert {"nba_scratch", "nba_scratch2"} <= schemas


@pytest.mark.parametrize("table", all_tables(), ids=lambda t: t.name)
def test_create_table_twin_and_transpiled_make_the_same_columns(wh, table):
    with wh._connect() as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS native")
        con.execute("CREATE SCHEMA IF NOT EXISTS transpiled")
        native = sql.create_table(table, "duckdb").replace(f"{table.dataset}.{table.name}", f"native.{table.name}")
        con.execute(native)
        bq = sql.create_table(table, "bigquery", PROJECT).replace(
            f"`{PROJECT}.{table.dataset}.{table.name}`", f"`{PROJECT}.transpiled.{table.name}`")
        run_transpiled(con, bq, {})
        columns = {
            schema: con.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = ? "
                                "AND table_name = ? ORDER BY ordinal_position", [schema, table.name]).fetchall()
            for schema in ("native", "transpiled")
        }
    assert [c for c, _ in columns["native"]] == table.column_names
    assert columns["transpiled"] == columns["native"]


def test_delete_dates_twin_and_transpiled(wh, tmp_path):
    twin = DuckDBWarehouse(database=str(tmp_path / "twin" / f"{PROJECT}.duckdb"))
    twin.ensure_tables()
    with twin._connect() as con:
        con.register("_seed", failure_frame(SEED))
        con.execute(sql.insert_from(FAILURES, "_seed", "duckdb"))
        con.register("_dates", pd.DataFrame({"d": [D1, D3]}))
        con.execute(sql.delete_dates(FAILURES, "duckdb", "_dates", processor=True), ["psza"])
    with wh._connect() as con:
        run_transpiled(con, sql.delete_dates(FAILURES, "bigquery", "dates", PROJECT, processor=True),
                       {"dates": [D1, D3], "processor": "psza"})

    expected = [("psza", D2, "b"), ("tdza", D1, "x"), ("tdza", D2, "y")]
    assert failures_left(twin) == expected
    assert failures_left(wh) == expected


def test_delete_dates_of_an_asset_table_twin_and_transpiled(wh):
    with wh._connect() as con:
        con.register("_rows", row_frame("psza", [(D1, "a"), (D2, "b"), (D3, "c")]))
        con.execute(sql.insert_from(PSZA, "_rows", "duckdb"))
        run_transpiled(con, sql.delete_dates(PSZA, "bigquery", "dates", PROJECT), {"dates": [D2]})
        left = con.execute("SELECT player_lookup FROM nba_precompute.player_shot_zone_analysis ORDER BY 1").fetchall()
        con.register("_dates", pd.DataFrame({"d": [D3]}))
        con.execute(sql.delete_dates(PSZA, "duckdb", "_dates"))
        after_twin = con.execute("SELECT player_lookup FROM nba_precompute.player_shot_zone_analysis").fetchall()
    assert left == [("a",), ("c",)]
    assert after_twin == [("a",)]


def test_delete_range_twin_and_transpiled(wh, tmp_path):
    twin = DuckDBWarehouse(database=str(tmp_path / "twin" / f"{PROJECT}.duckdb"))
    twin.ensure_tables()
    with twin._connect() as con:
        con.register("_seed", failure_frame(SEED))
        con.execute(sql.insert_from(FAILURES, "_seed", "duckdb"))
        con.execute(sql.delete_range(FAILURES, "duckdb"), [D1, D2])
    with wh._connect() as con:
        run_transpiled(con, sql.delete_range(FAILURES, "bigquery", PROJECT), {"start": D1, "end": D2})

    assert failures_left(twin) == failures_left(wh) == [("psza", D3, "c")]


def test_insert_from_twin_and_transpiled(wh):
    frame = failure_frame([("pcf", D1, "p1"), ("pcf", D2, "p2")])
    with wh._connect() as con:
        con.register("_new", frame)
        con.execute(sql.insert_from(FAILURES, "_new", "duckdb"))
        con.execute("CREATE TABLE nba_processing._stage AS SELECT * FROM _new")
        run_transpiled(con, sql.insert_from(FAILURES, f"`{PROJECT}.nba_processing._stage`", "bigquery", PROJECT), {})
    left = [f for f in failures_left(wh) if f[0] == "pcf"]
    assert left == [("pcf", D1, "p1"), ("pcf", D1, "p1"), ("pcf", D2, "p2"), ("pcf", D2, "p2")]
    stored = wh.read(FAILURES)
    pcf = stored[stored["processor_name"] == "pcf"]
    assert set(pcf["run_id"]) == {"run-1"} and (pd.to_datetime(pcf["created_at"], utc=True) == CREATED).all()


@pytest.mark.parametrize("bounded", [True, False])
def test_select_range_twin_and_transpiled(wh, bounded):
    columns = ["processor_name", "entity_id"]
    with wh._connect() as con:
        twin = con.execute(sql.select_range(FAILURES, "duckdb", columns, bounded=bounded),
                           [D2, D3] if bounded else []).fetchall()
        transpiled = run_transpiled(con, sql.select_range(FAILURES, "bigquery", columns, PROJECT, bounded=bounded),
                                    {"start": D2, "end": D3})
    expected = [("psza", "b"), ("psza", "c"), ("tdza", "y")] if bounded else [
        ("psza", "a"), ("psza", "b"), ("psza", "c"), ("tdza", "x"), ("tdza", "y")]
    assert sorted(twin) == sorted(transpiled) == expected


@pytest.mark.parametrize("asset", list(ASSET_TABLES))
def test_the_transaction_script_transpiled_does_what_the_duckdb_write_does(tmp_path, asset):
    """The whole BigQuery partition swap, run by DuckDB from sqlglot's transpilation, leaves the
    same tables as DuckDBWarehouse.write_partitions given the same frames."""
    table = ASSET_TABLES[asset]
    entity = ENTITY_COLUMN[asset]
    old_rows = row_frame(asset, [(D1, "old1"), (D2, "old2"), (D3, "keep")])
    new_rows = row_frame(asset, [(D1, "new1"), (D2, "new2")]).drop(columns=["created_at"])
    old_failures = failure_frame([(asset, D1, "gone"), (asset, D3, "kept"), ("other" if asset != "psza" else "tdza", D1, "o")])
    new_failures = failure_frame([(asset, D2, "f2")]).drop(columns=["created_at", "run_id"])

    def seeded(name):
        wh = DuckDBWarehouse(database=str(tmp_path / name / f"{PROJECT}.duckdb"))
        wh.ensure_tables()
        with wh._connect() as con:
            con.register("_r", old_rows)
            con.execute(sql.insert_from(table, "_r", "duckdb"))
            con.register("_f", old_failures)
            con.execute(sql.insert_from(FAILURES, "_f", "duckdb"))
        return wh

    native = seeded("native")
    native.write_partitions(asset, [D1, D2], new_rows, new_failures, run_id="run-2")

    transpiled = seeded("transpiled")
    stage_rows, stage_failures = f"{PROJECT}.nba_processing._stage_{asset}_1", f"{PROJECT}.nba_processing._stage_{asset}_f_1"
    with transpiled._connect() as con:
        con.register("_sr", stamp(new_rows, table, CREATED))
        con.execute(f"CREATE TABLE nba_processing._stage_{asset}_1 AS SELECT * FROM _sr")
        con.register("_sf", stamp(new_failures, FAILURES, CREATED, run_id="run-2"))
        con.execute(f"CREATE TABLE nba_processing._stage_{asset}_f_1 AS SELECT * FROM _sf")
        run_transpiled(con, transaction_script(asset, stage_rows, stage_failures, PROJECT),
                       {"dates": [D1, D2], "processor": asset})

    for wh in (native, transpiled):
        got = wh.read(table, columns=["analysis_date", entity])
        assert sorted((pd.Timestamp(d).date(), e) for d, e in got.itertuples(index=False)) == [
            (D1, "new1"), (D2, "new2"), (D3, "keep")]
        assert failures_left(wh) == sorted([(asset, D2, "f2"), (asset, D3, "kept"), (old_failures.iloc[2, 0], D1, "o")])
        runs = wh.read(FAILURES)
        assert set(runs.loc[runs["entity_id"] == "f2", "run_id"]) == {"run-2"}


def test_transpiled_statements_name_the_project_catalog(wh):
    """The DuckDB file is named like the project, so `project`.dataset.table resolves."""
    with wh._connect() as con:
        assert con.execute("SELECT current_database()").fetchone() == (PROJECT,)
        rows = run_transpiled(con, f"SELECT count(*) FROM `{PROJECT}.nba_processing.precompute_failures`", {})
    assert rows == [(len(SEED),)]


@pytest.mark.parametrize("table", PHASE3_TABLES, ids=lambda t: t.name)
def test_phase3_reads_transpile_and_run(wh, table):
    with wh._connect() as con:
        con.execute(sql.create_schema(table.dataset, "duckdb"))
        con.execute(sql.create_table(table, "duckdb"))
        twin = con.execute(sql.select_range(table, "duckdb"), [D1, D3]).fetchall()
        transpiled = run_transpiled(con, sql.select_range(table, "bigquery", None, PROJECT), {"start": D1, "end": D3})
    assert twin == transpiled == []


def test_an_unknown_dialect_is_rejected():
    with pytest.raises(KeyError):
        sql.column_type("DATE", "snowflake")
    assert duckdb.__version__  # the twins ran on this DuckDB
