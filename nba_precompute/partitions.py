"""The one daily partitions definition shared by the five assets (and date-keyed Phase 3 specs).

Its bounds are configuration, read once when the definitions load (every code server and run
worker of a deployment must see the same values, so they come from the environment, never from
data that may change under a running backfill):

* NBA_PRECOMPUTE_START_DATE: the first partition; by default the opener of the first supported
  season (2021-22);
* NBA_PRECOMPUTE_END_DATE: the last partition (inclusive); by default none, the partitions end
  tomorrow (`end_offset=1`, so a daily run for D exists on D). `make demo` and `make dev` set
  both to the demo season (2021-10-19..2022-04-10), so the UI's partition bar and Materialize
  dialog show that season, not five years of which 1% is filled; production leaves the end unset
  and covers every season.

Dates outside any season window are valid partitions: they materialize as OFF_SEASON (0 rows, no
failure).
"""

from __future__ import annotations

import datetime as dt
import os

import dagster as dg

FIRST_SUPPORTED_OPENER = "2021-10-19"


def start_date() -> str:
    return os.environ.get("NBA_PRECOMPUTE_START_DATE", FIRST_SUPPORTED_OPENER)


def end_date() -> str | None:
    """The last partition (inclusive), or None for "tomorrow"."""
    return os.environ.get("NBA_PRECOMPUTE_END_DATE") or None


def build_daily_partitions() -> dg.DailyPartitionsDefinition:
    last = end_date()
    if last is None:
        return dg.DailyPartitionsDefinition(start_date=start_date(), end_offset=1)
    # Dagster's end_date is exclusive
    return dg.DailyPartitionsDefinition(start_date=start_date(),
                                        end_date=(dt.date.fromisoformat(last) + dt.timedelta(days=1)).isoformat())


daily_partitions = build_daily_partitions()
