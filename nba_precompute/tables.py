"""The Phase 4 output tables and the failure table, as data (PRECOMPUTE.md §6, §7).

The pure feature functions return exactly `column_names` of their table (without created_at);
the warehouse creates the tables and casts frames from these definitions.
"""

from __future__ import annotations

from nba_precompute.phase3.contract import Table, _cols

PSZA = Table(
    "nba_precompute",
    "player_shot_zone_analysis",
    "Each player's shot mix and accuracy by zone over the last 10 / 20 games before D.",
    _cols(
        "analysis_date DATE, player_lookup STRING, universal_player_id STRING,"
        " games_in_sample_10 INT64, games_in_sample_20 INT64, sample_quality_10 STRING,"
        " sample_quality_20 STRING, paint_rate_last_10 FLOAT64, mid_range_rate_last_10 FLOAT64,"
        " three_pt_rate_last_10 FLOAT64, total_shots_last_10 INT64, paint_pct_last_10 FLOAT64,"
        " mid_range_pct_last_10 FLOAT64, three_pt_pct_last_10 FLOAT64, paint_attempts_per_game FLOAT64,"
        " mid_range_attempts_per_game FLOAT64, three_pt_attempts_per_game FLOAT64,"
        " paint_rate_last_20 FLOAT64, paint_pct_last_20 FLOAT64, assisted_rate_last_10 FLOAT64,"
        " unassisted_rate_last_10 FLOAT64, primary_scoring_zone STRING, data_quality_tier STRING,"
        " early_season_flag BOOL, calculation_notes STRING, created_at TIMESTAMP"
    ),
    key=("analysis_date", "player_lookup"),
    date_column="analysis_date",
    not_null=("analysis_date", "player_lookup"),
)

TDZA = Table(
    "nba_precompute",
    "team_defense_zone_analysis",
    "Each team's defense by zone over its last 15 games before D, against the league average.",
    _cols(
        "analysis_date DATE, team_abbr STRING, paint_pct_allowed_last_15 FLOAT64,"
        " paint_attempts_allowed_per_game FLOAT64, paint_points_allowed_per_game FLOAT64,"
        " paint_defense_vs_league_avg FLOAT64, mid_range_pct_allowed_last_15 FLOAT64,"
        " mid_range_attempts_allowed_per_game FLOAT64, mid_range_defense_vs_league_avg FLOAT64,"
        " three_pt_pct_allowed_last_15 FLOAT64, three_pt_attempts_allowed_per_game FLOAT64,"
        " three_pt_defense_vs_league_avg FLOAT64, defensive_rating_last_15 FLOAT64,"
        " opponent_points_per_game FLOAT64, opponent_pace FLOAT64, games_in_sample INT64,"
        " strongest_zone STRING, weakest_zone STRING, data_quality_tier STRING,"
        " early_season_flag BOOL, calculation_notes STRING, created_at TIMESTAMP"
    ),
    key=("analysis_date", "team_abbr"),
    date_column="analysis_date",
    not_null=("analysis_date", "team_abbr"),
)

PDC = Table(
    "nba_precompute",
    "player_daily_cache",
    "Per slate player: rolling scoring, minutes, usage and efficiency, team pace, and the day's context.",
    _cols(
        "analysis_date DATE, cache_date DATE, player_lookup STRING, universal_player_id STRING,"
        " game_id STRING, team_abbr STRING, opponent_team_abbr STRING, points_avg_last_5 FLOAT64,"
        " points_avg_last_10 FLOAT64, points_avg_season FLOAT64, points_std_last_10 FLOAT64,"
        " minutes_avg_last_10 FLOAT64, usage_rate_last_10 FLOAT64, ts_pct_last_10 FLOAT64,"
        " games_played_season INT64, player_usage_rate_season FLOAT64, assisted_rate_last_10 FLOAT64,"
        " team_pace_last_10 FLOAT64, team_off_rating_last_10 FLOAT64, games_in_last_7_days INT64,"
        " games_in_last_14_days INT64, back_to_backs_last_14_days INT64, player_age INT64,"
        " minutes_in_last_7_days FLOAT64, minutes_in_last_14_days FLOAT64,"
        " avg_minutes_per_game_last_7 FLOAT64, primary_scoring_zone STRING, paint_rate_last_10 FLOAT64,"
        " three_pt_rate_last_10 FLOAT64, shot_zone_data_available BOOL, early_season_flag BOOL,"
        " insufficient_data_reason STRING, created_at TIMESTAMP"
    ),
    key=("analysis_date", "player_lookup"),
    date_column="analysis_date",
    not_null=("analysis_date", "player_lookup"),
)

