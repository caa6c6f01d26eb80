"""The phase4 multi-asset through Dagster on real data: rows, spot values, per-date events."""

import datetime as dt

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from nba_precompute.defs.phase4 import build_phase4_assets
from nba_precompute.features.windows import played_games
from nba_precompute.phase3.loader import load_phase3
from nba_precompute.warehouse.duckdb import DuckDBWarehouse

pytestmark = pytest.mark.shared_data

MONTH = ("2022-11-15", "2022-12-14")


@pytest.fixture(scope="module")
def real_month(tmp_path_factory, shared_data_dir):
    """nba-2022-23 loaded, the five assets materialized over a real month in one ranged run."""
    root = tmp_path_factory.mktemp("real")
    warehouse = DuckDBWarehouse(database=str(root / "w.duckdb"))
    load_phase3(shared_data_dir / "nba-2022-23", warehouse)
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [build_phase4_assets("duckdb")],
        instance=instance,
        resources={"warehouse": warehouse},
        tags={"dagster/asset_partition_range_start": MONTH[0], "dagster/asset_partition_range_end": MONTH[1]},
    )
    assert result.success
    return warehouse, instance


def _read(warehouse, table, **kw):
    return warehouse.query(f"SELECT * FROM {table}", **kw)


def test_every_slate_player_is_a_row_or_an_entity_failure_on_every_game_date(real_month):
    warehouse, _ = real_month
    slate = warehouse.query(
        "SELECT game_date AS d, count(DISTINCT player_lookup) AS n FROM nba_analytics.upcoming_player_game_context "
        "WHERE game_date BETWEEN ? AND ? GROUP BY 1", [MONTH[0], MONTH[1]]
    ).set_index("d")["n"]
    for asset, table in [("pdc", "nba_precompute.player_daily_cache"),
                         ("pcf", "nba_precompute.player_composite_factors"),
                         ("mlfs", "nba_predictions.ml_feature_store_v2")]:
        rows = warehouse.query(f"SELECT analysis_date AS d, count(*) AS n FROM {table} GROUP BY 1").set_index("d")["n"]
        fails = warehouse.query(
            "SELECT analysis_date AS d, count(*) AS n FROM nba_processing.precompute_failures "
            "WHERE processor_name = ? AND entity_id <> 'DATE_LEVEL' GROUP BY 1", [asset]
        ).set_index("d")["n"]
        total = rows.add(fails, fill_value=0)
        assert total.reindex(slate.index).fillna(0).astype(int).to_dict() == slate.astype(int).to_dict(), asset
        assert len(rows) == len(slate)  # every game date of the month has rows


def test_psza_and_tdza_cover_every_calendar_date_of_the_month(real_month):
    warehouse, _ = real_month
    for table in ("nba_precompute.player_shot_zone_analysis", "nba_precompute.team_defense_zone_analysis"):
        dates = warehouse.query(f"SELECT DISTINCT analysis_date FROM {table}")["analysis_date"]
        assert len(dates) == 30
    tdza = warehouse.query("SELECT count(*) AS n FROM nba_precompute.team_defense_zone_analysis")["n"][0]
    assert tdza == 30 * 30  # every team qualifies a month into the season


def test_spot_values_match_an_independent_computation_from_player_game_summary(real_month, shared_data_dir):
    warehouse, _ = real_month
    pgs = pd.read_parquet(shared_data_dir / "nba-2022-23" / "nba_analytics.player_game_summary.parquet")
    d = dt.date(2022, 12, 1)
    for player in ("jaysontatum", "nikolajokic", "stephencurry"):
        games = played_games(pgs[(pgs["player_lookup"] == player) & (pgs["game_date"] < d)])
        games = games.sort_values(["game_date", "game_id"], ascending=False)
        last5, last10 = games.head(5), games.head(10)
        pdc = warehouse.query(
            "SELECT * FROM nba_precompute.player_daily_cache WHERE analysis_date = ? AND player_lookup = ?", [d, player]
        )
        if pdc.empty:  # not on the slate that day
            continue
        row = pdc.iloc[0]
        assert row["points_avg_last_5"] == pytest.approx(round(last5["points"].astype(float).mean(), 4))
        assert row["points_avg_last_10"] == pytest.approx(round(last10["points"].astype(float).mean(), 4))
        assert row["games_played_season"] == len(games)
        psza = warehouse.query(
            "SELECT * FROM nba_precompute.player_shot_zone_analysis WHERE analysis_date = ? AND player_lookup = ?",
            [d, player],
        ).iloc[0]
        att = last10[["paint_attempts", "mid_range_attempts", "three_pt_attempts"]].astype(float).sum()
        assert psza["paint_rate_last_10"] == pytest.approx(round(100 * att.iloc[0] / att.sum(), 2))
        assert psza["three_pt_pct_last_10"] == pytest.approx(
            round(last10["three_pt_makes"].astype(float).sum() / att.iloc[2], 3))
        mlfs = warehouse.query(
            "SELECT * FROM nba_predictions.ml_feature_store_v2 WHERE analysis_date = ? AND player_lookup = ?", [d, player]
        ).iloc[0]
        assert mlfs["f00_points_avg_last_5"] == pytest.approx(row["points_avg_last_5"])  # phase4 source
        assert mlfs["f18_pct_paint"] == pytest.approx(psza["paint_rate_last_10"] / 100)  # percent -> fraction


def test_each_asset_date_gets_a_partition_materialization_and_no_gap_observation(real_month):
    _, instance = real_month
    month = {d.strftime("%Y-%m-%d") for d in pd.date_range(*MONTH)}
    for asset in ("psza", "tdza", "pdc", "pcf", "mlfs"):
        assert month <= instance.get_materialized_partitions(dg.AssetKey(asset))
        # no gap in the month: nothing observed, and the per-run checks evaluated once, unpartitioned
        assert not instance.fetch_observations(dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset)), limit=10).records
        history = instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(dg.AssetKey(asset), "primary_key_unique"), limit=100
        )
        # (an ephemeral, stock instance also keeps Dagster's per-partition PLANNED rows: test_instance.py)
        assert [(r.partition, r.status.value) for r in history if r.status.value != "PLANNED"] == [(None, "SUCCEEDED")]


def test_nothing_written_twice_and_no_nan_stored(real_month):
    warehouse, _ = real_month
    for table, key in [("nba_predictions.ml_feature_store_v2", "player_lookup"),
                       ("nba_precompute.team_defense_zone_analysis", "team_abbr")]:
        dups = warehouse.query(f"SELECT analysis_date, {key}, count(*) c FROM {table} GROUP BY 1, 2 HAVING c > 1")
        assert dups.empty
    nan = warehouse.query("SELECT count(*) n FROM nba_precompute.player_composite_factors WHERE isnan(pace_score)")
    assert nan["n"][0] == 0
    assert not np.isnan(warehouse.query("SELECT avg(f05_fatigue_score) a FROM nba_predictions.ml_feature_store_v2")["a"][0])
