"""The one daily partitions definition shared by the five assets (and date-keyed Phase 3 specs).

The start date is configuration (NBA_PRECOMPUTE_START_DATE); by default the opener of the first
supported season (2021-22). Dates outside any season window are valid partitions: they
materialize as OFF_SEASON (0 rows, no failure).
"""

from __future__ import annotations

from functools import cache

import dagster as dg

from nba_precompute import config
from nba_precompute.config import FIRST_SUPPORTED_OPENER  # noqa: F401  (re-exported)


def start_date() -> str:
    return config.current().start_date


@cache
def partitions_for(start: str) -> dg.DailyPartitionsDefinition:
    return dg.DailyPartitionsDefinition(start_date=start, end_offset=1)


def __getattr__(name: str):
    # `daily_partitions` is built on first use from the configuration of that moment (the
    # definitions load), not at import: importing the package reads no environment.
    if name == "daily_partitions":
        return partitions_for(start_date())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
