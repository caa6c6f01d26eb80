"""The "warehouse" pool on a PostgreSQL instance (deploy/dagster.yaml): created once, before runs.

Dagster creates a pool's row lazily, on the first slot claim of a run, with a plain INSERT. Two
runs starting together on a fresh instance both insert; on PostgreSQL the loser's transaction
is aborted and its run fails (seen in CI with two concurrent `nba-precompute backfill`s).
`instance.initialize_pools` creates the row before any run claims a slot.
"""

from __future__ import annotations

import pytest
import sqlalchemy.exc

from nba_precompute.instance import initialize_pools
from nba_precompute.resources import WAREHOUSE_POOL

pytestmark = pytest.mark.postgres


def pool_limits(instance) -> dict[str, int]:
    return {p.name: p.limit for p in instance.event_log_storage.get_pool_limits()}


def test_dagsters_lazy_pool_creation_fails_on_postgres_when_another_run_created_the_row(deployment):
    # The upstream behaviour the workaround exists for: if this stops raising, Dagster fixed it.
    first, second = deployment.instance(), deployment.instance()
    try:
        first.event_log_storage.initialize_concurrency_limit_to_default(WAREHOUSE_POOL)
        with pytest.raises(sqlalchemy.exc.SQLAlchemyError):
            second.event_log_storage.initialize_concurrency_limit_to_default(WAREHOUSE_POOL)
    finally:
        first.dispose()
        second.dispose()


def test_initialize_pools_creates_the_warehouse_pool_with_the_deploy_default_limit(deployment):
    instance = deployment.instance()
    try:
        assert WAREHOUSE_POOL not in instance.event_log_storage.get_concurrency_keys()
        initialize_pools(instance)
        initialize_pools(instance)  # idempotent
        assert pool_limits(instance) == {WAREHOUSE_POOL: 1}
    finally:
        instance.dispose()


def test_initialize_pools_keeps_a_limit_the_operator_set(deployment):
    deployment.dagster("instance", "concurrency", "set", WAREHOUSE_POOL, "4")
    instance = deployment.instance()
    try:
        initialize_pools(instance)
        assert pool_limits(instance) == {WAREHOUSE_POOL: 4}
    finally:
        instance.dispose()


def test_initialize_pools_accepts_a_pool_another_process_created_after_its_check(deployment, monkeypatch):
    mine, other = deployment.instance(), deployment.instance()
    try:
        storage = mine.event_log_storage
        real_keys = storage.get_concurrency_keys
        reads = []

        def other_process_wins_the_race():
            reads.append(1)
            if len(reads) == 1:  # our check sees no row, then the other process inserts it
                other.event_log_storage.initialize_concurrency_limit_to_default(WAREHOUSE_POOL)
                return set()
            return real_keys()

        monkeypatch.setattr(storage, "get_concurrency_keys", other_process_wins_the_race)
        initialize_pools(mine)
        assert len(reads) == 2  # the insert failed and the pool was found on the re-read
        assert pool_limits(mine) == {WAREHOUSE_POOL: 1}
    finally:
        mine.dispose()
        other.dispose()
