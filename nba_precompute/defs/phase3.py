"""The six Phase 3 tables as external assets (lineage in the UI starts here)."""

import dagster as dg

from nba_precompute.phase3.specs import phase3_specs
from nba_precompute.resources import storage_kind


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=phase3_specs(storage_kind()))
