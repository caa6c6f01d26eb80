"""Fixtures of the reliability tests: two different synthetic seasons (the same calendar window,
different seeds, so every Phase 4 partition differs between them) and warehouses that hold the
Phase 4 partitions of a range computed from the first ("old") and from the second ("new")."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from nba_precompute_demo.season import generate_season, write_frames
from nba_precompute.phase3.loader import load_phase3
from nba_precompute.warehouse.duckdb import DuckDBWarehouse

from .helpers import cli_backfill, copy_warehouse, snapshot

# Three bootstrap dates (2021-10-30..11-01), then computed dates: every outcome kind of a range.
RANGE = ("2021-10-30", "2021-11-09")


@pytest.fixture(scope="session")
def season_a() -> dict[str, pd.DataFrame]:
    return generate_season(2021, seed=0)


@pytest.fixture(scope="session")
def season_b() -> dict[str, pd.DataFrame]:
    return generate_season(2021, seed=1)


@pytest.fixture(scope="session")
def folders(tmp_path_factory, season_a, season_b) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("phase3")
    write_frames(season_a, root / "a")
    write_frames(season_b, root / "b")
    return {"a": root / "a", "b": root / "b"}


@pytest.fixture(scope="session")
def old_db(tmp_path_factory, folders) -> Path:
    """Season A loaded and the five assets backfilled over RANGE (through Dagster)."""
    root = tmp_path_factory.mktemp("old")
    db = root / "old.duckdb"
    load_phase3(folders["a"], DuckDBWarehouse(database=str(db)))
    assert cli_backfill(db, root / "home", *RANGE) == 0
    return db


@pytest.fixture(scope="session")
def new_db(tmp_path_factory, old_db, folders) -> Path:
    """The old warehouse after loading season B and backfilling RANGE again: the reference of
    the complete new contents."""
    root = tmp_path_factory.mktemp("new")
    db = copy_warehouse(old_db, root / "new.duckdb")
    load_phase3(folders["b"], DuckDBWarehouse(database=str(db)))
    assert cli_backfill(db, root / "home", *RANGE) == 0
    return db


@pytest.fixture(scope="session")
def old_snapshot(old_db):
    return snapshot(old_db)


@pytest.fixture(scope="session")
def new_snapshot(new_db):
    return snapshot(new_db)
