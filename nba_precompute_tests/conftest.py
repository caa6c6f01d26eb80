"""Shared fixtures: the real seasons of ../shared/data (skipped with a reason when absent)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import pandas as pd
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_data_path() -> Path:
    return Path(os.environ.get("NBA_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def require(condition: bool, reason: str) -> None:
    """Skip with `reason`, or fail when NBA_PRECOMPUTE_REQUIRE_ALL is set (as CI does): what a
    test needs from the machine (data, a browser, a PostgreSQL server) is never silently absent."""
    if condition:
        return
    if os.environ.get("NBA_PRECOMPUTE_REQUIRE_ALL"):
        pytest.fail(reason + "; NBA_PRECOMPUTE_REQUIRE_ALL is set")
    pytest.skip(reason)


def require_shared_data() -> Path:
    path = shared_data_path()
    require((path / "nba-2022-23").is_dir(), f"real Phase 3 data not found at {path} (set NBA_SHARED_DATA)")
    return path


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    return require_shared_data()


@lru_cache(maxsize=4)
def _read_season(folder: str) -> dict[str, pd.DataFrame]:
    return {p.name.removesuffix(".parquet"): pd.read_parquet(p) for p in sorted(Path(folder).glob("*.parquet"))}


def load_real_season(name: str) -> dict[str, pd.DataFrame]:
    """The six Phase 3 tables of a real season folder (e.g. "nba-2022-23"), keyed by fqn.

    Returns copies, so a test may mutate them freely."""
    folder = require_shared_data() / name
    return {k: v.copy() for k, v in _read_season(str(folder)).items()}
