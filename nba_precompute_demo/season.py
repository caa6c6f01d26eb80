"""A deterministic synthetic NBA regular season, shaped as the six Phase 3 tables (PHASE3.md).

`generate_season` builds the frames in memory; `write_season` writes them as a Phase 3 folder
(`<dataset>.<table>.parquet`, zstd) whose bytes depend only on the arguments. Pure pandas/numpy.

How the season is made:

* **Schedule.** 30 teams in the real divisions play the NBA's 82-game formula (4 games against
  division rivals, 3 or 4 against the rest of the conference, 2 against the other conference;
  41 at home). The calendar opens on the third Tuesday of October and ends on the Sunday 173
  days later, with no games on Thanksgiving, Christmas Eve, the All-Star break and the NCAA
  final Monday. Games are placed day by day, favouring the teams furthest behind their pace, so
  back-to-backs (about 14 per team) and 1-4 day rests come out like the real calendar.
* **Rosters.** 15 made-up players per team, ranked by role: stars (~35 minutes, ~30% usage),
  starters, rotation, end of bench. Injuries put players out for runs of games (they are then
  absent from the box score, like an inactive list); healthy players outside the night's
  rotation are DNP rows.
* **Box scores.** Team volume comes from the game's pace (possessions = FGA - OREB + TOV +
  0.44*FTA); shots, free throws, turnovers, rebounds and assists are split between the players
  on the floor by minutes and role, then made by player skill. Everything adds up: player points
  sum to team points, zones sum to FGA, the defense view is the opponent's offense.
* **Upcoming contexts** are derived from that history exactly as shared/data/README.md derives
  the real ones (`derive_upcoming_player_game_context`, `derive_upcoming_team_game_context`).

League levels (pace, shooting, free throws) follow the real 2021-22 season for season_year
<= 2021 and the real 2022-23 season from 2022 on.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from nba_precompute.phase3.contract import (
    BOOL,
    DATE,
    FLOAT64,
    INT64,
    PHASE3_TABLES,
    PLAYER_GAME_SUMMARY,
    SCHEDULE,
    STRING,
    TEAM_DEFENSE_GAME_SUMMARY,
    TEAM_OFFENSE_GAME_SUMMARY,
    TIMESTAMP,
    UPCOMING_PLAYER_GAME_CONTEXT,
    UPCOMING_TEAM_GAME_CONTEXT,
    Table,
    file_name,
)

# --------------------------------------------------------------------------------------------
# League structure and calendar
# --------------------------------------------------------------------------------------------

DIVISIONS: dict[str, tuple[str, ...]] = {
    "Atlantic": ("BOS", "BKN", "NYK", "PHI", "TOR"),
    "Central": ("CHI", "CLE", "DET", "IND", "MIL"),
    "Southeast": ("ATL", "CHA", "MIA", "ORL", "WAS"),
    "Northwest": ("DEN", "MIN", "OKC", "POR", "UTA"),
    "Pacific": ("GSW", "LAC", "LAL", "PHX", "SAC"),
    "Southwest": ("DAL", "HOU", "MEM", "NOP", "SAS"),
}
CONFERENCES: dict[str, tuple[str, ...]] = {
    "East": ("Atlantic", "Central", "Southeast"),
    "West": ("Northwest", "Pacific", "Southwest"),
}
TEAMS: tuple[str, ...] = tuple(sorted(t for teams in DIVISIONS.values() for t in teams))
GAMES_PER_TEAM = 82
GAMES_PER_SEASON = len(TEAMS) * GAMES_PER_TEAM // 2  # 1230
ROSTER_SIZE = 15
SEASON_DAYS = 173  # opener (a Tuesday) to the last regular-season date (a Sunday)

_TEAM_INDEX = {t: i for i, t in enumerate(TEAMS)}


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """The n-th `weekday` (Monday=0) of a month."""
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def season_opener(season_year: int) -> dt.date:
    """The third Tuesday of October (2021-10-19, 2022-10-18, like the real openers)."""
    return _nth_weekday(season_year, 10, 1, 3)


def season_last_day(season_year: int) -> dt.date:
    """The last regular-season date: the Sunday 173 days after the opener (2022-04-10, 2023-04-09)."""
    return season_opener(season_year) + dt.timedelta(days=SEASON_DAYS)


def no_game_dates(season_year: int) -> tuple[dt.date, ...]:
    """Dates inside the season without games: Thanksgiving, Christmas Eve, the All-Star break
    (Friday to Wednesday around the third Sunday of February) and the NCAA final Monday."""
    all_star_sunday = _nth_weekday(season_year + 1, 2, 6, 3)
    dates = {
        _nth_weekday(season_year, 11, 3, 4),  # Thanksgiving
        dt.date(season_year, 12, 24),
        _nth_weekday(season_year + 1, 4, 0, 1),  # NCAA championship Monday
    }
    dates |= {all_star_sunday + dt.timedelta(days=k) for k in range(-2, 4)}
    return tuple(sorted(dates))


# --------------------------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------------------------

NOV_2021_GAP_DATES: tuple[dt.date, ...] = (
    dt.date(2021, 11, 9),
    dt.date(2021, 11, 11),
    dt.date(2021, 11, 16),
    dt.date(2021, 11, 23),
)


@dataclass(frozen=True)
class Scenario:
    """A named variation of the demo season: which season it needs and what it removes."""

    name: str
    description: str
    season_year: int | None = None  # the season_year the scenario requires (None: any)
    drop_upcoming_team_dates: tuple[dt.date, ...] = ()  # dates without any UTGC row
    zones: bool | None = None  # forces shot zones on/off (None: the caller's `zones`)


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "nov-2021-gaps",
            "The 2021-22 calendar with every upcoming_team_game_context row removed on "
            "2021-11-09, 2021-11-11, 2021-11-16 and 2021-11-23; everything else intact.",
            season_year=2021,
            drop_upcoming_team_dates=NOV_2021_GAP_DATES,
        ),
        Scenario(
            "no-zones",
            "A season without shot-chart data, like the real 2021-22: every paint and mid-range "
            "column is NULL.",
            zones=False,
        ),
    )
}

# --------------------------------------------------------------------------------------------
# League levels
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _League:
    pace: float  # possessions per 48 minutes
    fta: float  # free-throw attempts per team-game (at 99 possessions)
    tov: float  # turnovers per team-game
    oreb_rate: float  # share of missed field goals rebounded by the offense
    three_rate: float  # target share of FGA that are threes
    p3: float
    p_paint: float
    p_mid: float
    p_ft: float


_LEAGUE = {
    2021: _League(pace=98.8, fta=21.9, tov=13.1, oreb_rate=0.222, three_rate=0.392, p3=0.354, p_paint=0.566,
                  p_mid=0.405, p_ft=0.775),
    2022: _League(pace=99.8, fta=23.5, tov=13.4, oreb_rate=0.228, three_rate=0.384, p3=0.361, p_paint=0.580,
                  p_mid=0.421, p_ft=0.782),
}


def _league(season_year: int) -> _League:
    return _LEAGUE[min(max(season_year, min(_LEAGUE)), max(_LEAGUE))]


# --------------------------------------------------------------------------------------------
# Schedule
# --------------------------------------------------------------------------------------------

# Mean games per date by weekday (Monday first), measured on the two real seasons.
_WEEKDAY_GAMES = np.array([8.2, 5.6, 10.0, 4.5, 9.7, 6.9, 7.4])


def _home_matrix(rng: np.random.Generator) -> np.ndarray:
    """H[h, a] = home games of h against a under the NBA formula; every team has 41 + 41."""
    n = len(TEAMS)
    H = np.zeros((n, n), dtype=np.int64)
    divs = {name: [_TEAM_INDEX[t] for t in rng.permutation(list(teams))] for name, teams in DIVISIONS.items()}
    for conf in CONFERENCES.values():
        members = [divs[d] for d in conf]
        for div in members:  # division rivals: 4 games, 2 at home
            for a in div:
                for b in div:
                    if a != b:
                        H[a, b] = 2
        for x, y in ((0, 1), (0, 2), (1, 2)):  # rest of the conference: 4 games, or 3 on a 2-regular ring
            A, B = members[x], members[y]
            for a in A:
                for b in B:
                    H[a, b] = H[b, a] = 2
            for i in range(5):
                H[A[i], B[i]], H[B[i], A[i]] = 2, 1
                b = B[(i + 1) % 5]
                H[A[i], b], H[b, A[i]] = 1, 2
    east = [t for d in CONFERENCES["East"] for t in divs[d]]
    west = [t for d in CONFERENCES["West"] for t in divs[d]]
    for e in east:  # the other conference: 2 games, 1 at home
        for w in west:
            H[e, w] = H[w, e] = 1
    return H


def _game_dates(season_year: int) -> list[dt.date]:
    opener, off = season_opener(season_year), set(no_game_dates(season_year))
    days = (opener + dt.timedelta(days=k) for k in range(SEASON_DAYS + 1))
    return [d for d in days if d not in off]


_B2B_PACE = 12.0  # the back-to-back count each team is steered towards (comes out ~14)
_B2B_PENALTY = 0.5


def _place_games(season_year: int, rng: np.random.Generator) -> tuple[list[dt.date], np.ndarray]:
    """Place the 1230 games of the formula on the calendar: rows (date index, home, away)."""
    dates = _game_dates(season_year)
    opener = dates[0]
    day = np.array([(d - opener).days for d in dates])
    nd, nt = len(dates), len(TEAMS)
    weights = _WEEKDAY_GAMES[[d.weekday() for d in dates]] * rng.lognormal(0.0, 0.3, nd)
    target = np.zeros(nd)
    target[0], target[1] = 2, 11  # a two-game opening night, a full second night
    target[2:] = np.minimum(weights[2:] / weights[2:].sum() * (GAMES_PER_SEASON - 13), 15)
    target = np.maximum(np.round(target).astype(int), 2)  # every date of the calendar has games

    H = _home_matrix(rng)
    played = np.zeros(nt, dtype=np.int64)
    last1 = np.full(nt, -99)
    last2 = np.full(nt, -99)
    b2b = np.zeros(nt)
    met = np.full((nt, nt), -99)
    games: list[tuple[int, int, int]] = []
    for k in range(nd):
        d = day[k]
        remaining = GAMES_PER_TEAM - played
        need = remaining / (nd - k)
        yesterday = last1 == d - 1
        eligible = (remaining > 0) & ~(yesterday & (last2 == d - 2))  # never three in three nights
        expected_b2b = _B2B_PACE * k / nd
        prio = (
            need
            + rng.normal(0.0, 0.1, nt)
            - yesterday * (_B2B_PENALTY + 0.15 * (b2b - expected_b2b - 1))
            + 0.05 * np.clip(d - last1 - 2, 0, 3)
        )
        must = int(np.ceil(((need >= 0.999) & eligible).sum() / 2))
        free = eligible.copy()
        for _ in range(max(int(target[k]), must)):
            mask = (H > 0) & free[:, None] & free[None, :]
            if not mask.any():
                break
            score = np.where(mask, prio[:, None] + prio[None, :] - 0.4 * (d - met < 10), -np.inf)
            h, a = np.unravel_index(int(np.argmax(score)), score.shape)
            games.append((k, int(h), int(a)))
            H[h, a] -= 1
            free[h] = free[a] = False
            met[h, a] = met[a, h] = d
            for x in (h, a):
                b2b[x] += last1[x] == d - 1
                last2[x], last1[x] = last1[x], d
                played[x] += 1

    # The few games the greedy pass could not place go on the emptiest date that breaks no rule.
    busy = np.zeros((nt, nd + 2), dtype=bool)  # busy[t, k + 1]: team t plays on date index k
    for k, h, a in games:
        busy[h, k + 1] = busy[a, k + 1] = True
    per_date = np.bincount([g[0] for g in games], minlength=nd)
    consecutive = np.diff(day) == 1  # date k and k+1 are consecutive days
    for h, a in [(h, a) for h in range(nt) for a in range(nt) for _ in range(H[h, a])]:
        best, best_cost = None, None
        for k in range(nd):
            if busy[h, k + 1] or busy[a, k + 1]:
                continue
            cost, ok = float(per_date[k]) / 15.0, True
            for t in (h, a):
                prev = k > 0 and consecutive[k - 1] and busy[t, k]
                nxt = k < nd - 1 and consecutive[k] and busy[t, k + 2]
                prev2 = prev and k > 1 and consecutive[k - 2] and busy[t, k - 1]
                nxt2 = nxt and k < nd - 2 and consecutive[k + 1] and busy[t, k + 3]
                if (prev and nxt) or prev2 or nxt2:
                    ok = False
                cost += prev + nxt
            if ok and (best_cost is None or cost < best_cost):
                best, best_cost = k, cost
        if best is None:
            raise RuntimeError("demo schedule: a game could not be placed")  # pragma: no cover
        games.append((best, h, a))
        busy[h, best + 1] = busy[a, best + 1] = True
        per_date[best] += 1
    return dates, np.array(games, dtype=np.int64)


def _schedule(season_year: int, rng: np.random.Generator) -> pd.DataFrame:
    dates, games = _place_games(season_year, rng)
    order = np.lexsort((rng.random(len(games)), games[:, 0]))  # by date, tip-off order random
    games = games[order]
    return pd.DataFrame(
        {
            "game_id": [f"002{season_year % 100:02d}{n:05d}" for n in range(1, len(games) + 1)],
            "game_date": [dates[k] for k in games[:, 0]],
            "season_year": season_year,
            "home": games[:, 1],
            "away": games[:, 2],
        }
    )


# --------------------------------------------------------------------------------------------
# Players
# --------------------------------------------------------------------------------------------

_FIRST_NAMES = (
    "Aaron Adrian Alonzo Amari Andre Bennett Blake Brandon Caleb Calvin Cameron Carter Cedric Chris "
    "Cole Colin Corey Dalton Damon Darius Davion Dejon Derrick Desmond Devin Dillon Dominic Dorian "
    "Elijah Emeka Ethan Evan Felix Garrett Grant Hakeem Isaiah Ivan Jalen Jamal Jared Javon Jerome "
    "Jonah Jordan Josiah Julian Kalen Keegan Kendall Kobe Lamar Landon Lionel Luca Malik Marcus "
    "Mason Mateo Milan Miles Nasir Nolan Omari Oscar Quentin Rashad Reggie Royce Rudy Sergio Silas "
    "Terrence Theo Tobias Trevon Tristan Tyrell Victor Wendell Xavier Zane Zion"
).split() + ["De'Andre", "D'Marcus", "Ja'Vonte", "Dāvis", "Tomáš", "Joël", "Andrés", "Nikolaj"]
_LAST_NAMES = (
    "Abbott Alder Ashby Barlow Beckett Bellamy Blackwood Bramble Brooker Calloway Carver Colfax "
    "Conley Crandall Dacosta Darrow Dempsey Draper Easton Ellery Fairbanks Falk Fenwick Garland "
    "Gentry Gideon Goodwin Halloway Harlan Hatcher Hollis Ingram Jarrett Keaton Kendrick Kirby "
    "Langford Larkin Lockhart Lowry Mabry Mallory Marsh Merritt Monroe Nash Norwood Oakley Orton "
    "Pace Pemberton Pryor Quarles Radley Ransom Redding Rollins Roper Salter Sexton Shelby Slade "
    "Stanton Stroud Sutter Talley Thorne Tillman Upton Vance Varner Wade Walcott Whitfield Wilder "
    "Winslow Yardley Yates Zeller"
).split() + [
    "Baker-Stone", "Okafor-Lee", "Moreau-Diallo", "O'Dowd", "McCaffery", "Kovačević", "Dragović",
    "Hernández", "Müller", "Nuñez", "Şahin", "Valančius", "Bērziņš", "Lindqvist", "Ribeiro",
]


def player_lookup_key(name: str) -> str:
    """The Phase 3 player key: NFKD, accents dropped, lower-cased, only a-z0-9 kept."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]", "", plain.lower())


