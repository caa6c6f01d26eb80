"""Freshness deadlines: which (asset, D) of a game date was not materialized by its deadline.

Pure: the caller gives the game dates (from the schedule), the config, the materialization times
per (asset, date) and `now`; `evaluate` returns one row per (asset, game date) whose deadline has
passed or whose partition is materialized. Times are timezone-aware: the deadline is a local wall
time of the configured IANA zone on D (16:00 US/Eastern is 21:00 UTC in winter, 20:00 in
October), so daylight-saving changes move it with the clock, as people read it.
"""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path
from typing import Iterable, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from nba_precompute.checks.config import Severity
from nba_precompute.registry import ASSET_NAMES as ASSETS

DEFAULTS_RESOURCE = "freshness_defaults.yaml"

# status of an (asset, D) with a deadline
ON_TIME = "ON_TIME"  # materialized before the deadline
LATE = "LATE"  # materialized, after the deadline
MISSED = "MISSED"  # deadline passed, not materialized (yet)
PENDING = "PENDING"  # deadline not reached, not materialized
RESULT_COLUMNS = ["asset", "date", "deadline", "materialized_at", "status", "late", "minutes_late", "reason"]


class FreshnessConfigError(ValueError):
    """A bad freshness configuration; the message names the file and the key."""


class FreshnessConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str
    severity: Severity = Severity.WARN
    deadlines: Mapping[str, dt.time]

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {v!r}") from None
        return v

    @field_validator("deadlines")
    @classmethod
    def _assets(cls, v: Mapping[str, dt.time]) -> Mapping[str, dt.time]:
        unknown = sorted(set(v) - set(ASSETS))
        if unknown:
            raise ValueError(f"unknown assets {unknown} (known: {', '.join(ASSETS)})")
        return v

    def deadline(self, asset: str, date) -> dt.datetime | None:
        """The aware deadline of (asset, D), or None when the asset has no deadline."""
        t = self.deadlines.get(asset)
        if t is None:
            return None
        d = pd.Timestamp(date).date()
        return dt.datetime.combine(d, t, tzinfo=ZoneInfo(self.timezone))


def load_freshness_config(path: str | Path | None = None) -> FreshnessConfig:
    if path is None:
        name, text = DEFAULTS_RESOURCE, resources.files(__package__).joinpath(DEFAULTS_RESOURCE).read_text()
    else:
        name, text = str(path), Path(path).read_text()
    try:
        section = dict((yaml.safe_load(text) or {})["freshness"])
    except (yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
        raise FreshnessConfigError(f"{name}: no readable `freshness` mapping ({exc})") from None
    try:
        return FreshnessConfig(**section)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise FreshnessConfigError(f"{name}: freshness.{key}: {first['msg']}") from None


def _aware(t) -> dt.datetime:
    ts = pd.Timestamp(t)
    if ts.tzinfo is None:
        raise ValueError(f"naive timestamp {t!r}: freshness needs timezone-aware times")
    return ts.to_pydatetime()


def evaluate(game_dates: Iterable, materialized: Mapping[tuple[str, str], object], now,
             config: FreshnessConfig) -> pd.DataFrame:
    """One row per (asset with a deadline, game date) that is materialized or past its deadline.

    `materialized`: (asset, 'YYYY-MM-DD') -> aware time of the partition's first materialization
    with an expected outcome (the wiring reads it from the Dagster instance). A partition
    materialized after its deadline is LATE (it has healed: nothing left to do but it was late);
    one still absent past its deadline is MISSED. Dates whose deadline is still ahead and not
    materialized are PENDING. Dates without games never appear.
    """
    now = _aware(now)
    rows = []
    for d in sorted({pd.Timestamp(x).normalize() for x in game_dates}):
        key_date = d.strftime("%Y-%m-%d")
        for asset in config.deadlines:
            deadline = config.deadline(asset, d)
            at = materialized.get((asset, key_date))
            at = _aware(at) if at is not None else None
            if at is not None:
                status = ON_TIME if at <= deadline else LATE
            else:
                status = MISSED if now > deadline else PENDING
            late_by = ((at or now) - deadline).total_seconds() / 60 if status in (LATE, MISSED) else 0.0
            local = deadline.strftime("%H:%M %Z")
            reason = {
                ON_TIME: f"{asset} {key_date} materialized before its deadline {local}",
                LATE: f"{asset} {key_date} materialized {late_by:.0f} min after its deadline {local}",
                MISSED: f"{asset} {key_date} not materialized {late_by:.0f} min after its deadline {local}",
                PENDING: f"{asset} {key_date} not materialized yet; deadline {local}",
            }[status]
            rows.append(dict(asset=asset, date=key_date, deadline=deadline, materialized_at=at, status=status,
                             late=status in (LATE, MISSED), minutes_late=round(late_by, 1), reason=reason))
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def misses(results: pd.DataFrame) -> pd.DataFrame:
    """(asset, date) past their deadline without a materialization: what alerts fire on."""
    return results[results["status"] == MISSED].reset_index(drop=True)
