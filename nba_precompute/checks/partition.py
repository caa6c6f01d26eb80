"""The partitions under test: an asset's rows and failure rows grouped by analysis_date.

`Partition.build` normalizes what a caller has (stored tables, or a RangeResult about to be
written) into one view that every check reads: the rows and failure rows of the checked dates,
the rows without a date, the candidates where they are complete, N(D), and per-date counts;
for the volume check also the season calendar and the stored counts of the dates before the
first checked one (its trailing history).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from nba_precompute.checks.config import ChecksConfig
from nba_precompute.failures import DATE_LEVEL
from nba_precompute.season import SeasonCalendar, to_datetime
from nba_precompute.registry import DECLARATIONS, ENTITY_COLUMN


def slate_based(asset: str) -> bool:
    """Whether the asset's candidates are the slate of D (rows only on game dates)."""
    return DECLARATIONS[asset].slate_based


def as_dates(values) -> pd.Series:
    """Dates as datetime64[ns] (time and timezone dropped; unparseable -> NaT)."""
    s = pd.Series(values)
    if pd.api.types.is_datetime64_dtype(s.dtype):  # already dates (the asset path): no re-parse
        return s.astype("datetime64[ns]")
    s = to_datetime(s, errors="coerce")
    if getattr(s.dt, "tz", None) is not None:
        s = s.dt.tz_localize(None)
    return s.dt.normalize().astype("datetime64[ns]")


def date_index(values) -> pd.DatetimeIndex:
    d = as_dates(list(values) if not isinstance(values, pd.Series) else values).dropna()
    return pd.DatetimeIndex(d).unique().sort_values()


