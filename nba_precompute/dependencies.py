"""Dependency rules (PRECOMPUTE.md §5) as data, and their evaluation for many dates at once.

A rule counts something in one upstream table for date D and compares it with a requirement
that may depend on the slate size N(D), the teams playing T(D) and the settings. Rules are
evaluated in every mode (a daily run and a backfill are the same code path). Pure pandas.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from nba_precompute.failures import missing_dependency_clause
from nba_precompute.features.windows import played_games
from nba_precompute.phase3.contract import (
    PLAYER_GAME_SUMMARY,
    TEAM_OFFENSE_GAME_SUMMARY,
    UPCOMING_PLAYER_GAME_CONTEXT,
    Table,
)
from nba_precompute.season import SeasonCalendar, to_datetime
from nba_precompute.settings import SETTINGS, Settings

LOOKBACK, DATE_MATCH = "lookback", "date_match"


@dataclass(frozen=True)
class RuleContext:
    """What rules count over: the per-date calendar frame (with N and T) and the input frames."""

    days: pd.DataFrame  # analysis_date, season_year, days, teams (T), slate (N)
    inputs: dict[str, pd.DataFrame]  # by table fqn
    calendar: SeasonCalendar
    settings: Settings


@dataclass(frozen=True)
class Rule:
    """One rule of §5, declared by its asset (features/<module>.py); numbered across assets."""

    number: int
    upstream: Table
    kind: str
    counted: str
    count: Callable[[RuleContext], np.ndarray]
    required: Callable[[pd.DataFrame, Settings], np.ndarray]


# --- counters ---------------------------------------------------------------------------------
def _nth_game_dates(games: pd.DataFrame, entity: str, n: int) -> pd.DataFrame:
    """Per (entity, season_year): the date of its n-th game (entities with fewer are absent)."""
    g = games.sort_values([entity, "season_year", "game_date"], kind="mergesort")
    nth = g.groupby([entity, "season_year"]).nth(n - 1)
    return nth[[entity, "season_year", "game_date"]].rename(columns={"game_date": "nth_date"})


def entities_with_history(table: str, entity: str, min_games: Callable[[Settings, int], int]):
    """Count entities of season s(D) with >= min_games(settings, days(D)) games this season before D
    (the settings of the evaluation, so an override of the ramp applies)."""

    def count(ctx: RuleContext) -> np.ndarray:
        games = ctx.inputs[table]
        if table == PLAYER_GAME_SUMMARY.fqn:
            games = played_games(games)
        games = games.assign(game_date=to_datetime(games["game_date"]))
        days = ctx.days
        need = np.array([min_games(ctx.settings, int(d)) if pd.notna(d) else 0 for d in days["days"]])
        found = np.zeros(len(days), dtype=np.int64)
        for n in np.unique(need[need > 0]):
            nth = _nth_game_dates(games, entity, int(n))
            for season, group in nth.groupby("season_year"):
                sorted_dates = np.sort(group["nth_date"].to_numpy(dtype="datetime64[ns]"))
                mask = (need == n) & (days["season_year"].to_numpy(dtype="float64") == float(season))
                found[mask] = np.searchsorted(
                    sorted_dates, days.loc[mask, "analysis_date"].to_numpy(dtype="datetime64[ns]"), side="left"
                )
        return found

    return count


def slate_players_with_games(min_games: str):
    """Count slate players of D with >= settings.<min_games> played games this season before D."""

    def count(ctx: RuleContext) -> np.ndarray:
        games = played_games(ctx.inputs[PLAYER_GAME_SUMMARY.fqn])
        games = games.assign(game_date=to_datetime(games["game_date"]))
        nth = _nth_game_dates(games, "player_lookup", getattr(ctx.settings, min_games))
        slate = _slate_pairs(ctx)
        pairs = slate.merge(nth, on=["player_lookup", "season_year"], how="inner")
        ok = pairs[pairs["nth_date"] < pairs["analysis_date"]]
        return _per_date(ok.groupby("analysis_date")["player_lookup"].nunique(), ctx)

    return count


def teams_on_date_with_games(ctx: RuleContext) -> np.ndarray:
    togs = ctx.inputs[TEAM_OFFENSE_GAME_SUMMARY.fqn]
    togs = togs.assign(game_date=to_datetime(togs["game_date"]))
    first = _nth_game_dates(togs, "team_abbr", 1)
    teams = ctx.calendar.teams_by_date.rename(columns={"game_date": "analysis_date"})
    teams = teams.merge(ctx.days[["analysis_date", "season_year"]], on="analysis_date")
    pairs = teams.merge(first, on=["team_abbr", "season_year"], how="inner")
    ok = pairs[pairs["nth_date"] < pairs["analysis_date"]]
    return _per_date(ok.groupby("analysis_date")["team_abbr"].nunique(), ctx)


def distinct_on_date(table: str, column: str, date_column: str = "game_date"):
    def count(ctx: RuleContext) -> np.ndarray:
        frame = ctx.inputs[table]
        dates = to_datetime(frame[date_column])
        return _per_date(frame.groupby(dates)[column].nunique(), ctx)

    return count


def rows_on_date(table: str):
    def count(ctx: RuleContext) -> np.ndarray:
        frame = ctx.inputs[table]
        return _per_date(to_datetime(frame["analysis_date"]).value_counts(), ctx)

    return count


def _slate_pairs(ctx: RuleContext) -> pd.DataFrame:
    upcg = ctx.inputs[UPCOMING_PLAYER_GAME_CONTEXT.fqn]
    slate = pd.DataFrame(
        {"analysis_date": to_datetime(upcg["game_date"]), "player_lookup": upcg["player_lookup"]}
    ).drop_duplicates()
    return slate.merge(ctx.days[["analysis_date", "season_year"]], on="analysis_date")


def _per_date(counts: pd.Series, ctx: RuleContext) -> np.ndarray:
    counts.index = to_datetime(counts.index)
    return counts.reindex(ctx.days["analysis_date"]).fillna(0).astype(np.int64).to_numpy()


# --- requirements -----------------------------------------------------------------------------
def const(name: str):
    return lambda days, s: np.full(len(days), getattr(s, name), dtype=np.int64)


def slate_ratio(ratio_name: str):
    return lambda days, s: np.array(
        [max(1, math.ceil(getattr(s, ratio_name) * n)) for n in days["slate"]], dtype=np.int64
    )


def teams_ratio(days, s):
    return np.array([math.ceil(s.dep_ratio * t) for t in days["teams"]], dtype=np.int64)


def players_per_team(days, s):
    return (s.upcg_min_players_per_team * days["teams"]).to_numpy(dtype=np.int64)


def slate_sizes(upcg: pd.DataFrame, dates: pd.DatetimeIndex) -> np.ndarray:
    """N(D): distinct player_lookup on UPCG at D."""
    counts = upcg.groupby(to_datetime(upcg["game_date"]))["player_lookup"].nunique()
    counts.index = to_datetime(counts.index)
    return counts.reindex(dates).fillna(0).astype(np.int64).to_numpy()


def evaluate(rules: Sequence[Rule], days: pd.DataFrame, inputs: dict[str, pd.DataFrame], calendar: SeasonCalendar,
             settings: Settings = SETTINGS) -> pd.DataFrame:
    """One row per (date, rule): found, required, ok and the failure clause (when not ok).

    `days` is calendar.frame(dates) for the dates that reached the dependency step; it gains a
    `slate` column (N) when UPCG is among the inputs.
    """
    days = days.reset_index(drop=True).copy()
    upcg = inputs.get(UPCOMING_PLAYER_GAME_CONTEXT.fqn)
    days["slate"] = slate_sizes(upcg, pd.DatetimeIndex(days["analysis_date"])) if upcg is not None else 0
    ctx = RuleContext(days, inputs, calendar, settings)
    parts = []
    for rule in rules:
        found = rule.count(ctx) if len(days) else np.zeros(0, dtype=np.int64)
        required = rule.required(days, settings) if len(days) else np.zeros(0, dtype=np.int64)
        parts.append(
            pd.DataFrame(
                {
                    "analysis_date": days["analysis_date"].to_numpy(),
                    "rule": rule.number,
                    "upstream": rule.upstream.fqn,
                    "kind": rule.kind,
                    "found": found,
                    "required": required,
                }
            )
        )
    if not parts:
        return pd.DataFrame(columns=["analysis_date", "rule", "upstream", "kind", "found", "required", "ok", "clause"])
    out = pd.concat(parts, ignore_index=True)
    out["ok"] = out["found"] >= out["required"]
    out["clause"] = [
        None if ok else missing_dependency_clause(up, d, f, r)
        for ok, up, d, f, r in zip(out["ok"], out["upstream"], out["analysis_date"], out["found"], out["required"])
    ]
    return out.sort_values(["analysis_date", "rule"]).reset_index(drop=True)


def failure_reasons(verdicts: pd.DataFrame) -> pd.Series:
    """Per failing date: the clauses of its failing rules, in table order, joined by '; '."""
    failing = verdicts[~verdicts["ok"]]
    return failing.groupby("analysis_date")["clause"].agg("; ".join)


def verdict_records(asset: str, verdicts: pd.DataFrame) -> pd.DataFrame:
    """The rows of nba_processing.precompute_dependency_checks for `verdicts` (evaluate's frame)."""
    if not len(verdicts):
        return pd.DataFrame(columns=VERDICT_COLUMNS)
    return pd.DataFrame({
        "processor_name": asset,
        "analysis_date": to_datetime(verdicts["analysis_date"]),
        "rule_number": verdicts["rule"].astype("int64"),
        "upstream_table": verdicts["upstream"].astype(object),
        "kind": verdicts["kind"].astype(object),
        "found": verdicts["found"].astype("int64"),
        "required": verdicts["required"].astype("int64"),
        "passed": verdicts["ok"].astype(bool),
    })[VERDICT_COLUMNS]


VERDICT_COLUMNS = ["processor_name", "analysis_date", "rule_number", "upstream_table", "kind", "found", "required", "passed"]
