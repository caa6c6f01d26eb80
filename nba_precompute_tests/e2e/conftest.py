"""A real Dagster deployment on 127.0.0.1 for the end-to-end tests: dagster-webserver and
dagster-daemon (stack.py) over a temporary DAGSTER_HOME (the project's dagster_local.yaml) and a
temporary DuckDB warehouse loaded with the November 2021 gap scenario of the demo season.

`dagster_stack` (module scope) starts both processes in their own process groups and always
terminates the groups (code servers and run workers included) at teardown. Every wait is bounded;
a failed wait (a StackError, inside `failing()`) fails the test with the tail of both logs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from nba_precompute_tests.conftest import require
from nba_precompute_tests.e2e.stack import BIN, EXECUTABLES, StackError, running

HEAL_INTERVAL_SECONDS = 5  # the heal sensor's minimum interval in these processes


@contextmanager
def failing() -> Iterator[None]:
    """A StackError inside (a timed-out wait, a process that exited) fails the test with its message."""
    try:
        yield
    except StackError as exc:
        raise pytest.fail.Exception(str(exc)) from None  # pytest.fail(), without the StackError again


def load_gap_season(root: Path, warehouse: Path) -> Path:
    from nba_precompute_demo.season import write_season
    from nba_precompute.phase3.loader import load_phase3
    from nba_precompute.warehouse.duckdb import DuckDBWarehouse

    folder = root / "phase3"
    write_season(folder, season_year=2021, scenario="nov-2021-gaps")
    load_phase3(folder, DuckDBWarehouse(database=str(warehouse)))
    return folder


@pytest.fixture(scope="module")
def dagster_stack(tmp_path_factory):
    for exe in EXECUTABLES:
        require((BIN / exe).exists(), f"{exe} not installed in {BIN}")
    root = tmp_path_factory.mktemp("dagster_e2e")
    home, logs_dir = root / "dagster_home", root / "logs"
    home.mkdir()
    logs_dir.mkdir()
    warehouse = root / "warehouse" / "warehouse.duckdb"
    phase3 = load_gap_season(root, warehouse)
    extra_env = {"NBA_PRECOMPUTE_HEAL_INTERVAL_SECONDS": str(HEAL_INTERVAL_SECONDS)}
    # The instance in this process reads the same dagster.yaml (its base_dir is env DAGSTER_HOME,
    # which `running` sets meanwhile).
    with failing(), running(home, warehouse, logs_dir, extra_env, phase3=phase3) as stack:
        yield stack


@pytest.fixture(scope="module")
def chromium(request):
    """A headless Chromium for the stack's UI (skipped, or failed under NBA_PRECOMPUTE_REQUIRE_ALL,
    without Debian's chromium / chromium-driver or selenium). Checked before the stack starts."""
    from nba_precompute_tests.e2e.browser import Chromium, missing_browser_reason

    reason = missing_browser_reason()
    require(reason is None, str(reason))
    stack = request.getfixturevalue("dagster_stack")
    stack.graphql("mutation { setNuxSeen }")  # no "Join the Dagster community" dialog
    browser = Chromium()
    try:
        yield browser.driver
    finally:
        browser.quit()
