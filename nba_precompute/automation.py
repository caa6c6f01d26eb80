"""Healing: after an upstream repair, re-request the downstream Phase 4 partitions that failed for it.

`phase4_heal_sensor` (RUNNING by default) reads the materializations of the Phase 4 assets that
have Phase 4 consumers (psza, tdza, pdc, pcf) since its cursor. For each one with rows on date D
(`dagster/row_count` > 0), it looks at the latest gap observation (outcomes.gap_observation,
logged by the step for each (asset, date) it could not materialize) of every downstream Phase 4
asset on D and re-requests the ones whose gap

* is MISSING_DEPENDENCY,
* whose failing dependency verdicts (the `failed_dependencies` metadata) name the repaired
  asset's table (or the table of an asset healed with it, so a chain pcf -> mlfs heals in one
  run, producers first), and
* was recorded before that materialization (a gap recorded after the repair is not healed by
  it; a downstream re-evaluated in the same run is left alone), and has not been materialized
  since.

One run per date, for just the failed downstream assets of that date: healthy dates and healthy
assets are never touched. Materializations of runs still in progress are left for a later tick
(their downstream is usually evaluated by the same run), so a backfill that both fails and
materializes never triggers healing by itself.

Why a sensor rather than a declarative AutomationCondition (`any_deps_updated & missing`): every
date-failed partition is "missing", so the condition would also re-request partitions that
failed for another reason (bootstrap, another upstream) whenever any upstream of that date is
re-materialized, e.g. after every backfill. The failing dependency verdicts recorded by the step say exactly
which upstream a date failed for. Reading them from the instance (not the warehouse) keeps the
sensor off the DuckDB file while runs write it.

NBA_PRECOMPUTE_HEAL_INTERVAL_SECONDS sets the minimum interval between evaluations (default 30).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import dagster as dg

from nba_precompute import config as configuration
from nba_precompute.config import Config
from nba_precompute.failures import Category
from nba_precompute.outcomes import FAILED_DEPENDENCIES, GAP_OBSERVATION, plain
from nba_precompute import registry
from nba_precompute.registry import ASSET_NAMES, ASSET_TABLES, DOWNSTREAM

HEAL_SENSOR = "phase4_heal_sensor"
LAUNCHED_BY_TAG = "nba_precompute/launched_by"
HEALED_AFTER_TAG = "nba_precompute/healed_after"
ROW_COUNT = "dagster/row_count"
PAGE = 1000

UPSTREAM_WITH_CONSUMERS: list[str] = [a for a in ASSET_NAMES if DOWNSTREAM[a]]


def heal_interval_seconds(config: Config | None = None) -> int:
    return (config or configuration.current()).heal_interval_seconds


@dataclass(frozen=True)
class Repair:
    """A materialization with rows of an upstream Phase 4 asset on a date."""

    asset: str
    partition: str
    storage_id: int
    timestamp: float


@dataclass(frozen=True)
class HealRequest:
    partition: str
    assets: tuple[str, ...]  # in dependency order
    after: tuple[Repair, ...]  # the repairs that triggered it

    @property
    def run_key(self) -> str:
        return f"heal:{self.partition}:{'+'.join(self.assets)}:{max(r.storage_id for r in self.after)}"

    def run_request(self) -> dg.RunRequest:
        return dg.RunRequest(
            run_key=self.run_key,
            partition_key=self.partition,
            asset_selection=[dg.AssetKey(a) for a in self.assets],
            tags={
                LAUNCHED_BY_TAG: HEAL_SENSOR,
                HEALED_AFTER_TAG: ", ".join(f"{r.asset}@{r.storage_id}" for r in self.after),
            },
        )


def _meta_value(metadata, key):
    return plain((metadata or {}).get(key))


def _finished(instance: dg.DagsterInstance, run_ids: set[str]) -> set[str]:
    """The run ids among run_ids whose run is finished (or that are not runs: runless events)."""
    from dagster._core.storage.dagster_run import FINISHED_STATUSES

    ids = [r for r in run_ids if r]
    done = {r for r in run_ids if not r}
    if ids:
        records = instance.get_run_records(dg.RunsFilter(run_ids=ids))
        known = {rec.dagster_run.run_id: rec.dagster_run.status for rec in records}
        done |= {r for r in ids if r not in known or known[r] in FINISHED_STATUSES}
    return done


def new_repairs(instance: dg.DagsterInstance, after_storage_id: int) -> tuple[list[Repair], int]:
    """Materializations with rows of the upstream assets after the cursor, up to the first one of a
    run still in progress; and the new cursor (the last storage id considered)."""
    records = []
    horizon = None
    for asset in UPSTREAM_WITH_CONSUMERS:
        result = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), after_storage_id=after_storage_id),
            limit=PAGE,
            ascending=True,
        )
        records.extend((asset, rec) for rec in result.records)
        if result.has_more and result.records:  # only consider what every asset has fully read
            last = result.records[-1].storage_id
            horizon = last if horizon is None else min(horizon, last)
    records = sorted(
        ((a, r) for a, r in records if horizon is None or r.storage_id <= horizon), key=lambda x: x[1].storage_id
    )
    finished = _finished(instance, {r.run_id for _, r in records})
    repairs: list[Repair] = []
    cursor = after_storage_id
    for asset, rec in records:
        if rec.run_id not in finished:
            break
        cursor = rec.storage_id
        mat = rec.asset_materialization
        if mat is None or mat.partition is None:
            continue
        rows = _meta_value(mat.metadata, ROW_COUNT)
        if rows is not None and int(rows) <= 0:  # NO_GAMES / OFF_SEASON: heals nothing
            continue
        repairs.append(Repair(asset, mat.partition, rec.storage_id, rec.timestamp))
    return repairs, cursor


def latest_gaps(instance: dg.DagsterInstance, assets: list[str], partition: str) -> dict[str, tuple[float, dict]]:
    """asset -> (timestamp, metadata) of its latest gap observation on the partition."""
    out = {}
    for a in assets:
        records = instance.fetch_observations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(a), asset_partitions=[partition]), limit=1
        ).records
        obs = records[0].asset_observation if records else None
        if obs is not None and _meta_value(obs.metadata, "kind") == GAP_OBSERVATION:
            out[a] = (records[0].timestamp, obs.metadata)
    return out


def heal_requests(instance: dg.DagsterInstance, repairs: list[Repair]) -> list[HealRequest]:
    """Per date: the downstream assets whose latest gap is a missing dependency on a repaired upstream."""
    by_date: dict[str, dict[str, Repair]] = {}
    for r in repairs:
        latest = by_date.setdefault(r.partition, {}).get(r.asset)
        if latest is None or r.storage_id > latest.storage_id:
            by_date[r.partition][r.asset] = r
    out = []
    for partition, repaired in sorted(by_date.items()):
        candidates = sorted({b for a in repaired for b in _closure(a)}, key=ASSET_NAMES.index)
        gaps = latest_gaps(instance, candidates, partition)
        heal: list[str] = []
        used: dict[str, Repair] = {}
        for b in candidates:  # dependency order: an asset healed here can heal its consumers
            if b not in gaps:
                continue
            evaluated_at, meta = gaps[b]
            if not Category.MISSING_DEPENDENCY.is_value(_meta_value(meta, "failure_category")):
                continue
            # the upstream tables of its failing dependency verdicts, recorded as data by the step
            failed_tables = set(_meta_value(meta, FAILED_DEPENDENCIES) or ())
            if _materialized_after(instance, b, partition, evaluated_at):  # healed some other way
                continue
            for u in registry.upstream_assets(b):
                if ASSET_TABLES[u].fqn not in failed_tables:
                    continue
                repair = repaired.get(u)
                if u in heal or (repair is not None and evaluated_at < repair.timestamp):
                    heal.append(b)
                    if repair is not None:
                        used[u] = repair
                    break
        if heal:
            out.append(HealRequest(partition, tuple(heal), tuple(sorted(used.values(), key=lambda r: r.storage_id))))
    return out


def _materialized_after(instance: dg.DagsterInstance, asset: str, partition: str, timestamp: float) -> bool:
    latest = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[partition]), limit=1
    ).records
    return bool(latest) and latest[0].timestamp > timestamp


def _closure(asset: str) -> set[str]:
    seen: set[str] = set()
    stack = list(DOWNSTREAM[asset])
    while stack:
        b = stack.pop()
        if b not in seen:
            seen.add(b)
            stack.extend(DOWNSTREAM[b])
    return seen


def _cursor(raw: str | None) -> int:
    if not raw:
        return 0
    try:
        return int(json.loads(raw)["after_storage_id"])
    except (ValueError, KeyError, TypeError):
        return 0
