"""Every constant of the domain (PRECOMPUTE.md §3), in one frozen object.

The dependency rules (dependencies.py) and the asset checks (checks/) read these same values
where they mean the same thing, so a threshold is changed in exactly one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

ZONES: tuple[str, ...] = ("paint", "mid_range", "three_pt")


def _frozen(d: dict) -> Mapping:
    return MappingProxyType(dict(d))


@dataclass(frozen=True)
class Settings:
    bootstrap_days: int = 14
    early_ramp_days: int = 21
    psza_sample_window: int = 10
    psza_trend_window: int = 20
    psza_trend_min_games: int = 15
    zone_rate_sum_tolerance: float = 0.01
    primary_zone_thresholds: Mapping[str, float] = field(
        default_factory=lambda: _frozen({"paint": 40.0, "perimeter": 40.0, "mid_range": 35.0})
    )
    tdza_window: int = 15
    league_avg_days: int = 30
    league_avg_min_team_games: int = 10
    league_avg_min_teams: int = 10
    league_avg_defaults: Mapping[str, float] = field(
        default_factory=lambda: _frozen({"paint": 0.580, "mid_range": 0.410, "three_pt": 0.355})
    )
    pdc_absolute_min_games: int = 3
    pdc_stale_days: int = 30
    pdc_max_season_games: int = 82
    early_season_games: int = 10
    team_window: int = 10
    mlfs_recent_days: int = 60
    mlfs_recent_games: int = 10
    mlfs_min_team_games: int = 5
    dep_ratio: float = 0.8
    dep_ratio_pdc: float = 0.7
    upcg_min_players_per_team: int = 8
    dep_psza_min_for_pdc_pcf: int = 30
    dep_psza_min_for_mlfs: int = 100
    dep_tdza_min_rows: int = 25
    dep_psza_history_players: int = 30
    dep_tdza_history_teams: int = 20
    constant_feature_min_rows: int = 50
    failure_reason_max_chars: int = 1000

    def psza_min_games(self, days_since_opener: int) -> int:
        """m_p(D): the psza dynamic minimum, ramping up over the first three weeks."""
        d = days_since_opener
        return min(3 + d // 3, 9) if d <= self.early_ramp_days else self.psza_sample_window

    def tdza_min_games(self, days_since_opener: int) -> int:
        """m_t(D): the tdza dynamic minimum, always reachable at about one game every two days."""
        return min(self.tdza_window, max(5, days_since_opener // 3))


SETTINGS = Settings()