_EFFICIENCY = np.array([1.07, 1.06, 1.04, 1.03, 1.02, 1.0, 0.99, 0.97, 0.95, 0.9, 0.86, 0.83, 0.8, 0.8, 0.8])


# Relative usage by roster slot: the star ~30%, the second option ~26%, role players ~17%.
_USAGE = np.array([1.66, 1.38, 1.15, 1.0, 0.92, 1.0, 0.93, 0.88, 0.86, 0.85, 0.84, 0.82, 0.8, 0.8, 0.8])
_STARTER_POSITIONS = [0, 0, 1, 1, 2]  # guard 0, wing 1, big 2
_BENCH_POSITIONS = [0, 1, 2, 0, 1, 2, 0, 1, 2, 1]


def _players(rng: np.random.Generator) -> pd.DataFrame:
    """15 players per team, slot 0 the best: names, ids, role and skills."""
    n = len(TEAMS) * ROSTER_SIZE
    pairs = rng.choice(len(_FIRST_NAMES) * len(_LAST_NAMES), size=n, replace=False)
    names = []
    for p in pairs:
        first, last = _FIRST_NAMES[p // len(_LAST_NAMES)], _LAST_NAMES[p % len(_LAST_NAMES)]
        suffix = " Jr." if rng.random() < 0.04 else ""
        names.append(f"{first} {last}{suffix}")
    lookups = [player_lookup_key(x) for x in names]
    seen: dict[str, int] = {}
    uids = []
    for name in names:
        first, last = name.replace(" Jr.", "").split(" ", 1)
        stem = player_lookup_key(last)[:5] + player_lookup_key(first)[:2]
        seen[stem] = seen.get(stem, 0) + 1
        uids.append(f"{stem}{seen[stem]:02d}")
    # two players with one key get their id digits appended (the real data's rule)
    counts = pd.Series(lookups).value_counts()
    lookups = [k + u[-2:] if counts[k] > 1 else k for k, u in zip(lookups, uids)]

    slot = np.tile(np.arange(ROSTER_SIZE), len(TEAMS))
    team = np.repeat(np.arange(len(TEAMS)), ROSTER_SIZE)
    # positions: guard 0, wing 1, big 2; starters G G W W B, a balanced bench
    pos = np.concatenate(
        [
            np.concatenate([rng.permutation(_STARTER_POSITIONS), rng.permutation(_BENCH_POSITIONS)])
            for _ in TEAMS
        ]
    )
    g, w, b = pos == 0, pos == 1, pos == 2

    def by_pos(guard, wing, big):
        return np.select([g, w, b], [guard, wing, big])

    three_rate = np.clip(rng.normal(by_pos(0.46, 0.50, 0.16), by_pos(0.08, 0.08, 0.12)), 0.0, 0.8)
    return pd.DataFrame(
        {
            "team": team,
            "slot": slot,
            "pos": pos,
            "player_name": names,
            "player_lookup": lookups,
            "universal_player_id": uids,
            "usage": _USAGE[slot] * rng.lognormal(0.0, 0.08, n),
            "minute_factor": rng.lognormal(0.0, 0.05, n),
            # stars finish a little better, the end of the bench a little worse
            "efficiency": _EFFICIENCY[slot],
            "injury_prone": rng.lognormal(-0.125, 0.5, n),
            "three_rate": three_rate,
            "paint_share": np.clip(rng.normal(by_pos(0.70, 0.77, 0.93), 0.06), 0.3, 1.0),
            "p3": np.clip(rng.normal(by_pos(1.0, 1.0, 0.93), 0.08), 0.5, 1.3),  # relative to the league
            "p_paint": np.clip(rng.normal(by_pos(0.94, 0.97, 1.08), 0.05), 0.7, 1.3),
            "p_mid": np.clip(rng.normal(1.0, 0.07, n), 0.7, 1.3),
            "p_ft": np.clip(rng.normal(by_pos(0.82, 0.78, 0.69), 0.06), 0.45, 0.95),
            "fta_bias": by_pos(0.95, 0.9, 1.25) * rng.lognormal(0.0, 0.2, n),
            "tov_bias": by_pos(1.3, 0.9, 0.85) * rng.lognormal(0.0, 0.15, n),
            "oreb_bias": by_pos(0.3, 0.8, 2.3) * rng.lognormal(0.0, 0.2, n),
            "dreb_bias": by_pos(0.6, 0.9, 1.7) * rng.lognormal(0.0, 0.15, n),
            "ast_bias": by_pos(2.0, 0.8, 0.6) * rng.lognormal(0.0, 0.25, n),
        }
    )


# --------------------------------------------------------------------------------------------
# Box scores
# --------------------------------------------------------------------------------------------

# Minutes of the r-th man of the night's rotation before normalising to 240 (real medians).
_ROTATION_MINUTES = np.array(
    [36.0, 34.0, 32.0, 30.0, 27.5, 23.5, 20.0, 16.5, 12.5, 8.5, 5.5, 4.5, 4.0, 3.5, 3.0]
)
# Players who get in the game (before the roster caps it): P(8..15).
_ACTIVE_COUNT_P = np.array([0.03, 0.20, 0.31, 0.19, 0.13, 0.085, 0.045, 0.01])
_MAX_OUT = 4  # at most four players out per team-game (teams sign replacements beyond that)


def _availability(team_games: pd.DataFrame, players: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """available[tg, slot]: healthy and with the team. Injuries last runs of games; stars sit
    some second nights of back-to-backs."""
    nt, ns = len(TEAMS), ROSTER_SIZE
    prone = players["injury_prone"].to_numpy().reshape(nt, ns)
    tg = team_games.sort_values(["team", "day"])
    rows = tg.index.to_numpy().reshape(nt, GAMES_PER_TEAM)
    b2b = (tg["days_rest"].to_numpy() == 0).reshape(nt, GAMES_PER_TEAM)
    available = np.zeros((len(team_games), ns), dtype=bool)
    out_left = np.zeros((nt, ns), dtype=np.int64)
    for k in range(GAMES_PER_TEAM):
        out_now = out_left > 0
        start = ~out_now & (rng.random((nt, ns)) < 0.032 * prone)
        room = _MAX_OUT - out_now.sum(axis=1)
        # keep at most `room` new injuries per team, in random order
        order_key = np.where(start, rng.random((nt, ns)), 2.0)
        rank = np.argsort(np.argsort(order_key, axis=1), axis=1)
        start &= rank < room[:, None]
        kind = rng.random((nt, ns))
        length = np.where(
            kind < 0.55,
            rng.integers(1, 4, (nt, ns)),
            np.where(kind < 0.9, rng.integers(4, 13, (nt, ns)), rng.integers(13, 41, (nt, ns))),
        )
        out_left = np.where(start, length, out_left)
        out = out_left > 0
        rest = b2b[:, k][:, None] & (np.arange(ns) < 3)[None, :] & (rng.random((nt, ns)) < 0.12)
        rest &= (out.sum(axis=1) < _MAX_OUT)[:, None]
        available[rows[:, k]] = ~(out | rest)
        out_left = np.maximum(out_left - 1, 0)
    return available


def _seconds(weights: np.ndarray, total: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Split `total` seconds per row in proportion to weights, at most `cap` each, exactly."""
    w = weights.astype(float)
    sec = w / w.sum(axis=1, keepdims=True) * total[:, None]
    for _ in range(4):
        over = sec > cap[:, None]
        if not over.any():
            break
        excess = np.where(over, sec - cap[:, None], 0.0).sum(axis=1)
        sec = np.where(over, cap[:, None], sec)
        room = np.where(over | (w == 0), 0.0, sec)
        sec = sec + room / np.maximum(room.sum(axis=1, keepdims=True), 1e-9) * excess[:, None]
    whole = np.floor(sec).astype(np.int64)
    short = total - whole.sum(axis=1)
    frac_rank = np.argsort(np.argsort(-(sec - whole) - (w > 0), axis=1, kind="stable"), axis=1)
    whole += (frac_rank < short[:, None]) & (w > 0)
    return whole


def _multinomial(rng: np.random.Generator, n: np.ndarray, weights: np.ndarray) -> np.ndarray:
    p = weights / weights.sum(axis=1, keepdims=True)
    return rng.multinomial(n, p)


def _box_scores(schedule: pd.DataFrame, players: pd.DataFrame, season_year: int, rng: np.random.Generator):
    """Per team-game (away row then home row of each game): team frame and 15-slot stat matrices."""
    lg = _league(season_year)
    ng = len(schedule)
    nt, ns = len(TEAMS), ROSTER_SIZE
    day = np.array([(d - schedule["game_date"].iloc[0]).days for d in schedule["game_date"]])
    team = np.column_stack([schedule["away"], schedule["home"]]).ravel()
    opp = np.column_stack([schedule["home"], schedule["away"]]).ravel()
    home = np.tile([False, True], ng)
    game = np.repeat(np.arange(ng), 2)
    tg = pd.DataFrame({"game": game, "team": team, "opp": opp, "home": home, "day": np.repeat(day, 2)})
    tg["days_rest"] = tg.sort_values(["team", "day"]).groupby("team")["day"].diff().sub(1)
    n = len(tg)

    # team identities for the season
    def centred(sd):
        x = rng.normal(0.0, sd, nt)
        return x - x.mean()

    pace_t, off_t, def_t, three_t = centred(1.2), centred(0.02), centred(0.02), centred(0.03)

    # overtime periods per game and the game's pace
    u = rng.random(ng)
    ot = np.select([u < 0.001, u < 0.008, u < 0.062], [3, 2, 1], 0)
    minutes_total = np.repeat(240 + 25 * ot, 2)
    game_pace = lg.pace + pace_t[schedule["home"]] + pace_t[schedule["away"]] + rng.normal(0.0, 3.3, ng)
    target_poss = np.repeat(game_pace, 2) * minutes_total / 240.0 + rng.normal(0.0, 0.7, n)

    # who is in uniform and who plays
    slot_skill = {
        c: players[c].to_numpy().reshape(nt, ns)[team] for c in players.columns if players[c].dtype != object
    }
    available = _availability(tg, players, rng)
    order_key = np.where(available, np.arange(ns)[None, :] + rng.normal(0.0, 0.45, (n, ns)), np.inf)
    rank = np.argsort(np.argsort(order_key, axis=1, kind="stable"), axis=1)  # rotation rank of each slot
    listed = available.sum(axis=1)
    k_active = np.minimum(8 + rng.choice(len(_ACTIVE_COUNT_P), size=n, p=_ACTIVE_COUNT_P), listed)
    active = available & (rank < k_active[:, None])
    starter = available & (rank < 5)
    # now and then the last man in gets in for 0:00 (active, no minutes, NULL usage)
    last_man = rank == k_active[:, None] - 1
    zero_minutes = active & last_man & ((k_active >= 11) & (rng.random(n) < 0.003))[:, None]

    rot_minutes = _ROTATION_MINUTES[np.minimum(rank, ns - 1)]
    blowout = (k_active >= 12)[:, None]
    rot_minutes = np.where(blowout & (rank < 5), rot_minutes * 0.9, rot_minutes)
    noise = rng.lognormal(0.0, np.where(rank < 5, 0.1, np.where(rank < 9, 0.22, 0.4)))
    weights = np.where(active & ~zero_minutes, rot_minutes * slot_skill["minute_factor"] * noise, 0.0)
    seconds = _seconds(weights, minutes_total * 60, (46.0 + 5 * np.repeat(ot, 2)) * 60.0)

    # team volume from possessions: each possession ends in a turnover, free throws or a first
    # shot; offensive rebounds of misses give extra shots, so FGA - OREB + TOV + 0.44 FTA = poss.
    mins = seconds / 60.0
    usage = slot_skill["usage"]
    tov_t = rng.poisson(lg.tov * target_poss / 99.0)
    whistle = np.repeat(rng.gamma(20.0, 1.0 / 20.0, ng), 2)  # the crew's whistle, shared by both teams
    fta_t = rng.poisson(lg.fta * whistle * target_poss / 99.0)
    first_shots = np.maximum(np.round(target_poss - tov_t - 0.44 * fta_t).astype(np.int64), 50)
    fta = _multinomial(rng, fta_t, mins * usage * slot_skill["fta_bias"])
    tov = _multinomial(rng, tov_t, mins * usage**0.7 * slot_skill["tov_bias"])
    ftm = rng.binomial(fta, np.clip(slot_skill["p_ft"] * (lg.p_ft / 0.765), 0.0, 0.98))

    three_rate = np.clip(slot_skill["three_rate"] * (lg.three_rate / 0.399) + three_t[team][:, None], 0, 0.9)
    shoot = (1.0 + off_t[team] - def_t[opp] + np.where(home, 0.012, -0.012))[:, None]
    shoot = shoot * slot_skill["efficiency"]
    p3 = np.clip(lg.p3 * slot_skill["p3"] * shoot, 0.0, 0.95)
    p_paint = np.clip(lg.p_paint * slot_skill["p_paint"] * shoot, 0.0, 0.95)
    p_mid = np.clip(lg.p_mid * slot_skill["p_mid"] * shoot, 0.0, 0.95)
    zeros = np.zeros((n, ns), dtype=np.int64)
    fga, tpa, paint_a, mid_a, tpm, paint_m, mid_m, oreb = (zeros.copy() for _ in range(8))
    shots = first_shots
    for put_back in range(4):  # first shots, then shots after offensive rebounds (three rounds)
        f = _multinomial(rng, shots, mins * usage)
        t = rng.binomial(f, three_rate)
        pa_ = rng.binomial(f - t, slot_skill["paint_share"])
        ma = f - t - pa_
        tm, pm, mm = rng.binomial(t, p3), rng.binomial(pa_, p_paint), rng.binomial(ma, p_mid)
        fga += f
        tpa += t
        paint_a += pa_
        mid_a += ma
        tpm += tm
        paint_m += pm
        mid_m += mm
        if put_back < 3:
            misses = (f - tm - pm - mm).sum(axis=1)
            shots = rng.binomial(misses, lg.oreb_rate)
            oreb += _multinomial(rng, shots, mins * slot_skill["oreb_bias"])

    # break ties at the buzzer with one more free throw by the team's main option
    pts_t = (2 * (paint_m + mid_m + tpm) + tpm + ftm).sum(axis=1)
    tied = pts_t[0::2] == pts_t[1::2]
    side = rng.integers(0, 2, ng)
    bump = np.repeat(tied, 2) & (np.tile([0, 1], ng) == np.repeat(side, 2))
    top = np.argmax(np.where(active & ~zero_minutes, usage * mins, -1.0), axis=1)
    fta[bump, top[bump]] += 1
    ftm[bump, top[bump]] += 1

    fgm = paint_m + mid_m + tpm
    pts = 2 * fgm + tpm + ftm
    opp_row = np.arange(n) ^ 1  # the other row of the same game
    missed_last_ft = np.round((fta - ftm).sum(axis=1) * 0.45).astype(np.int64)
    opp_miss = ((fga - fgm).sum(axis=1) + missed_last_ft)[opp_row]
    dreb_t = rng.binomial(np.maximum(opp_miss - oreb.sum(axis=1)[opp_row], 0), 0.86)
    dreb = _multinomial(rng, dreb_t, mins * slot_skill["dreb_bias"])
    ast_t = rng.binomial(fgm.sum(axis=1), 0.61)
    ast = _multinomial(rng, ast_t, mins * usage * slot_skill["ast_bias"])

    stats = {
        "seconds": seconds, "points": pts, "fg_makes": fgm, "fg_attempts": fga, "three_pt_makes": tpm,
        "three_pt_attempts": tpa, "ft_makes": ftm, "ft_attempts": fta, "offensive_rebounds": oreb,
        "defensive_rebounds": dreb, "assists": ast, "turnovers": tov, "paint_makes": paint_m,
        "paint_attempts": paint_a, "mid_range_makes": mid_m, "mid_range_attempts": mid_a,
    }
    for v in stats.values():
        v[~active] = 0
    return tg, stats, available, active, starter


# --------------------------------------------------------------------------------------------
# Upcoming contexts, derived from history as shared/data/README.md describes
# --------------------------------------------------------------------------------------------

_DAY_BITS = 1 << 20  # day numbers (days since 1970) fit in 20 bits until 4840


def _day_numbers(values) -> np.ndarray:
    return pd.to_datetime(pd.Series(values)).to_numpy().astype("datetime64[D]").astype(np.int64)


def _lookback(group: np.ndarray, lags: int) -> tuple[np.ndarray, np.ndarray]:
    """For rows sorted by group: indices of the `lags` previous rows and whether each is in the group."""
    i = np.arange(len(group))[:, None]
    idx = i - np.arange(1, lags + 1)[None, :]
    safe = np.maximum(idx, 0)
    return safe, (idx >= 0) & (group[safe] == group[:, None])


def _days_rest_by_team_game(schedule: pd.DataFrame) -> pd.DataFrame:
    """Per (game_id, team): days since the team's previous game - 1 from the schedule."""
    sched = schedule.loc[schedule["is_regular_season"].astype(bool)]
    rows = pd.concat(
        [
            pd.DataFrame({"game_id": sched["game_id"], "team_abbr": sched["away_team_abbr"],
                          "season_year": sched["season_year"], "day": _day_numbers(sched["game_date"])}),
            pd.DataFrame({"game_id": sched["game_id"], "team_abbr": sched["home_team_abbr"],
                          "season_year": sched["season_year"], "day": _day_numbers(sched["game_date"])}),
        ],
        ignore_index=True,
    ).sort_values(["season_year", "team_abbr", "day"], kind="stable")
    rows["days_rest"] = rows.groupby(["season_year", "team_abbr"])["day"].diff().sub(1).astype("Int64")
    return rows[["game_id", "team_abbr", "days_rest"]]


def _team_window_mean(team_keys: np.ndarray, team_days: np.ndarray, values: np.ndarray,
                      q_keys: np.ndarray, q_days: np.ndarray, games: int) -> np.ndarray:
    """Mean of `values` over each query team's last `games` games dated before the query day."""
    order = np.lexsort((team_days, team_keys))
    k, d, v = team_keys[order], team_days[order], values[order]
    composite = k * _DAY_BITS + d
    pos = np.searchsorted(composite, q_keys * _DAY_BITS + q_days, side="left")
    idx = pos[:, None] - np.arange(1, games + 1)[None, :]
    safe = np.clip(idx, 0, max(len(k) - 1, 0))
    ok = (idx >= 0) & (k[safe] == q_keys[:, None]) & ~np.isnan(v[safe])
    total = np.where(ok, v[safe], 0.0).sum(axis=1)
    count = ok.sum(axis=1)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def derive_upcoming_player_game_context(
    schedule: pd.DataFrame, player_game_summary: pd.DataFrame, team_offense: pd.DataFrame,
    processed_at: pd.Timestamp,
) -> pd.DataFrame:
    """UPCG reconstructed from history (shared/data/README.md): one row per player who played on
    D, in box-score order, every feature from his games of the same season dated before D."""
    pgs = player_game_summary.loc[player_game_summary["is_active"].astype(bool)]
    p = pd.DataFrame(
        {
            "player_lookup": pgs["player_lookup"].to_numpy(),
            "game_id": pgs["game_id"].to_numpy(),
            "game_date": pgs["game_date"].to_numpy(),
            "season_year": pgs["season_year"].astype("int64").to_numpy(),
            "team_abbr": pgs["team_abbr"].to_numpy(),
            "opponent_team_abbr": pgs["opponent_team_abbr"].to_numpy(),
            "home_game": pgs["home_game"].astype(bool).to_numpy(),
            "day": _day_numbers(pgs["game_date"]),
            "minutes": pgs["minutes_played"].astype(float).to_numpy(),
            "usage": pgs["usage_rate"].astype(float).to_numpy(),
            "out_pos": np.arange(len(pgs)),
        }
    )
    p = p.sort_values(["season_year", "player_lookup", "day"], kind="stable").reset_index(drop=True)
    group = p.groupby(["season_year", "player_lookup"], sort=False).ngroup().to_numpy()
    day = p["day"].to_numpy()
    minutes = np.nan_to_num(p["minutes"].to_numpy())
    usage = p["usage"].to_numpy()

    idx, same = _lookback(group, 14)  # one game a day at most: 14 lags cover 14 days
    lag_day = np.where(same, day[idx], -1)
    prev_day = lag_day[:, 0]
    has_prev = same[:, 0]
    days_rest = pd.array(np.where(has_prev, day - prev_day - 1, 0), dtype="Int64")
    days_rest[~has_prev] = pd.NA
    in7 = same & (lag_day >= day[:, None] - 7)
    in14 = same & (lag_day >= day[:, None] - 14)
    games7, games14 = in7.sum(axis=1), in14.sum(axis=1)
    min7 = np.where(in7, minutes[idx], 0.0).sum(axis=1)
    min14 = np.where(in14, minutes[idx], 0.0).sum(axis=1)
    b2b_flag = has_prev & (prev_day == day - 1)  # this game and his previous one are consecutive days
    b2b14 = (same & (lag_day >= day[:, None] - 13) & b2b_flag[idx]).sum(axis=1)

    def usage_mean(n):
        take = same[:, :n] & ~np.isnan(usage[idx[:, :n]])
        count = take.sum(axis=1)
        total = np.where(take, usage[idx[:, :n]], 0.0).sum(axis=1)
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)

    # team pace context from the offense summaries
    tog = team_offense
    teams = np.array(
        sorted(set(tog["team_abbr"]) | set(p["team_abbr"]) | set(p["opponent_team_abbr"])), dtype=str
    )
    season0 = int(min(tog["season_year"].min(), p["season_year"].min())) if len(tog) else 0

    def key(season, team):
        return (np.asarray(season, dtype=np.int64) - season0) * len(teams) + np.searchsorted(
            teams, np.asarray(team, dtype=str)
        )

    t_keys = key(tog["season_year"].astype("int64").to_numpy(), tog["team_abbr"].to_numpy())
    t_days = _day_numbers(tog["game_date"])
    t_pace = tog["pace"].astype(float).to_numpy()
    q_season = p["season_year"].to_numpy()
    own_key = key(q_season, p["team_abbr"].to_numpy())
    opp_key = key(q_season, p["opponent_team_abbr"].to_numpy())
    own_pace10 = _team_window_mean(t_keys, t_days, t_pace, own_key, day, 10)
    opp_pace10 = _team_window_mean(t_keys, t_days, t_pace, opp_key, day, 10)
    # league mean pace over games dated D-30..D-1
    by_day = np.argsort(t_days, kind="stable")
    sd, sp = t_days[by_day], t_pace[by_day]
    league = {}
    for d in np.unique(day):
        lo, hi = np.searchsorted(sd, d - 30, "left"), np.searchsorted(sd, d, "left")
        vals = sp[lo:hi]
        vals = vals[~np.isnan(vals)]
        league[d] = vals.mean() if len(vals) else np.nan
    league_pace = np.array([league[d] for d in day])
    pace_diff = (own_pace10 + opp_pace10) / 2.0 - league_pace

    # season phase from the schedule's opener and last regular-season date
    sched = schedule.loc[schedule["is_regular_season"].astype(bool)]
    bounds = pd.DataFrame({"s": sched["season_year"].astype("int64"), "d": _day_numbers(sched["game_date"])})
    bounds = bounds.groupby("s")["d"].agg(["min", "max"])
    opener = bounds["min"].reindex(q_season).to_numpy()
    last = bounds["max"].reindex(q_season).to_numpy()
    phase = np.where(day - opener < 30, "early", np.where(last - day < 30, "late", "mid"))

    rest = _days_rest_by_team_game(schedule).rename(
        columns={"team_abbr": "opponent_team_abbr", "days_rest": "opponent_days_rest"}
    )
    out = pd.DataFrame(
        {
            "player_lookup": p["player_lookup"],
            "game_id": p["game_id"],
            "game_date": p["game_date"],
            "team_abbr": p["team_abbr"],
            "opponent_team_abbr": p["opponent_team_abbr"],
            "home_game": p["home_game"],
            "back_to_back": b2b_flag,
            "season_phase": phase,
            "days_rest": days_rest,
            "games_in_last_7_days": games7,
            "games_in_last_14_days": games14,
            "minutes_in_last_7_days": min7,
            "minutes_in_last_14_days": min14,
            "avg_minutes_per_game_last_7": np.where(games7 > 0, min7 / np.maximum(games7, 1), np.nan),
            "back_to_backs_last_14_days": b2b14,
            "projected_usage_rate": usage_mean(10),
            "avg_usage_rate_last_7_games": usage_mean(7),
            "pace_differential": pace_diff,
            "opponent_pace_last_10": opp_pace10,
            "player_status": "available",
            "out_pos": p["out_pos"],
        }
    )
    out = out.merge(rest, on=["game_id", "opponent_team_abbr"], how="left")
    out = out.sort_values("out_pos", kind="stable")
    out["processed_at"] = processed_at
    return contract_frame(UPCOMING_PLAYER_GAME_CONTEXT, out)


def derive_upcoming_team_game_context(schedule: pd.DataFrame, processed_at: pd.Timestamp) -> pd.DataFrame:
    """UTGC from the schedule: one row per team per game (away first), rest days from the
    schedule (NULL for a team's first game), no betting lines."""
    sched = schedule.loc[schedule["is_regular_season"].astype(bool)].reset_index(drop=True)
    n = len(sched)
    away = sched["away_team_abbr"].to_numpy()
    home = sched["home_team_abbr"].to_numpy()
    out = pd.DataFrame(
        {
            "team_abbr": np.column_stack([away, home]).ravel(),
            "game_id": np.repeat(sched["game_id"].to_numpy(), 2),
            "game_date": np.repeat(sched["game_date"].to_numpy(), 2),
            "opponent_team_abbr": np.column_stack([home, away]).ravel(),
            "home_game": np.tile([False, True], n),
        }
    )
    rest = _days_rest_by_team_game(sched)
    out = out.merge(rest, on=["game_id", "team_abbr"], how="left")
    out = out.merge(
        rest.rename(columns={"team_abbr": "opponent_team_abbr", "days_rest": "opponent_days_rest"}),
        on=["game_id", "opponent_team_abbr"], how="left",
    )
    out["processed_at"] = processed_at
    return contract_frame(UPCOMING_TEAM_GAME_CONTEXT, out)


# --------------------------------------------------------------------------------------------
# Contract frames and Parquet
# --------------------------------------------------------------------------------------------

_ARROW_TYPES = {
    STRING: pa.string(),
    DATE: pa.date32(),
    INT64: pa.int64(),
    FLOAT64: pa.float64(),
    BOOL: pa.bool_(),
    TIMESTAMP: pa.timestamp("us", tz="UTC"),
}


def arrow_schema(table: Table) -> pa.Schema:
    """The exact Parquet/Arrow schema of a contract table."""
    return pa.schema([pa.field(name, _ARROW_TYPES[typ]) for name, typ in table.columns])


def contract_frame(table: Table, frame: pd.DataFrame) -> pd.DataFrame:
    """The contract's columns in order, typed like pandas reads the real Parquet files: DATE as
    datetime.date objects, INT64 as Int64, FLOAT64 float64, BOOL bool, STRING object,
    TIMESTAMP datetime64[us, UTC]. Missing columns become all NULL."""
    n = len(frame)
    out = {}
    for name, typ in table.columns:
        values = frame[name] if name in frame.columns else pd.Series([None] * n, index=frame.index)
        values = values.reset_index(drop=True)
        if typ == INT64:
            out[name] = pd.array(values, dtype="Int64")
        elif typ == FLOAT64:
            out[name] = pd.to_numeric(values, errors="coerce").astype("float64")
        elif typ == BOOL:
            out[name] = values.astype(bool).to_numpy()
        elif typ == DATE:
            out[name] = pd.Series(pd.to_datetime(values).dt.date, dtype=object)
        elif typ == TIMESTAMP:
            out[name] = pd.to_datetime(values, utc=True).astype("datetime64[us, UTC]")
        else:
            out[name] = pd.Series([None if v is None or v is pd.NA else str(v) for v in values], dtype=object)
    return pd.DataFrame(out)


# --------------------------------------------------------------------------------------------
# The season
# --------------------------------------------------------------------------------------------


def _resolve_scenario(scenario: str | None, season_year: int, zones: bool) -> tuple[Scenario | None, bool]:
    if scenario is None:
        return None, zones
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown demo scenario {scenario!r}; known: {', '.join(sorted(SCENARIOS))}")
    sc = SCENARIOS[scenario]
    if sc.season_year is not None and sc.season_year != season_year:
        raise ValueError(f"scenario {scenario!r} needs season_year {sc.season_year}, got {season_year}")
    return sc, zones if sc.zones is None else sc.zones


def generate_season(
    season_year: int = 2021, seed: int = 0, scenario: str | None = None, zones: bool = True
) -> dict[str, pd.DataFrame]:
    """The six Phase 3 tables of a synthetic regular season, keyed by table fqn.

    Deterministic in (season_year, seed, scenario, zones). `zones=False` leaves every paint and
    mid-range column NULL (a season without shot-chart data)."""
    sc, zones = _resolve_scenario(scenario, season_year, zones)
    streams = np.random.SeedSequence([season_year, seed]).spawn(3)
    rng_schedule, rng_players, rng_box = (np.random.default_rng(s) for s in streams)

    sched = _schedule(season_year, rng_schedule)
    players = _players(rng_players)
    tg, st, available, active, starter = _box_scores(sched, players, season_year, rng_box)
    last_day = sched["game_date"].max()
    processed_at = pd.Timestamp(dt.datetime.combine(last_day, dt.time(12)), tz="UTC")
    team_abbr = np.array(TEAMS)
    game_ids = sched["game_id"].to_numpy()
    game_dates = sched["game_date"].to_numpy()

    schedule = contract_frame(
        SCHEDULE,
        pd.DataFrame(
            {
                "game_id": game_ids,
                "game_date": game_dates,
                "season_year": season_year,
                "home_team_abbr": team_abbr[sched["home"]],
                "away_team_abbr": team_abbr[sched["away"]],
                "game_status": 3,
                "is_regular_season": True,
                "is_playoffs": False,
            }
        ),
    )

    # ---- team totals
    def team_sum(name):
        return st[name].sum(axis=1)

    seconds_t = team_sum("seconds")
    team_minutes = seconds_t / 60.0
    points_t = team_sum("points")
    poss = np.round(
        team_sum("fg_attempts") - team_sum("offensive_rebounds") + team_sum("turnovers")
        + 0.44 * team_sum("ft_attempts")
    ).astype(float)
    other = np.arange(len(tg)) ^ 1
    pace = 48.0 * ((poss + poss[other]) / 2.0) / (team_minutes / 5.0)
    tgi = tg["game"].to_numpy()
    togs = contract_frame(
        TEAM_OFFENSE_GAME_SUMMARY,
        pd.DataFrame(
            {
                "game_id": game_ids[tgi],
                "game_date": game_dates[tgi],
                "season_year": season_year,
                "team_abbr": team_abbr[tg["team"]],
                "opponent_team_abbr": team_abbr[tg["opp"]],
                "home_game": tg["home"],
                "win_flag": points_t > points_t[other],
                "points": points_t,
                "possessions": poss,
                "pace": pace,
                "offensive_rating": 100.0 * points_t / poss,
                "processed_at": processed_at,
            }
        ),
    )
    paint_m, mid_m = team_sum("paint_makes")[other], team_sum("mid_range_makes")[other]

    def zone(values):
        return values if zones else np.full(len(values), pd.NA, dtype=object)

    tdgs = contract_frame(
        TEAM_DEFENSE_GAME_SUMMARY,
        pd.DataFrame(
            {
                "game_id": game_ids[tgi],
                "game_date": game_dates[tgi],
                "season_year": season_year,
                "defending_team_abbr": team_abbr[tg["team"]],
                "opponent_team_abbr": team_abbr[tg["opp"]],
                "points_allowed": points_t[other],
                "defensive_rating": 100.0 * points_t[other] / poss[other],
                "opponent_pace": pace,
                "opp_paint_makes": zone(paint_m),
                "opp_paint_attempts": zone(team_sum("paint_attempts")[other]),
                "opp_mid_range_makes": zone(mid_m),
                "opp_mid_range_attempts": zone(team_sum("mid_range_attempts")[other]),
                "opp_three_pt_makes": team_sum("three_pt_makes")[other],
                "opp_three_pt_attempts": team_sum("three_pt_attempts")[other],
                "points_in_paint_allowed": zone(2 * paint_m),
                "mid_range_points_allowed": zone(2 * mid_m),
                "three_pt_points_allowed": 3 * team_sum("three_pt_makes")[other],
                "processed_at": processed_at,
            }
        ),
    )

    # ---- player rows: listed players of each team-game in box-score order
    ns = available.shape[1]
    row, slot = np.nonzero(available)
    minutes = st["seconds"] / 60.0
    # starters first, then bench by minutes, DNPs last (stable on slot)
    sort_key = np.where(starter, 0, np.where(active, 1, 2))
    order = np.lexsort((slot, -minutes[row, slot], sort_key[row, slot], row))
    row, slot = row[order], slot[order]
    pidx = tg["team"].to_numpy()[row] * ns + slot
    act = active[row, slot]
    mins = minutes[row, slot]

    def stat(name):
        v = pd.array(st[name][row, slot], dtype="Int64")
        v[~act] = pd.NA
        return v

    fga, fta, tov = (st[c][row, slot] for c in ("fg_attempts", "ft_attempts", "turnovers"))
    plays_t = team_sum("fg_attempts") + 0.44 * team_sum("ft_attempts") + team_sum("turnovers")
    with np.errstate(divide="ignore", invalid="ignore"):
        usage = 100.0 * ((fga + 0.44 * fta + tov) * (team_minutes[row] / 5.0)) / (mins * plays_t[row])
        ts_den = 2.0 * (fga + 0.44 * fta)
        ts = st["points"][row, slot] / ts_den
    usage = np.where(act & (mins > 0), usage, np.nan)
    ts = np.where(act & (ts_den > 0), ts, np.nan)
    pg = {
        "player_lookup": players["player_lookup"].to_numpy()[pidx],
        "universal_player_id": players["universal_player_id"].to_numpy()[pidx],
        "player_name": players["player_name"].to_numpy()[pidx],
        "game_id": game_ids[tgi[row]],
        "game_date": game_dates[tgi[row]],
        "season_year": season_year,
        "team_abbr": team_abbr[tg["team"].to_numpy()[row]],
        "opponent_team_abbr": team_abbr[tg["opp"].to_numpy()[row]],
        "home_game": tg["home"].to_numpy()[row],
        "starter": starter[row, slot],
        "is_active": act,
        "is_dnp": ~act,
        "minutes_played": np.where(act, mins, np.nan),
        "usage_rate": usage,
        "ts_pct": ts,
        "processed_at": processed_at,
    }
    for name in ("points", "fg_makes", "fg_attempts", "three_pt_makes", "three_pt_attempts", "ft_makes",
                 "ft_attempts", "offensive_rebounds", "defensive_rebounds", "assists", "turnovers"):
        pg[name] = stat(name)
    if zones:
        for name in ("paint_makes", "paint_attempts", "mid_range_makes", "mid_range_attempts"):
            pg[name] = stat(name)
    pgs = contract_frame(PLAYER_GAME_SUMMARY, pd.DataFrame(pg))

    upcg = derive_upcoming_player_game_context(schedule, pgs, togs, processed_at)
    utgc = derive_upcoming_team_game_context(schedule, processed_at)
    if sc is not None and sc.drop_upcoming_team_dates:
        utgc = utgc.loc[~utgc["game_date"].isin(set(sc.drop_upcoming_team_dates))].reset_index(drop=True)

    frames = {
        SCHEDULE.fqn: schedule,
        PLAYER_GAME_SUMMARY.fqn: pgs,
        TEAM_OFFENSE_GAME_SUMMARY.fqn: togs,
        TEAM_DEFENSE_GAME_SUMMARY.fqn: tdgs,
        UPCOMING_PLAYER_GAME_CONTEXT.fqn: upcg,
        UPCOMING_TEAM_GAME_CONTEXT.fqn: utgc,
    }
    return {t.fqn: frames[t.fqn] for t in PHASE3_TABLES}


def write_frames(frames: dict[str, pd.DataFrame], out_dir: str | Path) -> list[Path]:
    """Write contract frames as a Phase 3 folder: one zstd Parquet file per table, exact schema,
    deterministic bytes (one row group, fixed compression level, no wall-clock metadata)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for table in PHASE3_TABLES:
        frame = contract_frame(table, frames[table.fqn])
        arrow = pa.Table.from_pandas(frame, schema=arrow_schema(table), preserve_index=False)
        path = out / file_name(table)
        pq.write_table(
            arrow,
            path,
            compression="zstd",
            compression_level=3,
            row_group_size=max(len(frame), 1),
            use_dictionary=True,
            write_statistics=True,
        )
        paths.append(path)
    return paths


def write_season(
    out_dir: str | Path, season_year: int = 2021, seed: int = 0, scenario: str | None = None,
    zones: bool = True,
) -> list[Path]:
    """Generate a season and write its six `<dataset>.<table>.parquet` files into out_dir."""
    return write_frames(generate_season(season_year, seed, scenario, zones), out_dir)
