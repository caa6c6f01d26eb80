"""The Dagster instance the command line runs against: $DAGSTER_HOME, or a project-local one.

`dagster dev` started with the same DAGSTER_HOME shows every run the CLI launched.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

DEFAULT_HOME = Path(".nba_precompute") / "dagster_home"


def dagster_home() -> Path:
    home = os.environ.get("DAGSTER_HOME")
    path = Path(home) if home else DEFAULT_HOME.resolve()
    path.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(path)
    return path


def get_instance() -> dg.DagsterInstance:
    dagster_home()
    return dg.DagsterInstance.get()
