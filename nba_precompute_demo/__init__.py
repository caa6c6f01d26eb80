"""The deterministic synthetic Phase 3 season of `nba-precompute generate-demo` and `demo`.

A separate top-level package of the same distribution: the code location (`nba_precompute`)
never imports it, so Dagster loads none of its ~1,000 lines; the CLI's demo commands and the
tests import it explicitly.
"""

from nba_precompute_demo.season import (
    NOV_2021_GAP_DATES,
    arrow_schema,
    contract_frame,
    generate_season,
    write_frames,
    write_season,
)

__all__ = [
    "NOV_2021_GAP_DATES", "arrow_schema", "contract_frame", "generate_season", "write_frames", "write_season",
]
