"""Small random Phase 3 seasons for the property-based tests, built with numpy from a `Shape`
(a few structural choices plus a seed, which is what hypothesis draws and shrinks).

Every season satisfies the Phase 3 contract (the loader's `validate` accepts it): makes never
exceed attempts, zones add up to the field goals, team codes come from the schedule, keys are
unique. Within the contract it is as hostile as the real world: DNP rows, 0-minute appearances,
NULL zone, usage and true-shooting values (per row or for the whole season), players missing
from the slate or listed twice with two snapshots, slate rows without a team or an opponent,
missing team context rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from nba_precompute.phase3.contract import (
    PLAYER_GAME_SUMMARY as PGS,
    SCHEDULE,
    TEAM_DEFENSE_GAME_SUMMARY as TDGS,
    TEAM_OFFENSE_GAME_SUMMARY as TOGS,
    UPCOMING_PLAYER_GAME_CONTEXT as UPCG,
    UPCOMING_TEAM_GAME_CONTEXT as UTGC,
)
from nba_precompute_demo.season import contract_frame

SEASON_YEAR = 2021
OPENER = dt.date(2021, 10, 19)
PROCESSED_AT = pd.Timestamp("2021-12-31 12:00", tz="UTC")
STATUSES = np.array(["available", "probable", "questionable", "doubtful", "out", None], dtype=object)


@dataclass(frozen=True)
class Shape:
    teams: int  # 2..30
    players: int  # per team
    days: int  # calendar days of the season window (opener = day 0)
    play_prob: float  # chance that a team plays on a date
    dnp_prob: float
    zero_minutes_prob: float  # an active appearance with 0:00 and no attempts (not a played game)
    zone_null_prob: float  # a played row without paint / mid-range data
    season_without_zones: bool
    slate_missing_prob: float  # a player who played is not on the slate
    slate_snapshot_prob: float  # a second, later UPCG snapshot of the same player-game
    slate_no_team_prob: float  # UPCG team_abbr or opponent_team_abbr NULL
    team_context_missing_prob: float
    seed: int


def _team_codes(n: int) -> list[str]:
    return [f"T{chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(n)]  # TAA, TAB, ...


def _schedule(shape: Shape, rng: np.random.Generator, teams: list[str]) -> pd.DataFrame:
    rows, n = [], 0
    for k in range(shape.days):
        day = OPENER + dt.timedelta(days=k)
        playing = [t for t in rng.permutation(teams) if rng.random() < shape.play_prob]
        if k in (0, shape.days - 1) and len(playing) < 2:  # the window's first and last dates have games
            playing = list(rng.permutation(teams)[:2])
        for home, away in zip(playing[0::2], playing[1::2]):
            n += 1
            rows.append(dict(game_id=f"00221{n:05d}", game_date=day, season_year=SEASON_YEAR,
                             home_team_abbr=home, away_team_abbr=away, game_status=3,
                             is_regular_season=True, is_playoffs=False))
    return pd.DataFrame(rows)


def _box(shape: Shape, rng: np.random.Generator, player: str, upid, team: str, opp: str, home: bool,
         game_id: str, day: dt.date) -> dict:
    row = dict(player_lookup=player, universal_player_id=upid, player_name=player.upper(), game_id=game_id,
               game_date=day, season_year=SEASON_YEAR, team_abbr=team, opponent_team_abbr=opp, home_game=home,
               starter=bool(rng.random() < 0.4), processed_at=PROCESSED_AT)
    if rng.random() < shape.dnp_prob:
        return dict(row, is_active=False, is_dnp=True)
    if rng.random() < shape.zero_minutes_prob:
        zeros = dict.fromkeys(["points", "fg_makes", "fg_attempts", "three_pt_makes", "three_pt_attempts",
                               "ft_makes", "ft_attempts", "offensive_rebounds", "defensive_rebounds", "assists",
                               "turnovers", "paint_makes", "paint_attempts", "mid_range_makes",
                               "mid_range_attempts"], 0)
        return dict(row, is_active=True, is_dnp=False, minutes_played=0.0, **zeros)
    fga = int(rng.integers(0, 25))
    three_a = int(rng.integers(0, fga + 1))
    two_a = fga - three_a
    three_m, two_m = int(rng.integers(0, three_a + 1)), int(rng.integers(0, two_a + 1))
    paint_a = int(rng.integers(0, two_a + 1))
    mid_a = two_a - paint_a
    paint_m = int(rng.integers(max(0, two_m - mid_a), min(two_m, paint_a) + 1))
    fta = int(rng.integers(0, 12))
    ftm = int(rng.integers(0, fta + 1))
    fgm = two_m + three_m
    points = 2 * two_m + 3 * three_m + ftm
    assisted = int(rng.integers(0, fgm + 1))
    no_zones = shape.season_without_zones or rng.random() < shape.zone_null_prob
    denominator = 2 * (fga + 0.44 * fta)
    return dict(
        row, is_active=True, is_dnp=False, minutes_played=float(np.round(rng.uniform(0.5, 44), 2)),
        points=points, fg_makes=fgm, fg_attempts=fga, three_pt_makes=three_m, three_pt_attempts=three_a,
        ft_makes=ftm, ft_attempts=fta, offensive_rebounds=int(rng.integers(0, 5)),
        defensive_rebounds=int(rng.integers(0, 10)), assists=int(rng.integers(0, 10)),
        turnovers=int(rng.integers(0, 6)),
        paint_makes=None if no_zones else paint_m, paint_attempts=None if no_zones else paint_a,
        mid_range_makes=None if no_zones else two_m - paint_m, mid_range_attempts=None if no_zones else mid_a,
        assisted_fg_makes=None if shape.season_without_zones else assisted,
        unassisted_fg_makes=None if shape.season_without_zones else fgm - assisted,
        usage_rate=None if rng.random() < 0.1 else float(rng.uniform(5, 40)),
        ts_pct=None if denominator == 0 else points / denominator,
    )


def _maybe(rng: np.random.Generator, value, p_null: float = 0.15):
    return None if rng.random() < p_null else value


def _upcoming(shape: Shape, rng: np.random.Generator, player: str, team: str, opp: str, home: bool,
              game_id: str, day: dt.date, processed_at: pd.Timestamp) -> dict:
    g7 = int(rng.integers(0, 5))
    m7 = float(np.round(rng.uniform(0, 40) * g7, 1))
    row = dict(
        player_lookup=player, game_id=game_id, game_date=day, team_abbr=team, opponent_team_abbr=opp,
        home_game=home, back_to_back=bool(rng.random() < 0.2), season_phase="early",
        days_rest=_maybe(rng, int(rng.integers(0, 5))), opponent_days_rest=_maybe(rng, int(rng.integers(0, 5))),
        games_in_last_7_days=g7, games_in_last_14_days=g7 + int(rng.integers(0, 4)),
        minutes_in_last_7_days=m7, minutes_in_last_14_days=m7 + float(np.round(rng.uniform(0, 100), 1)),
        avg_minutes_per_game_last_7=m7 / g7 if g7 else None,
        back_to_backs_last_14_days=int(rng.integers(0, 3)), player_age=_maybe(rng, int(rng.integers(19, 41)), 0.5),
        projected_usage_rate=_maybe(rng, float(rng.uniform(5, 40))),
        avg_usage_rate_last_7_games=_maybe(rng, float(rng.uniform(0, 40))),
        pace_differential=_maybe(rng, float(rng.uniform(-8, 8))),
        opponent_pace_last_10=_maybe(rng, float(rng.uniform(92, 106))),
        star_teammates_out=_maybe(rng, int(rng.integers(0, 3)), 0.5),
        player_status=STATUSES[int(rng.integers(0, len(STATUSES)))], processed_at=processed_at,
    )
    if rng.random() < shape.slate_no_team_prob:
        row["team_abbr" if rng.random() < 0.5 else "opponent_team_abbr"] = None
    return row


def random_season(shape: Shape) -> dict[str, pd.DataFrame]:
    """The six Phase 3 tables (contract-typed frames keyed by fqn) of a random season."""
    rng = np.random.default_rng(shape.seed)
    teams = _team_codes(shape.teams)
    rosters = {t: [(f"{t.lower()}p{i}", None if rng.random() < 0.2 else f"{t.lower()}{i:02d}")
                   for i in range(shape.players)] for t in teams}
    schedule = _schedule(shape, rng, teams)
    pgs, togs, tdgs, upcg, utgc = [], [], [], [], []
    for game in schedule.itertuples(index=False):
        sides = ((game.home_team_abbr, game.away_team_abbr, True), (game.away_team_abbr, game.home_team_abbr, False))
        box = {team: [_box(shape, rng, p, upid, team, opp, home, game.game_id, game.game_date)
                      for p, upid in rosters[team]] for team, opp, home in sides}
        pts = {team: sum(r.get("points") or 0 for r in rows) for team, rows in box.items()}
        poss = {team: float(np.round(rng.uniform(90, 106), 1)) for team in box}
        pace = float(np.round((poss[game.home_team_abbr] + poss[game.away_team_abbr]) / 2, 2))
        for team, opp, home in sides:
            pgs.extend(box[team])
            togs.append(dict(game_id=game.game_id, game_date=game.game_date, season_year=SEASON_YEAR,
                             team_abbr=team, opponent_team_abbr=opp, home_game=home, win_flag=pts[team] > pts[opp],
                             points=pts[team], possessions=poss[team], pace=pace,
                             offensive_rating=100.0 * pts[team] / poss[team], processed_at=PROCESSED_AT))
            played = [r for r in box[opp] if r.get("points") is not None]

            def opp_sum(column):
                values = [r[column] for r in played]
                return None if any(v is None for v in values) else int(sum(values))

            tdgs.append(dict(
                game_id=game.game_id, game_date=game.game_date, season_year=SEASON_YEAR, defending_team_abbr=team,
                opponent_team_abbr=opp, points_allowed=pts[opp], defensive_rating=100.0 * pts[opp] / poss[opp],
                opponent_pace=pace, opp_paint_makes=opp_sum("paint_makes"),
                opp_paint_attempts=opp_sum("paint_attempts"), opp_mid_range_makes=opp_sum("mid_range_makes"),
                opp_mid_range_attempts=opp_sum("mid_range_attempts"), opp_three_pt_makes=opp_sum("three_pt_makes"),
                opp_three_pt_attempts=opp_sum("three_pt_attempts"),
                points_in_paint_allowed=None if opp_sum("paint_makes") is None else 2 * opp_sum("paint_makes"),
                mid_range_points_allowed=None if opp_sum("mid_range_makes") is None else 2 * opp_sum("mid_range_makes"),
                three_pt_points_allowed=3 * (opp_sum("three_pt_makes") or 0), processed_at=PROCESSED_AT))
            if rng.random() >= shape.team_context_missing_prob:
                utgc.append(dict(team_abbr=team, game_id=game.game_id, game_date=game.game_date,
                                 opponent_team_abbr=opp, home_game=home, days_rest=_maybe(rng, int(rng.integers(0, 4))),
                                 opponent_days_rest=_maybe(rng, int(rng.integers(0, 4))),
                                 game_total=_maybe(rng, float(rng.uniform(200, 240)), 0.5),
                                 game_spread=_maybe(rng, float(rng.uniform(-12, 12)), 0.5), processed_at=PROCESSED_AT))
            for p, _ in rosters[team]:
                if rng.random() < shape.slate_missing_prob:
                    continue
                upcg.append(_upcoming(shape, rng, p, team, opp, home, game.game_id, game.game_date, PROCESSED_AT))
                if rng.random() < shape.slate_snapshot_prob:
                    upcg.append(_upcoming(shape, rng, p, team, opp, home, game.game_id, game.game_date,
                                          PROCESSED_AT + pd.Timedelta(hours=1)))
    frames = {SCHEDULE: schedule, PGS: pgs, TOGS: togs, TDGS: tdgs, UPCG: upcg, UTGC: utgc}
    return {t.fqn: contract_frame(t, pd.DataFrame(rows, columns=t.column_names)) for t, rows in frames.items()}
