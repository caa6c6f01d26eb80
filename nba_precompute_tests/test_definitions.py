"""The code location: build_definitions() under both targets, the six external Phase 3 assets,
lineage into the five Phase 4 assets, and their shared partitions and backfill policy.

Nothing here talks to BigQuery: the BigQuery target is only configured, never called."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

from nba_precompute.definitions import build_definitions
from nba_precompute.phase3.contract import PHASE3_TABLES
from nba_precompute.registry import ASSET_NAMES as ASSETS
from nba_precompute.warehouse.bigquery import BigQueryWarehouse
from nba_precompute.warehouse.duckdb import DuckDBWarehouse

PHASE3_KEYS = {t.fqn: dg.AssetKey([t.dataset, t.name]) for t in PHASE3_TABLES}
SCHEDULE = PHASE3_KEYS["nba_reference.schedule"]
PGS = PHASE3_KEYS["nba_analytics.player_game_summary"]
TOGS = PHASE3_KEYS["nba_analytics.team_offense_game_summary"]
TDGS = PHASE3_KEYS["nba_analytics.team_defense_game_summary"]
UPCG = PHASE3_KEYS["nba_analytics.upcoming_player_game_context"]
UTGC = PHASE3_KEYS["nba_analytics.upcoming_team_game_context"]
PHASE4_KEYS = [dg.AssetKey(a) for a in ASSETS]


@pytest.fixture
def duckdb_env(monkeypatch, tmp_path):
    monkeypatch.delenv("NBA_PRECOMPUTE_TARGET", raising=False)
    path = str(tmp_path / "wh" / "warehouse.duckdb")
    monkeypatch.setenv("NBA_PRECOMPUTE_WAREHOUSE", path)
    return path


@pytest.fixture
def bigquery_env(monkeypatch):
    monkeypatch.setenv("NBA_PRECOMPUTE_TARGET", "bigquery")
    monkeypatch.setenv("NBA_PRECOMPUTE_GCP_PROJECT", "nba-props-test")
    monkeypatch.delenv("NBA_PRECOMPUTE_GCP_LOCATION", raising=False)


@pytest.fixture
def defs(duckdb_env) -> dg.Definitions:
    return build_definitions()


@pytest.fixture
def graph(defs):
    return defs.resolve_asset_graph()


def test_the_module_level_definitions_load(duckdb_env):
    import nba_precompute.definitions as module

    assert isinstance(module.defs, dg.Definitions)
    keys = set(module.defs.resolve_asset_graph().get_all_asset_keys())
    assert keys == {*PHASE3_KEYS.values(), *PHASE4_KEYS, dg.AssetKey("coverage_report")}


def test_build_definitions_loads_every_asset_and_the_warehouse_resource(defs, graph):
    assert set(graph.get_all_asset_keys()) == {*PHASE3_KEYS.values(), *PHASE4_KEYS, dg.AssetKey("coverage_report")}
    assert set(defs.resources) == {"warehouse"}
    defs.get_repository_def().load_all_definitions()  # validates resources, jobs and the asset graph


def test_default_target_uses_the_duckdb_warehouse_at_nba_precompute_warehouse(defs, duckdb_env):
    warehouse = defs.resources["warehouse"]

    assert type(warehouse) is DuckDBWarehouse
    assert warehouse.database == duckdb_env
    assert warehouse.dialect == "duckdb"


def test_duckdb_target_tags_every_asset_with_the_duckdb_kind(graph):
    for key in graph.get_all_asset_keys():
        assert "duckdb" in graph.get(key).kinds, key
        assert "bigquery" not in graph.get(key).kinds, key


def test_explicit_duckdb_target_is_the_default(monkeypatch, duckdb_env):
    monkeypatch.setenv("NBA_PRECOMPUTE_TARGET", "DuckDB")

    assert type(build_definitions().resources["warehouse"]) is DuckDBWarehouse


def test_bigquery_target_uses_the_bigquery_warehouse_of_the_configured_project(bigquery_env):
    defs = build_definitions()
    warehouse = defs.resources["warehouse"]

    assert type(warehouse) is BigQueryWarehouse
    # The project is passed as an EnvVar so it never appears in run config; it resolves to the env value.
    assert isinstance(warehouse.project, dg.EnvVar)
    assert warehouse.project.get_value() == "nba-props-test"
    assert warehouse.location == "US"
    with dg.build_resources({"warehouse": warehouse}) as resources:
        assert resources.warehouse.project == "nba-props-test"
        assert resources.warehouse.dialect == "bigquery"


def test_bigquery_target_tags_every_asset_with_the_bigquery_kind(bigquery_env):
    graph = build_definitions().resolve_asset_graph()

    for key in graph.get_all_asset_keys():
        assert "bigquery" in graph.get(key).kinds, key
        assert "duckdb" not in graph.get(key).kinds, key
    for key in PHASE4_KEYS:
        assert graph.get(key).kinds == {"bigquery", "pandas"}


def test_bigquery_target_reads_the_location_from_the_environment(bigquery_env, monkeypatch):
    monkeypatch.setenv("NBA_PRECOMPUTE_GCP_LOCATION", "europe-west1")

    assert build_definitions().resources["warehouse"].location == "europe-west1"


def test_an_invalid_target_raises_value_error_naming_the_variable(monkeypatch):
    monkeypatch.setenv("NBA_PRECOMPUTE_TARGET", "snowflake")

    with pytest.raises(ValueError) as err:
        build_definitions()

    assert str(err.value) == "NBA_PRECOMPUTE_TARGET must be duckdb or bigquery, not 'snowflake'"


# --- the six external Phase 3 assets ------------------------------------------------------------

@pytest.mark.parametrize("table", PHASE3_TABLES, ids=lambda t: t.fqn)
def test_phase3_asset_is_external_keyed_by_dataset_and_table_with_its_column_schema(graph, defs, table):
    key = dg.AssetKey([table.dataset, table.name])
    node = graph.get(key)

    assert node.is_executable is False
    assert node.is_materializable is False
    assert defs.resolve_assets_def(key).is_executable is False
    schema = node.metadata["dagster/column_schema"]
    assert isinstance(schema, dg.TableSchema)
    assert [(c.name, c.type) for c in schema.columns] == list(table.columns)
    assert node.metadata["dagster/table_name"] == table.fqn
    assert node.group_name == "phase3"


def test_phase3_date_keyed_tables_share_the_daily_partitions_and_the_schedule_is_unpartitioned(graph):
    phase4_partitions = graph.get(PHASE4_KEYS[0]).partitions_def
    assert graph.get(SCHEDULE).partitions_def is None
    for key in (PGS, TOGS, TDGS, UPCG, UTGC):
        assert graph.get(key).partitions_def == phase4_partitions, key


def test_only_the_five_phase4_assets_and_the_coverage_report_are_materializable(graph):
    materializable = {k for k in graph.get_all_asset_keys() if graph.get(k).is_materializable}
    assert materializable == {*PHASE4_KEYS, dg.AssetKey("coverage_report")}


# --- lineage ------------------------------------------------------------------------------------

EXPECTED_UPSTREAM = {
    "psza": {SCHEDULE, PGS},
    "tdza": {SCHEDULE, TDGS},
    "pdc": {SCHEDULE, PGS, TOGS, UPCG, dg.AssetKey("psza")},
    "pcf": {SCHEDULE, UPCG, UTGC, dg.AssetKey("psza"), dg.AssetKey("tdza")},
    "mlfs": {SCHEDULE, PGS, dg.AssetKey("pdc"), dg.AssetKey("pcf"), dg.AssetKey("psza"), dg.AssetKey("tdza")},
}


@pytest.mark.parametrize("asset", ASSETS)
def test_phase4_asset_depends_on_its_phase3_tables_and_upstream_assets(graph, asset):
    parents = set(graph.get(dg.AssetKey(asset)).parent_keys)

    assert EXPECTED_UPSTREAM[asset] <= parents, sorted(k.to_user_string() for k in parents)


def test_every_phase3_table_feeds_at_least_one_phase4_asset(graph):
    for key in PHASE3_KEYS.values():
        children = set(graph.get(key).child_keys)
        assert children and children <= set(PHASE4_KEYS), key


def test_mlfs_lineage_reaches_back_through_the_other_phase4_assets_to_phase3(graph):
    mlfs_ancestors = graph.get_ancestor_asset_keys(dg.AssetKey("mlfs"))

    expected = {dg.AssetKey(a) for a in ("psza", "tdza", "pdc", "pcf")} | {PGS, SCHEDULE}
    assert expected <= mlfs_ancestors


# --- partitions and backfill policy of the Phase 4 assets ---------------------------------------

def test_phase4_assets_share_one_daily_partitions_definition_from_the_2021_opener(graph):
    partitions = {graph.get(key).partitions_def for key in PHASE4_KEYS}

    assert len(partitions) == 1
    (daily,) = partitions
    assert isinstance(daily, dg.DailyPartitionsDefinition)
    assert daily.start.date() == dt.date(2021, 10, 19)
    assert daily.get_first_partition_key() == "2021-10-19"


@pytest.mark.parametrize("asset", ASSETS)
def test_phase4_asset_has_a_single_run_backfill_policy(graph, defs, asset):
    policy = graph.get(dg.AssetKey(asset)).backfill_policy

    assert policy == dg.BackfillPolicy.single_run()
    assert policy.policy_type.name == "SINGLE_RUN"
    assert policy.max_partitions_per_run is None  # the whole range in one run
    assert defs.resolve_assets_def(asset).is_executable is True


def test_the_daily_schedule_targets_todays_partition_of_the_five_assets(defs):
    schedule = defs.resolve_schedule_def("phase4_daily_schedule")
    assert schedule.cron_schedule == "0 10 * * *"
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    job = defs.resolve_job_def("phase4_daily")
    assert job.asset_layer.selected_asset_keys == set(PHASE4_KEYS)
    context = dg.build_schedule_context(scheduled_execution_time=dt.datetime(2022, 11, 15, 10, 0, tzinfo=dt.timezone.utc))
    (request,) = list(schedule.evaluate_tick(context).run_requests)
    assert request.partition_key == "2022-11-15"
