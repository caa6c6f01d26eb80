"""The code location: the thin loader of the `defs/` folder (Dagster's project layout).

`dg check defs`, `dg dev`, `dagster dev -w workspace.yaml` and the deployment's gRPC server all
load this module; each module of nba_precompute/defs/ contributes one `@dg.definitions`.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from nba_precompute import config as configuration
from nba_precompute.config import Config



def build_definitions(config: Config | None = None) -> dg.Definitions:
    """Load every definition of nba_precompute/defs/ with one configuration: `config`, else the
    environment's, read once here (a bad NBA_PRECOMPUTE_TARGET fails here with its own message,
    not inside the loader's). Each defs/ module takes it from `configuration.current()`."""
    config = config or configuration.current()
    with configuration.using(config):
        return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)


defs = build_definitions()
