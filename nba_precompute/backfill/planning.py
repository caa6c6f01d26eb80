"""Planning a backfill (pure but for reading the warehouse): which runs, and what each date is
foreseen to do. The dry run prints `foresee`, which runs the same pipeline steps 1-3 and the
same dependency evaluation as the real run (pipeline.plan, pipeline.evaluate_dependencies), so
the two cannot drift."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from nba_precompute import registry
from nba_precompute.failures import categories_where
from nba_precompute.registry import ASSET_NAMES

RETRYABLE = categories_where(lambda c: c.date_level and c.can_retry)  # date-level failures worth a rerun


@dataclass(frozen=True)
class PlannedRun:
    start: dt.date
    end: dt.date
    assets: tuple[str, ...]

    @property
    def dates(self) -> int:
        return (self.end - self.start).days + 1

    def __str__(self) -> str:
        return f"{self.start}..{self.end} ({self.dates} dates): {','.join(self.assets)}"


def chunks(start: dt.date, end: dt.date, chunk_days: int | None) -> list[tuple[dt.date, dt.date]]:
    if not chunk_days:
        return [(start, end)]
    out, cur = [], start
    while cur <= end:
        last = min(end, cur + dt.timedelta(days=chunk_days - 1))
        out.append((cur, last))
        cur = last + dt.timedelta(days=1)
    return out


def plan_runs(start: dt.date, end: dt.date, assets: list[str], chunk_days: int | None = None,
              needed: dict[dt.date, tuple[str, ...]] | None = None) -> list[PlannedRun]:
    """Runs covering [start, end] in chunks; with `needed` (date -> assets to redo), only those
    dates, grouped into blocks of consecutive dates that need the same assets."""
    runs = []
    for a, b in chunks(start, end, chunk_days):
        if needed is None:
            runs.append(PlannedRun(a, b, tuple(assets)))
            continue
        block: PlannedRun | None = None
        for d in pd.date_range(a, b).date:
            want = needed.get(d, ())
            if block and want == block.assets and d == block.end + dt.timedelta(days=1):
                block = PlannedRun(block.start, d, want)
                continue
            if block:
                runs.append(block)
            block = PlannedRun(d, d, want) if want else None
        if block:
            runs.append(block)
    return runs


def dates_needing_work(warehouse, start: dt.date, end: dt.date, assets: list[str],
                       only: set[str], instance=None) -> dict[dt.date, tuple[str, ...]]:
    """--only failed,missing: per date, the selected assets that are failed (the genuine gaps,
    PRECOMPUTE.md §4: DATE_FAILED with a retryable category, or a partition `instance` shows as
    FAILED, such as a date blocked by an upstream ERROR check, which the warehouse holds nothing
    for) or MISSING (missing). Bootstrap dates are never retried: their outcome cannot change."""
    from nba_precompute.coverage import dagster_status
    from nba_precompute.coverage import status as st
    from nba_precompute.coverage.load import load_coverage

    frame = load_coverage(warehouse, start, end, assets, instance=instance).frame
    want = pd.Series(False, index=frame.index)
    if "failed" in only:
        want |= (frame["status"] == st.DATE_FAILED) & frame["category"].isin(RETRYABLE)
        want |= (frame["status"] == st.MISSING) & (frame["dagster_status"] == dagster_status.FAILED)
    if "missing" in only:
        want |= frame["status"] == st.MISSING
    picked = frame[want & frame["asset"].isin(assets)]
    needed: dict[dt.date, tuple[str, ...]] = {}
    for date, group in picked.groupby("date"):
        names = set(group["asset"])
        needed[pd.Timestamp(date).date()] = tuple(a for a in ASSET_NAMES if a in names)
    return needed


@dataclass(frozen=True)
class Foreseen:
    """What one asset of a planned run is foreseen to do before it runs."""

    run: PlannedRun
    asset: str
    counts: dict  # outcome of steps 1-3 per date ("TO_COMPUTE" for the dates that go on)
    failing_phase3: pd.DataFrame | None  # failing Phase 3 verdicts (None: no date reaches the rules)
    upstream: list[str]  # Phase 4 inputs: their rules depend on the run itself


def foresee(warehouse, runs: list[PlannedRun]) -> list[Foreseen]:
    """For each run and asset: the outcome foreseeable from the calendar and the Phase 3 rules."""
    from nba_precompute.phase3.contract import PHASE3_BY_FQN, SCHEDULE
    from nba_precompute.pipeline import evaluate_dependencies, plan
    from nba_precompute.season import SeasonCalendar

    calendar = SeasonCalendar(warehouse.read_required(SCHEDULE))
    out = []
    for run in runs:
        dates = pd.date_range(run.start, run.end)
        for asset in run.assets:
            days = plan(asset, calendar, dates)
            counts = days["outcome"].fillna("TO_COMPUTE").value_counts().to_dict()
            failing = None
            if days["outcome"].isna().any():
                _, verdicts = evaluate_dependencies(asset, calendar, days, warehouse.read_required)
                phase3 = verdicts[verdicts["upstream"].isin(PHASE3_BY_FQN)]
                failing = phase3[~phase3["ok"]]
            out.append(Foreseen(run, asset, counts, failing, registry.upstream_assets(asset)))
    return out
