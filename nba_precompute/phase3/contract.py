"""The Phase 3 input contract (shared/spec/PHASE3.md) as data.

One place names every upstream table, its columns in order, their logical types, its key and
its date column. The loader validates against it, the demo generator writes it, the external
asset specs describe it, and the warehouse creates its tables from it.
"""

from __future__ import annotations

from dataclasses import dataclass

# Logical column types, spelled as BigQuery types; warehouse/sql.py maps them per dialect.
STRING, DATE, INT64, FLOAT64, BOOL, TIMESTAMP = "STRING", "DATE", "INT64", "FLOAT64", "BOOL", "TIMESTAMP"


@dataclass(frozen=True)
class Table:
    dataset: str
    name: str
    description: str
    columns: tuple[tuple[str, str], ...]  # (column, logical type), in contract order
    key: tuple[str, ...]
    date_column: str = "game_date"
    not_null: tuple[str, ...] = ()  # columns that may never be NULL (PHASE3.md: not marked nullable)
    not_null_when_played: tuple[str, ...] = ()  # NULL only on DNP rows (is_dnp TRUE or is_active FALSE)

    @property
    def fqn(self) -> str:
        return f"{self.dataset}.{self.name}"

    @property
    def column_names(self) -> list[str]:
        return [c for c, _ in self.columns]

    @property
    def types(self) -> dict[str, str]:
        return dict(self.columns)


def _cols(spec: str) -> tuple[tuple[str, str], ...]:
    """Parse 'a STRING, b DATE, ...' into ((a, STRING), (b, DATE), ...)."""
    out = []
    for part in spec.split(","):
        name, typ = part.split()
        out.append((name, typ))
    return tuple(out)


SCHEDULE = Table(
    "nba_reference",
    "schedule",
    "One row per game: the season calendar. The opener of a season is its first regular-season game_date.",
    _cols(
        "game_id STRING, game_date DATE, season_year INT64, home_team_abbr STRING, away_team_abbr STRING,"
        " game_status INT64, is_regular_season BOOL, is_playoffs BOOL"
    ),
    key=("game_id",),
    not_null=("game_id", "game_date", "season_year", "home_team_abbr", "away_team_abbr", "game_status",
              "is_regular_season", "is_playoffs"),
)

PLAYER_GAME_SUMMARY = Table(
    "nba_analytics",
    "player_game_summary",
    "One row per player per team-game, DNPs included: box score, shot zones, usage and true shooting.",
    _cols(
        "player_lookup STRING, universal_player_id STRING, player_name STRING, game_id STRING,"
        " game_date DATE, season_year INT64, team_abbr STRING, opponent_team_abbr STRING,"
        " home_game BOOL, starter BOOL, is_active BOOL, is_dnp BOOL, minutes_played FLOAT64,"
        " points INT64, fg_makes INT64, fg_attempts INT64, three_pt_makes INT64,"
        " three_pt_attempts INT64, ft_makes INT64, ft_attempts INT64, offensive_rebounds INT64,"
        " defensive_rebounds INT64, assists INT64, turnovers INT64, paint_makes INT64,"
        " paint_attempts INT64, mid_range_makes INT64, mid_range_attempts INT64,"
        " assisted_fg_makes INT64, unassisted_fg_makes INT64, usage_rate FLOAT64, ts_pct FLOAT64,"
        " processed_at TIMESTAMP"
    ),
    key=("player_lookup", "game_id"),
    not_null=("player_lookup", "game_id", "game_date", "season_year", "team_abbr", "opponent_team_abbr",
              "player_name", "home_game", "starter", "is_active", "is_dnp", "processed_at"),
    not_null_when_played=("minutes_played", "points", "fg_makes", "fg_attempts", "three_pt_makes",
                          "three_pt_attempts", "ft_makes", "ft_attempts", "offensive_rebounds",
                          "defensive_rebounds", "assists", "turnovers"),
)

TEAM_OFFENSE_GAME_SUMMARY = Table(
    "nba_analytics",
    "team_offense_game_summary",
    "One row per team per game: points, possessions, pace and offensive rating.",
    _cols(
        "game_id STRING, game_date DATE, season_year INT64, team_abbr STRING, opponent_team_abbr STRING,"
        " home_game BOOL, win_flag BOOL, points INT64, possessions FLOAT64, pace FLOAT64,"
        " offensive_rating FLOAT64, processed_at TIMESTAMP"
    ),
    key=("team_abbr", "game_id"),
    not_null=("game_id", "game_date", "season_year", "team_abbr", "opponent_team_abbr", "home_game", "win_flag",
              "points", "possessions", "pace", "offensive_rating", "processed_at"),
)

