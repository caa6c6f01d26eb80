"""nba-precompute: the Phase 4 feature tables of an NBA player-props platform, as a Dagster code location."""

__version__ = "0.1.0"