PCF = Table(
    "nba_precompute",
    "player_composite_factors",
    "Per slate player: fatigue, shot-zone mismatch, pace and usage-spike factors and their total.",
    _cols(
        "analysis_date DATE, game_date DATE, player_lookup STRING, universal_player_id STRING,"
        " game_id STRING, team_abbr STRING, opponent_team_abbr STRING, fatigue_score INT64,"
        " shot_zone_mismatch_score FLOAT64, pace_score FLOAT64, usage_spike_score FLOAT64,"
        " total_composite_adjustment FLOAT64, data_completeness_pct FLOAT64, missing_data_fields STRING,"
        " has_warnings BOOL, warning_details STRING, factor_context STRING, created_at TIMESTAMP"
    ),
    key=("analysis_date", "player_lookup"),
    date_column="analysis_date",
    not_null=("analysis_date", "player_lookup"),
)

FEATURE_NAMES: tuple[str, ...] = (
    "f00_points_avg_last_5",
    "f01_points_avg_last_10",
    "f02_points_avg_season",
    "f03_points_std_last_10",
    "f04_games_in_last_7_days",
    "f05_fatigue_score",
    "f06_shot_zone_mismatch_score",
    "f07_pace_score",
    "f08_usage_spike_score",
    "f09_rest_advantage",
    "f10_injury_risk",
    "f11_recent_trend",
    "f12_minutes_change",
    "f13_opponent_def_rating",
    "f14_opponent_pace",
    "f15_home_away",
    "f16_back_to_back",
    "f17_playoff_game",
    "f18_pct_paint",
    "f19_pct_mid_range",
    "f20_pct_three",
    "f21_pct_free_throw",
    "f22_team_pace",
    "f23_team_off_rating",
    "f24_team_win_pct",
)

MLFS = Table(
    "nba_predictions",
    "ml_feature_store_v2",
    "The 25-feature vector per slate player-game, with per-feature sources and a quality score.",
    _cols(
        "analysis_date DATE, game_date DATE, player_lookup STRING, universal_player_id STRING,"
        " game_id STRING, team_abbr STRING, opponent_team_abbr STRING, "
        + ", ".join(f"{f} FLOAT64" for f in FEATURE_NAMES)
        + ", feature_quality_score FLOAT64, quality_tier STRING, data_source STRING,"
        " default_feature_count INT64, feature_sources STRING, early_season_flag BOOL,"
        " created_at TIMESTAMP"
    ),
    key=("analysis_date", "player_lookup"),
    date_column="analysis_date",
    not_null=("analysis_date", "player_lookup"),
)

FAILURES = Table(
    "nba_processing",
    "precompute_failures",
    "Date-level and entity-level failures of the five precompute assets; replaced on rerun.",
    _cols(
        "processor_name STRING, run_id STRING, analysis_date DATE, entity_id STRING,"
        " failure_category STRING, failure_reason STRING, can_retry BOOL,"
        " expected_game_count INT64, actual_game_count INT64, created_at TIMESTAMP"
    ),
    key=("processor_name", "analysis_date", "entity_id"),
    date_column="analysis_date",
    not_null=(
        "processor_name", "run_id", "analysis_date", "entity_id", "failure_category",
        "failure_reason", "can_retry", "created_at",
    ),
)

DEPENDENCY_CHECKS = Table(
    "nba_processing",
    "precompute_dependency_checks",
    "Every dependency rule evaluated for (asset, D) (PRECOMPUTE.md §5): the verdicts root causes and "
    "healing read; replaced with the asset's partition.",
    _cols(
        "processor_name STRING, analysis_date DATE, rule_number INT64, upstream_table STRING, kind STRING,"
        " found INT64, required INT64, passed BOOL, created_at TIMESTAMP"
    ),
    key=("processor_name", "analysis_date", "rule_number"),
    date_column="analysis_date",
    not_null=(
        "processor_name", "analysis_date", "rule_number", "upstream_table", "kind", "found", "required",
        "passed", "created_at",
    ),
)

