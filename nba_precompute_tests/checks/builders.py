"""Hand-built Phase 4 rows, failure rows and Phase 3 frames for the check tests."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from nba_precompute_tests.frames import table_frame

from nba_precompute.failures import Category, DATE_LEVEL, failure_frame
from nba_precompute.features.slate import conform
from nba_precompute.registry import ASSET_TABLES, ENTITY_COLUMN
from nba_precompute.phase3.contract import Table
from nba_precompute.tables import FEATURE_NAMES

D = pd.Timestamp("2022-11-15")
D2 = pd.Timestamp("2022-11-16")


def players(n: int, prefix: str = "player") -> list[str]:
    return [f"{prefix}{i:03d}" for i in range(n)]


def psza_rows(date=D, names=None, n: int = 120, **columns) -> pd.DataFrame:
    """Valid psza rows: rates vary per player and sum to 100; `columns` override (scalars or lists)."""
    names = names if names is not None else players(n)
    k = len(names)
    i = np.arange(k)
    paint = 40.0 + (i % 20)
    mid = 10.0 + (i % 7)
    base = dict(
        analysis_date=[date] * k, player_lookup=names, games_in_sample_10=10, games_in_sample_20=15,
        sample_quality_10="excellent", sample_quality_20="good",
        paint_rate_last_10=paint, mid_range_rate_last_10=mid, three_pt_rate_last_10=100.0 - paint - mid,
        total_shots_last_10=80 + i % 30, paint_pct_last_10=0.6, mid_range_pct_last_10=0.4,
        three_pt_pct_last_10=0.35, paint_attempts_per_game=4.0, mid_range_attempts_per_game=1.0,
        three_pt_attempts_per_game=3.0, paint_rate_last_20=paint, paint_pct_last_20=0.6,
        assisted_rate_last_10=None, unassisted_rate_last_10=None, primary_scoring_zone="paint",
        data_quality_tier="high", early_season_flag=False, calculation_notes=None,
    )
    return conform(ASSET_TABLES["psza"], _frame(base, columns, k), ENTITY_COLUMN["psza"])


def tdza_rows(date=D, names=None, n: int = 30, **columns) -> pd.DataFrame:
    names = names if names is not None else [f"T{i:02d}" for i in range(n)]
    k = len(names)
    i = np.arange(k)
    base = dict(
        analysis_date=[date] * k, team_abbr=names, paint_pct_allowed_last_15=0.55 + i / 1000,
        paint_attempts_allowed_per_game=40.0, paint_points_allowed_per_game=48.0,
        paint_defense_vs_league_avg=i / 10, mid_range_pct_allowed_last_15=0.41,
        mid_range_attempts_allowed_per_game=15.0, mid_range_defense_vs_league_avg=0.0,
        three_pt_pct_allowed_last_15=0.36, three_pt_attempts_allowed_per_game=33.0,
        three_pt_defense_vs_league_avg=0.1, defensive_rating_last_15=110.0 + i / 10,
        opponent_points_per_game=112.0, opponent_pace=100.0, games_in_sample=15,
        strongest_zone="mid_range", weakest_zone="paint", data_quality_tier="high",
        early_season_flag=False, calculation_notes=None,
    )
    return conform(ASSET_TABLES["tdza"], _frame(base, columns, k), ENTITY_COLUMN["tdza"])


def pdc_rows(date=D, names=None, n: int = 120, **columns) -> pd.DataFrame:
    names = names if names is not None else players(n)
    k = len(names)
    i = np.arange(k)
    base = dict(
        analysis_date=[date] * k, cache_date=[date] * k, player_lookup=names, game_id="0022200001",
        team_abbr="AAA", opponent_team_abbr="BBB", points_avg_last_5=10.0 + i % 9,
        points_avg_last_10=10.0 + i % 8, points_avg_season=10.0 + i % 7, points_std_last_10=3.0 + i % 5,
        minutes_avg_last_10=25.0, usage_rate_last_10=20.0, ts_pct_last_10=0.55 + (i % 5) / 10,
        games_played_season=12, player_usage_rate_season=19.0, assisted_rate_last_10=None,
        team_pace_last_10=100.0, team_off_rating_last_10=112.0, games_in_last_7_days=3,
        games_in_last_14_days=6, back_to_backs_last_14_days=1, player_age=None,
        minutes_in_last_7_days=80.0, minutes_in_last_14_days=160.0, avg_minutes_per_game_last_7=26.0,
        primary_scoring_zone="paint", paint_rate_last_10=50.0, three_pt_rate_last_10=30.0,
        shot_zone_data_available=True, early_season_flag=False, insufficient_data_reason=None,
    )
    return conform(ASSET_TABLES["pdc"], _frame(base, columns, k), ENTITY_COLUMN["pdc"])


def pcf_rows(date=D, names=None, n: int = 120, **columns) -> pd.DataFrame:
    names = names if names is not None else players(n)
    k = len(names)
    i = np.arange(k)
    base = dict(
        analysis_date=[date] * k, game_date=[date] * k, player_lookup=names, universal_player_id=None,
        game_id="0022200001", team_abbr="AAA", opponent_team_abbr="BBB", fatigue_score=100 - (i % 4) * 5,
        shot_zone_mismatch_score=(i % 9) - 4.0, pace_score=((i % 5) - 2) / 2, usage_spike_score=((i % 3) - 1) / 2,
        total_composite_adjustment=0.5, data_completeness_pct=0.8, missing_data_fields=None,
        has_warnings=False, warning_details=None, factor_context="{}",
    )
    return conform(ASSET_TABLES["pcf"], _frame(base, columns, k), ENTITY_COLUMN["pcf"])


def mlfs_rows(date=D, names=None, n: int = 120, **columns) -> pd.DataFrame:
    names = names if names is not None else players(n)
    k = len(names)
    i = np.arange(k)
    base = dict(analysis_date=[date] * k, game_date=[date] * k, player_lookup=names, universal_player_id=None,
                game_id="0022200001", team_abbr="AAA", opponent_team_abbr="BBB")
    for j, f in enumerate(FEATURE_NAMES):
        base[f] = (i % 3) / 10 + j / 100  # varied, inside every range
    base.update(
        f05_fatigue_score=90.0 + i % 10, f13_opponent_def_rating=110.0 + i % 5, f14_opponent_pace=99.0 + i % 3,
        f15_home_away=(i % 2).astype(float), f16_back_to_back=0.0, f17_playoff_game=0.0,
        f22_team_pace=100.0 + i % 4, f23_team_off_rating=112.0 + i % 6,
        feature_quality_score=90.0, quality_tier="silver", data_source="phase4", default_feature_count=0,
        feature_sources="{}", early_season_flag=False,
    )
    return conform(ASSET_TABLES["mlfs"], _frame(base, columns, k), ENTITY_COLUMN["mlfs"])


ROWS = {"psza": psza_rows, "tdza": tdza_rows, "pdc": pdc_rows, "pcf": pcf_rows, "mlfs": mlfs_rows}


def _frame(base: dict, overrides: dict, k: int) -> pd.DataFrame:
    cols = {**base, **overrides}
    return pd.DataFrame({c: (v if isinstance(v, (list, np.ndarray, pd.Series)) else [v] * k) for c, v in cols.items()})


def entity_failures(asset: str, date, entities, category=Category.INSUFFICIENT_DATA, reason="Only 2 games, need 10"):
    return failure_frame(processor_name=asset, analysis_date=[date] * len(entities), entity_id=list(entities),
                         category=category, reason=reason)


def date_failure(asset: str, date, category=Category.MISSING_DEPENDENCY,
                 reason="Missing nba_analytics.player_game_summary for 2022-11-15 (12 rows, need 30)"):
    return failure_frame(processor_name=asset, analysis_date=[date], entity_id=[DATE_LEVEL], category=category,
                         reason=reason)


def failures(*frames) -> pd.DataFrame:
    parts = [f for f in frames if f is not None and len(f)]
    if not parts:
        return failure_frame(processor_name=[], analysis_date=[], entity_id=[], category=[], reason=[])
    return pd.concat(parts, ignore_index=True)


def candidates(date, entities, entity: str = "player_lookup") -> pd.DataFrame:
    return pd.DataFrame({"analysis_date": [pd.Timestamp(date)] * len(entities), entity: list(entities)})


def typed(table: Table, records: list[dict]) -> pd.DataFrame:
    """A frame with exactly the table's columns and types (absent fields NULL), dates as dates."""
    df = table_frame(table, records)
    for col, typ in table.columns:
        if typ == "DATE":
            df[col] = pd.to_datetime(df[col]).dt.date
    return df


def day(s: str) -> dt.date:
    return dt.date.fromisoformat(s)