TEAM_DEFENSE_GAME_SUMMARY = Table(
    "nba_analytics",
    "team_defense_game_summary",
    "One row per defending team per game: what the opponent scored, by zone.",
    _cols(
        "game_id STRING, game_date DATE, season_year INT64, defending_team_abbr STRING,"
        " opponent_team_abbr STRING, points_allowed INT64, defensive_rating FLOAT64,"
        " opponent_pace FLOAT64, opp_paint_makes INT64, opp_paint_attempts INT64,"
        " opp_mid_range_makes INT64, opp_mid_range_attempts INT64, opp_three_pt_makes INT64,"
        " opp_three_pt_attempts INT64, points_in_paint_allowed INT64, mid_range_points_allowed INT64,"
        " three_pt_points_allowed INT64, processed_at TIMESTAMP"
    ),
    key=("defending_team_abbr", "game_id"),
    not_null=("game_id", "game_date", "season_year", "defending_team_abbr", "opponent_team_abbr",
              "points_allowed", "defensive_rating", "opponent_pace", "opp_three_pt_makes", "opp_three_pt_attempts",
              "three_pt_points_allowed", "processed_at"),
)

UPCOMING_PLAYER_GAME_CONTEXT = Table(
    "nba_analytics",
    "upcoming_player_game_context",
    "One row per player expected to play on game_date: rest, recent load and usage, pace context.",
    _cols(
        "player_lookup STRING, game_id STRING, game_date DATE, team_abbr STRING,"
        " opponent_team_abbr STRING, home_game BOOL, back_to_back BOOL, season_phase STRING,"
        " days_rest INT64, opponent_days_rest INT64, games_in_last_7_days INT64,"
        " games_in_last_14_days INT64, minutes_in_last_7_days FLOAT64, minutes_in_last_14_days FLOAT64,"
        " avg_minutes_per_game_last_7 FLOAT64, back_to_backs_last_14_days INT64, player_age INT64,"
        " projected_usage_rate FLOAT64, avg_usage_rate_last_7_games FLOAT64, pace_differential FLOAT64,"
        " opponent_pace_last_10 FLOAT64, star_teammates_out INT64, player_status STRING,"
        " processed_at TIMESTAMP"
    ),
    # Several snapshots of one player-game may exist; consumers take the latest processed_at.
    key=("player_lookup", "game_id", "processed_at"),
    # team_abbr / opponent_team_abbr stay nullable: PRECOMPUTE.md §7.3-7.5 turn a NULL into a
    # MISSING_DATA entity failure, a documented outcome the loader must not make unreachable.
    not_null=("player_lookup", "game_id", "game_date", "home_game", "back_to_back", "season_phase",
              "games_in_last_7_days", "games_in_last_14_days", "minutes_in_last_7_days", "minutes_in_last_14_days",
              "back_to_backs_last_14_days", "processed_at"),
)

UPCOMING_TEAM_GAME_CONTEXT = Table(
    "nba_analytics",
    "upcoming_team_game_context",
    "One row per team playing on game_date: rest, and betting lines where known.",
    _cols(
        "team_abbr STRING, game_id STRING, game_date DATE, opponent_team_abbr STRING, home_game BOOL,"
        " days_rest INT64, opponent_days_rest INT64, game_total FLOAT64, game_spread FLOAT64,"
        " processed_at TIMESTAMP"
    ),
    key=("team_abbr", "game_id", "processed_at"),
    not_null=("team_abbr", "game_id", "game_date", "opponent_team_abbr", "home_game", "processed_at"),
)

PHASE3_TABLES: tuple[Table, ...] = (
    SCHEDULE,
    PLAYER_GAME_SUMMARY,
    TEAM_OFFENSE_GAME_SUMMARY,
    TEAM_DEFENSE_GAME_SUMMARY,
    UPCOMING_PLAYER_GAME_CONTEXT,
    UPCOMING_TEAM_GAME_CONTEXT,
)
PHASE3_BY_FQN = {t.fqn: t for t in PHASE3_TABLES}


def file_name(table: Table) -> str:
    """The Parquet file name of a table in a Phase 3 folder: `<dataset>.<table>.parquet`."""
    return f"{table.fqn}.parquet"
