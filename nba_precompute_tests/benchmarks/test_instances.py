"""The benchmark's stock PostgreSQL variant is deploy/dagster.yaml with Dagster's own storage."""

import shutil

import pytest
from dagster._core.instance.config import dagster_instance_config

from benchmarks.backfill import stock_postgres_yaml
from nba_precompute_tests.production.test_deploy_files import PG_VARS


def test_the_stock_postgres_variant_validates_with_stock_storage_and_the_deploy_limits(tmp_path, monkeypatch):
    for var in PG_VARS:
        monkeypatch.setenv(var, "5432" if var.endswith("PORT") else "x")
    (tmp_path / "dagster.yaml").write_text(stock_postgres_yaml())

    config, custom_class = dagster_instance_config(str(tmp_path))

    assert custom_class is None and "event_log_storage" not in config
    assert set(config["storage"]["postgres"]["postgres_db"]) >= {"hostname", "port", "username", "password", "db_name"}
    assert config["concurrency"]["pools"]["granularity"] == "op"
