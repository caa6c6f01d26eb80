"""The anchor of benchmarks/backfill.py: stock Dagster, five trivial daily assets.

Same dependency shape as the Phase 4 assets, 450 random rows a day each, Dagster's stock
DuckDB pandas IO manager, one blocking row-count check per asset, a single-run backfill
policy, run as one in-process ranged run against a default (SQLite) instance. Nothing of the
project is imported.

    python benchmarks/anchor.py START END WAREHOUSE
"""

import sys
import time

import dagster as dg
import numpy as np
import pandas as pd
from dagster_duckdb_pandas import DuckDBPandasIOManager

START, END, WAREHOUSE = sys.argv[1], sys.argv[2], sys.argv[3]
partitions = dg.DailyPartitionsDefinition(start_date=START, end_offset=1)
SHAPE = {"psza": [], "tdza": [], "pdc": ["psza"], "pcf": ["psza", "tdza"], "mlfs": ["pdc", "pcf", "psza", "tdza"]}
ROWS_PER_DAY = 450


def make_asset(name, deps):
    @dg.asset(
        name=name,
        deps=deps,
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        metadata={"partition_expr": "analysis_date"},
        key_prefix=["anchor"],
    )
    def _asset(context: dg.AssetExecutionContext) -> pd.DataFrame:
        rng = np.random.default_rng(0)
        window = context.partition_time_window
        dates = pd.date_range(window.start, window.end, freq="D", inclusive="left").tz_localize(None)
        n = len(dates) * ROWS_PER_DAY
        return pd.DataFrame({
            "analysis_date": np.repeat(dates, ROWS_PER_DAY),
            "entity": rng.integers(0, 10_000, n).astype(str),
            "value": rng.random(n),
        })

    @dg.asset_check(asset=_asset, blocking=True, name="row_count")
    def _check(frame: pd.DataFrame) -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=len(frame) > 0, metadata={"rows": len(frame)})

    return _asset, _check


pieces = [make_asset(n, [dg.AssetKey(["anchor", d]) for d in deps]) for n, deps in SHAPE.items()]
defs = dg.Definitions(
    assets=[a for a, _ in pieces],
    asset_checks=[c for _, c in pieces],
    resources={"io_manager": DuckDBPandasIOManager(database=WAREHOUSE, schema="anchor")},
    executor=dg.in_process_executor,
)

if __name__ == "__main__":
    t0 = time.perf_counter()
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
        instance=dg.DagsterInstance.get(),
        tags={"dagster/asset_partition_range_start": START, "dagster/asset_partition_range_end": END},
    )
    assert result.success
    print(f"anchor run: {time.perf_counter() - t0:.2f}s")