@dataclass(frozen=True)
class Partition:
    """The checked partitions of one asset (one or many dates)."""

    asset: str
    entity: str
    dates: pd.DatetimeIndex
    rows: pd.DataFrame  # rows dated in `dates`
    null_date_rows: pd.DataFrame
    failures: pd.DataFrame  # the asset's failure rows dated in `dates`
    null_date_failures: pd.DataFrame
    candidates: pd.DataFrame | None  # analysis_date, entity (complete on candidate_dates)
    candidate_dates: pd.DatetimeIndex
    slate: pd.Series  # N per date (NaN unknown)
    per: pd.DataFrame  # per date: rows, entity_failures, date_level, date_level_categories
    config: ChecksConfig
    calendar: SeasonCalendar | None = None  # the volume check's exposure and groups (None: N/A)
    history: pd.DataFrame | None = None  # the asset's stored date, rows, entity_failures before `dates`
    # results computed once on the whole partition and shared with its restrictions (the volume
    # band of a date depends on the earlier dates of the run, not only on the dates it applies to)
    memo: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def build(cls, asset, dates, rows, failures, candidates, slate_sizes, candidate_dates,
              config: ChecksConfig, calendar: SeasonCalendar | None = None,
              history: pd.DataFrame | None = None) -> "Partition":
        entity = ENTITY_COLUMN[asset]
        rows = rows.copy() if rows is not None else pd.DataFrame(columns=["analysis_date", entity])
        for col in ("analysis_date", entity):
            if col not in rows.columns:
                rows[col] = pd.Series([None] * len(rows), dtype="object")
        rows["analysis_date"] = as_dates(rows["analysis_date"]).to_numpy()
        fails = failures.copy() if failures is not None else pd.DataFrame(
            columns=["processor_name", "analysis_date", "entity_id", "failure_category"])
        if len(fails) and "processor_name" in fails.columns:
            fails = fails[fails["processor_name"] == asset]
        fails["analysis_date"] = as_dates(fails["analysis_date"]).to_numpy()
        if dates is None:
            dates = pd.concat([rows["analysis_date"], fails["analysis_date"]])
        dates = date_index(dates)

        null_rows = rows[rows["analysis_date"].isna()]
        rows = rows[rows["analysis_date"].isin(dates)].reset_index(drop=True)
        null_fails = fails[fails["analysis_date"].isna()]
        fails = fails[fails["analysis_date"].isin(dates)].reset_index(drop=True)

        if candidates is not None:
            key = entity if entity in candidates.columns else (
                "entity_id" if "entity_id" in candidates.columns else None)
            if key is None:
                raise KeyError(f"candidates for {asset} need analysis_date and {entity} (or entity_id) columns")
            cand = pd.DataFrame({"analysis_date": as_dates(candidates["analysis_date"]).to_numpy(),
                                 entity: candidates[key].to_numpy()})
            candidate_dates = dates if candidate_dates is None else date_index(candidate_dates).intersection(dates)
            cand = cand[cand["analysis_date"].isin(candidate_dates)].drop_duplicates().reset_index(drop=True)
        else:
            cand, candidate_dates = None, pd.DatetimeIndex([])

        per = pd.DataFrame(index=dates)
        per["rows"] = rows.groupby("analysis_date").size().reindex(dates, fill_value=0).astype(int)
        date_level = fails["entity_id"] == DATE_LEVEL
        per["entity_failures"] = (
            fails[~date_level].groupby("analysis_date").size().reindex(dates, fill_value=0).astype(int))
        per["date_level"] = (
            fails[date_level].groupby("analysis_date").size().reindex(dates, fill_value=0).astype(int))
        cats = (fails[date_level].groupby("analysis_date")["failure_category"]
                .agg(lambda s: ", ".join(sorted(set(map(str, s))))))
        per["date_level_categories"] = cats.reindex(dates).fillna("")

        slate = slate_series(slate_sizes, dates)
        if cand is not None and slate_based(asset):  # the candidates of a slate asset are the slate
            counts = cand.groupby("analysis_date").size().reindex(candidate_dates, fill_value=0)
            slate = slate.where(slate.notna(), counts.reindex(dates))
        if history is not None:  # one asset's counts strictly before the first checked date
            history = history[history["asset"] == asset] if "asset" in history.columns else history.assign(asset=asset)
            history = history[as_dates(history["date"]).to_numpy() < (dates.min() if len(dates) else pd.Timestamp.max)]
        return cls(asset, entity, dates, rows, null_rows, fails, null_fails, cand, candidate_dates,
                   slate.astype("float64"), per, config, calendar, history)

    def restrict(self, dates: pd.DatetimeIndex) -> "Partition":
        """The same view on a subset of its dates (the dates a check applies to).

        The per-date frames are restricted; rows, failures and candidates are not filtered (a
        copy of the rows costs more than most checks): a check reports on `p.dates` only, its
        per-date counts reindexed on them."""
        if len(dates) == len(self.dates):
            return self
        return replace(self, dates=dates, candidate_dates=self.candidate_dates.intersection(dates),
                       slate=self.slate.reindex(dates), per=self.per.reindex(dates))

    @property
    def max_items(self) -> int:
        """How many offending keys or values a check lists."""
        return self.config.detail_max_items


def slate_series(slate_sizes, dates: pd.DatetimeIndex) -> pd.Series:
    """N(D) per date from a Series indexed by date, a dict, or an array aligned with `dates`."""
    if slate_sizes is None:
        return pd.Series(np.nan, index=dates, dtype="float64")
    if isinstance(slate_sizes, dict):
        slate_sizes = pd.Series(slate_sizes)
    if isinstance(slate_sizes, pd.Series):
        s = slate_sizes.copy()
        s.index = pd.DatetimeIndex(as_dates(list(s.index)))
        return pd.to_numeric(s, errors="coerce").astype("float64").groupby(level=0).last().reindex(dates)
    values = np.asarray(slate_sizes, dtype="float64")
    if len(values) != len(dates):
        raise ValueError(f"slate_sizes has {len(values)} values for {len(dates)} dates")
    return pd.Series(values, index=dates)
