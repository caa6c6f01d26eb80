"""The one daily partitions definition shared by the five assets (and date-keyed Phase 3 specs).

The start date is configuration (NBA_PRECOMPUTE_START_DATE); by default the opener of the first
supported season (2021-22). Dates outside any season window are valid partitions: they
materialize as OFF_SEASON (0 rows, no failure).
"""

from __future__ import annotations

import os

import dagster as dg

FIRST_SUPPORTED_OPENER = "2021-10-19"


def start_date() -> str:
    return os.environ.get("NBA_PRECOMPUTE_START_DATE", FIRST_SUPPORTED_OPENER)


daily_partitions = dg.DailyPartitionsDefinition(start_date=start_date(), end_offset=1)
