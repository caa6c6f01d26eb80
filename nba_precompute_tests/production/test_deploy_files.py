"""The deployment files agree with each other and with the code: deploy/dagster.yaml validates as
a Dagster instance config and keeps secrets in the environment; the Helm values carry the same
limits and the code location's module; the Dockerfile serves that module; DEPLOY.md names the
commands that exist."""

from __future__ import annotations

import re
import shutil

import yaml
from dagster._core.instance.config import dagster_instance_config

from nba_precompute.cli import build_parser
from nba_precompute_tests.conftest import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"
PG_VARS = {"DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_USER", "DAGSTER_PG_PASSWORD", "DAGSTER_PG_DB"}


def test_the_instance_yaml_validates_and_reads_every_connection_value_from_the_environment(tmp_path, monkeypatch):
    for var in PG_VARS:
        monkeypatch.setenv(var, "5432" if var.endswith("PORT") else "x")
    shutil.copyfile(DEPLOY / "dagster.yaml", tmp_path / "dagster.yaml")

    config, _ = dagster_instance_config(str(tmp_path))

    instance = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())
    db = instance["run_storage"]["config"]["postgres_db"]
    for storage in ("event_log_storage", "schedule_storage"):
        assert instance[storage]["config"]["postgres_db"] == db
    assert instance["event_log_storage"]["class"] == "PooledPostgresEventLogStorage"
    assert config["instance_class"]["class"] == "BatchingDagsterInstance"
    assert {v["env"] for k, v in db.items() if isinstance(v, dict)} == PG_VARS
    assert db["scheme"] == "postgresql+psycopg2"
    assert config["concurrency"]["pools"] == {"granularity": "op", "default_limit": 1, "op_granularity_run_buffer": 2}


def test_the_helm_values_match_the_instance_yaml_and_the_code_location():
    values = yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())
    instance = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())

    pools, runs = values["concurrency"]["pools"], values["concurrency"]["runs"]
    assert values["concurrency"]["enabled"] is True
    assert (pools["granularity"], pools["defaultLimit"], pools["opGranularityRunBuffer"]) == (
        instance["concurrency"]["pools"]["granularity"], instance["concurrency"]["pools"]["default_limit"],
        instance["concurrency"]["pools"]["op_granularity_run_buffer"])
    assert runs["maxConcurrentRuns"] == instance["concurrency"]["runs"]["max_concurrent_runs"]
    assert runs["tagConcurrencyLimits"] == instance["concurrency"]["runs"]["tag_concurrency_limits"]
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert values["dagsterDaemon"]["runCoordinator"]["type"] == "QueuedRunCoordinator"
    assert values["postgresql"]["enabled"] is False and values["postgresql"]["postgresqlScheme"] == "postgresql+psycopg2"
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    assert deployment["dagsterApiGrpcArgs"] == ["--module-name", "nba_precompute.definitions"]
    env = {e["name"]: e["value"] for e in deployment["env"]}
    assert env["NBA_PRECOMPUTE_TARGET"] == "bigquery"
    workspace = yaml.safe_load((REPO_ROOT / "workspace.yaml").read_text())
    assert workspace["load_from"][0]["python_module"]["module_name"] == "nba_precompute.definitions"


def test_no_secret_is_written_into_the_deploy_files():
    for path in [*DEPLOY.rglob("*"), REPO_ROOT / "docs" / "DEPLOY.md"]:
        if path.is_file():
            text = path.read_text()
            assert "BEGIN PRIVATE KEY" not in text and '"private_key"' not in text, path
            assert not re.search(r"password:\s*[\"']?[A-Za-z0-9]{6,}", text), path


def test_the_dockerfile_serves_the_code_location_with_the_project_pins():
    text = (DEPLOY / "Dockerfile").read_text()
    assert "-c constraints.txt" in text
    assert '"--module-name", "nba_precompute.definitions"' in text
    assert "dagster-k8s==0.29.27" in text  # the same release line as dagster-postgres / dagster-gcp


def test_deploy_md_commands_exist():
    text = (REPO_ROOT / "docs" / "DEPLOY.md").read_text()
    commands = set(re.findall(r"nba-precompute ([a-z][a-z0-9-]+)", text))
    choices = build_parser()._subparsers._group_actions[0].choices
    assert commands and commands <= set(choices), commands - set(choices)
    assert "bigquery-ddl" in commands and "backfill" in commands
