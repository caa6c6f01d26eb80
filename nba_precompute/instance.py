"""The Dagster instance the command line runs against: $DAGSTER_HOME, or a project-local one.

`dagster dev` started with the same DAGSTER_HOME (see `make dev`) shows every run the CLI
launched. A DAGSTER_HOME without a dagster.yaml gets the project's local instance settings
(`dagster_local.yaml`: consolidated SQLite event log, one warehouse writer at a time).
"""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg

from nba_precompute import config as configuration
from nba_precompute.config import Config
from nba_precompute.resources import WAREHOUSE_POOL

DEFAULT_HOME = Path(".nba_precompute") / "dagster_home"
LOCAL_INSTANCE_YAML = Path(__file__).with_name("dagster_local.yaml")
_BASE_DIR_FROM_ENV = "base_dir:\n      env: DAGSTER_HOME"



def dagster_home(config: Config | None = None) -> Path:
    home = (config or configuration.current()).dagster_home
    path = Path(home) if home else DEFAULT_HOME.resolve()
    path.mkdir(parents=True, exist_ok=True)
    yaml_path = path / "dagster.yaml"
    # A home this project wrote before the CLI stopped setting DAGSTER_HOME: resolve it too.
    written_before = yaml_path.exists() and _BASE_DIR_FROM_ENV in yaml_path.read_text(encoding="utf-8") \
        and yaml_path.read_text(encoding="utf-8").startswith(LOCAL_INSTANCE_YAML.read_text(encoding="utf-8")[:60])
    if not yaml_path.exists() or written_before:
        # The home's own path, written in: the CLI opens the instance by path and never sets
        # DAGSTER_HOME, so the shipped `base_dir: {env: DAGSTER_HOME}` is resolved here.
        text = LOCAL_INSTANCE_YAML.read_text(encoding="utf-8")
        (path / "dagster.yaml").write_text(text.replace(_BASE_DIR_FROM_ENV, f"base_dir: {json.dumps(str(path))}"),
                                           encoding="utf-8")
        # Create the SQLite databases now, in one process: `dagster dev` starts the webserver, the
        # daemon and code servers together, and two of them creating schedules.db at once can
        # stamp two alembic heads, after which nothing loads (dagster-io/dagster#27390).
        with dg.DagsterInstance.from_config(str(path)):
            pass
    return path


def get_instance(config: Config | None = None) -> dg.DagsterInstance:
    """The instance of the configured home, opened by its path (DAGSTER_HOME is never set)."""
    home = dagster_home(config)
    return dg.DagsterInstance.from_config(str(home))


def initialize_pools(instance: dg.DagsterInstance) -> None:
    """Create the row of the "warehouse" pool with its default limit before runs claim slots in it.

    Dagster creates it lazily, on the first slot claim, with a plain INSERT; two runs starting
    together on a fresh PostgreSQL instance both try, and the loser fails (UniqueViolation, then
    an aborted transaction). Creating it here, once, and accepting a concurrent creator keeps
    that race out of the runs. Pools that already exist are left alone: a limit set with
    `dagster instance concurrency set` must not be reset to the default.
    """
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits or instance.global_op_concurrency_default_limit is None:
        return
    if WAREHOUSE_POOL in storage.get_concurrency_keys():
        return
    try:
        storage.initialize_concurrency_limit_to_default(WAREHOUSE_POOL)
    except Exception:
        # another process created it between our read and our insert: that is the goal
        if WAREHOUSE_POOL not in storage.get_concurrency_keys():
            raise
