"""The integrity contract of a Phase 3 folder (shared/spec/PHASE3.md §Integrity) as pure functions.

Each rule takes contract-typed frames and returns `Violation`s (data, never prose parsed back):
the file or table, the column, how many rows break the rule, and the first offending row's key
and date. `check_folder` runs every rule over the six tables of a folder; the loader refuses the
folder when the list is not empty and writes nothing.

The plausibility bounds (rule 6) are data: `integrity.yaml` next to this module holds the
defaults; a deployment file named in NBA_PRECOMPUTE_INTEGRITY_CONFIG is merged over it.

Decisions where the spec is silent:
- "DNP row" for rule 2 = is_dnp TRUE or is_active FALSE (the flags are themselves never NULL).
- UPCG team_abbr / opponent_team_abbr may be NULL: PRECOMPUTE.md §7.3-7.5 define that case as a
  MISSING_DATA entity failure. A non-NULL one must still be one of the game's two teams.
- A row's team and opponent must differ; a row's season_year must equal its game's season_year.
- Besides makes <= attempts, three-pointers and the assisted / unassisted split never exceed the
  field goals (a three is a field goal).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
import pandas as pd
import yaml

from nba_precompute.failures import error_cause
from nba_precompute.phase3.contract import (
    PHASE3_BY_FQN,
    PHASE3_TABLES,
    PLAYER_GAME_SUMMARY,
    SCHEDULE,
    TEAM_DEFENSE_GAME_SUMMARY,
    TEAM_OFFENSE_GAME_SUMMARY,
    UPCOMING_PLAYER_GAME_CONTEXT,
    UPCOMING_TEAM_GAME_CONTEXT,
    Table,
)

from nba_precompute.config import INTEGRITY_CONFIG_ENV as CONFIG_ENV  # noqa: E402,F401 (the variable, named once)
DEFAULTS_RESOURCE = "integrity.yaml"

# The season window of season_year s: 1 October of s to 30 June of s + 1 (rule 4).
SEASON_FIRST = (10, 1)
SEASON_LAST = (6, 30)

# (part, whole): part <= whole on every row where both are non-NULL (rule 6).
NOT_ABOVE: dict[str, tuple[tuple[str, str], ...]] = {
    PLAYER_GAME_SUMMARY.fqn: (
        ("fg_makes", "fg_attempts"), ("three_pt_makes", "three_pt_attempts"), ("ft_makes", "ft_attempts"),
        ("paint_makes", "paint_attempts"), ("mid_range_makes", "mid_range_attempts"),
        ("three_pt_makes", "fg_makes"), ("three_pt_attempts", "fg_attempts"),
        ("assisted_fg_makes", "fg_makes"), ("unassisted_fg_makes", "fg_makes"),
    ),
    TEAM_DEFENSE_GAME_SUMMARY.fqn: (
        ("opp_paint_makes", "opp_paint_attempts"), ("opp_mid_range_makes", "opp_mid_range_attempts"),
        ("opp_three_pt_makes", "opp_three_pt_attempts"),
    ),
}
# (team column, opponent column) of the tables that reference a schedule game (rule 5).
TEAM_COLUMNS: dict[str, tuple[str, str]] = {
    PLAYER_GAME_SUMMARY.fqn: ("team_abbr", "opponent_team_abbr"),
    TEAM_OFFENSE_GAME_SUMMARY.fqn: ("team_abbr", "opponent_team_abbr"),
    TEAM_DEFENSE_GAME_SUMMARY.fqn: ("defending_team_abbr", "opponent_team_abbr"),
    UPCOMING_PLAYER_GAME_CONTEXT.fqn: ("team_abbr", "opponent_team_abbr"),
    UPCOMING_TEAM_GAME_CONTEXT.fqn: ("team_abbr", "opponent_team_abbr"),
}

Bounds = Mapping[str, Mapping[str, tuple[float | None, float | None]]]


class IntegrityConfigError(ValueError):
    """The integrity configuration is invalid; the message names the key and the file."""


@dataclass(frozen=True)
class Violation:
    """One class of rule violation in one file: which column, how many rows, the first one."""

    file: str
    column: str
    rule: str
    rows: int
    example: str = ""

    def __str__(self) -> str:
        where = f"{self.file}: column {self.column}" if self.column else self.file
        count = f"{self.rows} row(s) " if self.rows else ""
        first = f"; first: {self.example}" if self.example else ""
        return f"{where}: {count}{self.rule}{first}"


# --- configuration ------------------------------------------------------------------------------
def season_window(season_year: int) -> tuple[dt.date, dt.date]:
    return dt.date(season_year, *SEASON_FIRST), dt.date(season_year + 1, *SEASON_LAST)


def load_bounds(path: str | Path | None = None, *, use_env: bool = True) -> dict[str, dict[str, tuple]]:
    """The shipped bounds, merged with the deployment file `path` (or, when None and use_env,
    the file named in NBA_PRECOMPUTE_INTEGRITY_CONFIG)."""
    text = resources.files("nba_precompute.phase3").joinpath(DEFAULTS_RESOURCE).read_text(encoding="utf-8")
    bounds = _parse(yaml.safe_load(text), DEFAULTS_RESOURCE)
    if path is None and use_env:
        from nba_precompute import config

        path = config.current().integrity_config
    if path is not None:
        p = Path(path)
        try:
            document = yaml.safe_load(p.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise IntegrityConfigError(f"{p}: cannot read the integrity configuration ({error_cause(exc)})") from None
        for fqn, columns in _parse(document, str(p)).items():
            bounds.setdefault(fqn, {}).update(columns)
    return bounds


def _parse(document, name: str) -> dict[str, dict[str, tuple]]:
    if not isinstance(document, dict) or set(document) != {"bounds"} or not isinstance(document["bounds"], dict):
        raise IntegrityConfigError(f"{name}: expected one key `bounds` mapping table -> column -> [low, high]")
    out: dict[str, dict[str, tuple]] = {}
    for fqn, columns in document["bounds"].items():
        table = PHASE3_BY_FQN.get(fqn)
        if table is None:
            raise IntegrityConfigError(f"{name}: bounds.{fqn}: not a Phase 3 table ({', '.join(PHASE3_BY_FQN)})")
        if not isinstance(columns, dict):
            raise IntegrityConfigError(f"{name}: bounds.{fqn}: expected a mapping column -> [low, high]")
        for column, value in columns.items():
            if table.types.get(column) not in ("INT64", "FLOAT64"):
                raise IntegrityConfigError(f"{name}: bounds.{fqn}.{column}: not a numeric column of {fqn}")
            ok = isinstance(value, list) and len(value) == 2 and all(
                v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in value)
            if not ok or (None not in value and value[0] > value[1]):
                raise IntegrityConfigError(f"{name}: bounds.{fqn}.{column}: expected [low, high] "
                                           f"(numbers or null, low <= high), got {value!r}")
            out.setdefault(fqn, {})[column] = (value[0], value[1])
    return out


# --- helpers --------------------------------------------------------------------------------------
def _format(value) -> str:
    if value is None or (not isinstance(value, (list, tuple, np.ndarray)) and pd.isna(value)):
        return "NULL"
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def example(frame: pd.DataFrame, mask, table: Table, extra: Iterable[str] = ()) -> str:
    """The first offending row: its key columns, its date and the columns the rule is about."""
    mask = np.asarray(mask, dtype=bool)
    row = frame.loc[mask].iloc[0]
    columns = [*table.key, table.date_column, *extra]
    return ", ".join(f"{c}={_format(row[c])}" for c in dict.fromkeys(columns) if c in frame.columns)


def _violation(frame, mask, table, name, column, rule, extra=()) -> list[Violation]:
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return []
    return [Violation(name, column, rule, int(mask.sum()), example(frame, mask, table, extra))]


def _numbers(frame: pd.DataFrame, column: str) -> np.ndarray:
    return pd.to_numeric(frame[column], errors="coerce").astype("float64").to_numpy()


def _dnp(frame: pd.DataFrame) -> np.ndarray:
    dnp = frame["is_dnp"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    inactive = ~frame["is_active"].astype("boolean").fillna(True).to_numpy(dtype=bool)
    return dnp | inactive


def _dates(values) -> pd.Series:
    return pd.to_datetime(pd.Series(values), errors="coerce")


# --- the rules ------------------------------------------------------------------------------------
def check_table(frame: pd.DataFrame, table: Table, name: str, bounds: Bounds) -> list[Violation]:
    """Rules 2, 3 and 6 on one table: NULLs, duplicate keys, plausible values, makes <= attempts."""
    out: list[Violation] = []
    for column in table.not_null:
        out += _violation(frame, frame[column].isna(), table, name, column, "NULL in a column that is never NULL")
    if table.not_null_when_played:
        played = ~_dnp(frame)
        for column in table.not_null_when_played:
            out += _violation(frame, played & frame[column].isna().to_numpy(), table, name, column,
                              "NULL on a row that is not a DNP (is_active TRUE, is_dnp FALSE)",
                              ("is_active", "is_dnp"))
    key = list(table.key)
    complete = frame[key].notna().all(axis=1)
    dups = frame.duplicated(key, keep=False) & complete
    out += _violation(frame, dups, table, name, ", ".join(key), "share one key (duplicates)")
    for column, (low, high) in bounds.get(table.fqn, {}).items():
        out += _violation(frame, _outside(frame, column, low, high), table, name, column,
                          f"outside the plausible range {_range(low, high)}", (column,))
    for part, whole in NOT_ABOVE.get(table.fqn, ()):
        above = _numbers(frame, part) > _numbers(frame, whole)
        out += _violation(frame, above, table, name, part, f"greater than {whole}", (part, whole))
    return out


def implausible_rows(frame: pd.DataFrame, table: Table, bounds: Bounds) -> np.ndarray:
    """Rows with any value outside its column's plausible range (NULL passes): the same test as
    rule 6, as one mask, for consumers that must not trust rows the loader did not check."""
    bad = np.zeros(len(frame), dtype=bool)
    for column, (low, high) in bounds.get(table.fqn, {}).items():
        if column in frame.columns:
            bad |= _outside(frame, column, low, high)
    return bad


def _outside(frame: pd.DataFrame, column: str, low, high) -> np.ndarray:
    """Values outside [low, high] (None: unbounded), +-Inf always; NULL passes."""
    x = _numbers(frame, column)
    bad = np.isinf(x)
    if low is not None:
        bad |= x < low
    if high is not None:
        bad |= x > high
    return bad


def _range(low, high) -> str:
    lo = "(-inf" if low is None else f"[{low:g}"
    hi = "inf)" if high is None else f"{high:g}]"
    return f"{lo}, {hi}"


def check_schedule_seasons(schedule: pd.DataFrame, name: str) -> list[Violation]:
    """Rule 4: every schedule game_date lies in the window of its season_year."""
    years = pd.to_numeric(schedule["season_year"], errors="coerce")
    days = _dates(schedule["game_date"])
    known = years.notna() & days.notna()
    first = pd.to_datetime({"year": years.where(known, 2000).astype(int), "month": SEASON_FIRST[0],
                            "day": SEASON_FIRST[1]})
    last = pd.to_datetime({"year": years.where(known, 2000).astype(int) + 1, "month": SEASON_LAST[0],
                           "day": SEASON_LAST[1]})
    before = known & (days < first)
    after = known & (days > last)
    return (_violation(schedule, before, SCHEDULE, name, "game_date",
                       "dated before 1 October of their season_year", ("season_year",))
            + _violation(schedule, after, SCHEDULE, name, "game_date",
                         "dated after 30 June following their season_year", ("season_year",)))


def check_calendar(frame: pd.DataFrame, table: Table, name: str, schedule: pd.DataFrame,
                   season_years: Iterable[int]) -> list[Violation]:
    """Rules 4 and 5 for a table other than the schedule: dated inside a declared season's window,
    its game_id in the schedule with the same game_date (and season_year), its team and opponent
    the game's two teams."""
    out: list[Violation] = []
    days = _dates(frame[table.date_column])
    inside = np.zeros(len(frame), dtype=bool)
    for year in season_years:
        lo, hi = season_window(int(year))
        inside |= ((days >= pd.Timestamp(lo)) & (days <= pd.Timestamp(hi))).to_numpy()
    windows = ", ".join(f"{y}: {a}..{b}" for y in sorted(season_years) for a, b in [season_window(int(y))])
    out += _violation(frame, days.notna().to_numpy() & ~inside, table, name, table.date_column,
                      f"dated outside the seasons the schedule declares ({windows})")

    games = schedule.drop_duplicates("game_id").set_index("game_id")
    ids = frame["game_id"]
    known = ids.isin(games.index).to_numpy()
    out += _violation(frame, ids.notna().to_numpy() & ~known, table, name, "game_id", "not in the schedule")
    at = games.reindex(ids)
    sched_days = _dates(at["game_date"].to_numpy())
    moved = known & days.notna().to_numpy() & (days.to_numpy() != sched_days.to_numpy())
    frame_with = frame.assign(schedule_game_date=[_format(v) for v in at["game_date"]])
    out += _violation(frame_with, moved, table, name, table.date_column,
                      "dated differently from their game in the schedule", ("schedule_game_date",))
    if "season_year" in frame.columns:
        wrong = known & frame["season_year"].notna().to_numpy() & (
            _numbers(frame, "season_year") != pd.to_numeric(at["season_year"], errors="coerce").to_numpy())
        out += _violation(frame_with.assign(schedule_season_year=at["season_year"].to_numpy()), wrong, table, name,
                          "season_year", "with a season_year other than their game's in the schedule",
                          ("season_year", "schedule_season_year"))
    team_col, opp_col = TEAM_COLUMNS[table.fqn]
    home, away = at["home_team_abbr"].to_numpy(dtype=object), at["away_team_abbr"].to_numpy(dtype=object)
    teams = frame_with.assign(schedule_home=home, schedule_away=away)
    for column in (team_col, opp_col):
        value = frame[column].to_numpy(dtype=object)
        present = frame[column].notna().to_numpy()
        outside = known & present & (value != home) & (value != away)
        out += _violation(teams, outside, table, name, column, "with a team that does not play in their game",
                          (column, "schedule_home", "schedule_away"))
    same = frame[team_col].notna().to_numpy() & (frame[team_col].to_numpy(dtype=object)
                                                  == frame[opp_col].to_numpy(dtype=object))
    out += _violation(frame, same, table, name, opp_col, f"equal to {team_col}", (team_col, opp_col))
    return out


def check_folder(frames: Mapping[Table, pd.DataFrame], names: Mapping[Table, str] | None = None,
                 bounds: Bounds | None = None) -> list[Violation]:
    """Every rule of §Integrity 2-6 over the readable tables of a folder (a table missing from
    `frames` was unreadable and is already reported)."""
    names = names or {t: t.fqn for t in frames}
    bounds = load_bounds() if bounds is None else bounds
    out: list[Violation] = []
    for table in PHASE3_TABLES:
        if table in frames:
            out += check_table(frames[table], table, names[table], bounds)
    schedule = frames.get(SCHEDULE)
    if schedule is None or schedule.empty:
        return out
    out += check_schedule_seasons(schedule, names[SCHEDULE])
    years = sorted({int(y) for y in pd.to_numeric(schedule["season_year"], errors="coerce").dropna()})
    for table in PHASE3_TABLES[1:]:
        if table in frames:
            out += check_calendar(frames[table], table, names[table], schedule, years)
    return out
