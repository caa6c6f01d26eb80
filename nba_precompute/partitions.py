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
from functools import cache

import dagster as dg

from nba_precompute import config
from nba_precompute.config import FIRST_SUPPORTED_OPENER  # noqa: F401  (re-exported)


def start_date() -> str:
    return config.current().start_date


def end_date() -> str | None:
    """The last partition (inclusive), or None for "tomorrow"."""
    return config.current().end_date


@cache
def partitions_for(start: str, last: str | None = None) -> dg.DailyPartitionsDefinition:
    if last is None:
        return dg.DailyPartitionsDefinition(start_date=start, end_offset=1)
    # Dagster's end_date is exclusive
    return dg.DailyPartitionsDefinition(start_date=start,
                                        end_date=(dt.date.fromisoformat(last) + dt.timedelta(days=1)).isoformat())


def build_daily_partitions() -> dg.DailyPartitionsDefinition:
    return partitions_for(start_date(), end_date())


def __getattr__(name: str):
    # `daily_partitions` is built on first use from the configuration of that moment (the
    # definitions load), not at import: importing the package reads no environment.
    if name == "daily_partitions":
        return build_daily_partitions()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
