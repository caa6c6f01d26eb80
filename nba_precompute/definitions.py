"""The code location: the thin loader of the `defs/` folder (Dagster's project layout).

`dg check defs`, `dg dev`, `dagster dev -w workspace.yaml` and the deployment's gRPC server all
load this module; each module of nba_precompute/defs/ contributes one `@dg.definitions`.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from nba_precompute.instance import apply_performance_env
from nba_precompute.resources import target

apply_performance_env()


def build_definitions() -> dg.Definitions:
    """Load every definition of nba_precompute/defs/, reading the settings of this call."""
    target()  # a bad NBA_PRECOMPUTE_TARGET fails here with its own message, not inside the loader's
    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)


defs = build_definitions()
