"""A hand-built DuckDB warehouse in which every coverage status and every chain shape occurs.

Schedule: season 2021 opens 2021-10-19 (one game AAA-BBB a day, T = 2) and ends 2021-12-15;
2021-11-03 has no game. UPCG has 16 players on every game date (N = 16). The range of the tests
is 2021-10-18..2021-11-08 (22 dates):

    2021-10-18           OFF_SEASON everywhere (before the opener)
    2021-10-19..11-01    BOOTSTRAP_PERIOD failures for every asset (14 dates)
    date   | psza          | tdza                 | pdc            | pcf                    | mlfs
    11-02  | OK 40 (+2 ent)| OK 30                | OK 16 (+1 ent) | OK 16                  | OK 16
    11-03  | OK 40         | OK 30                | NO_GAMES       | NO_GAMES               | NO_GAMES
    11-04  | OK 40         | OK 30                | OK 16          | DEP: UTGC 0 need 2     | DEP: pcf 0 need 13
    11-05  | OK 40         | OK 20 (+5 ent) thin  | OK 16          | DEP: tdza 20 need 25   | DEP: pcf; tdza 20 need 25
    11-06  | OK 40         | OK 30                | MISSING        | OK 16                  | MISSING
    11-07  | PROCESSING_ERR| OK 30                | DEP: psza 0    | DEP: psza 0            | DEP: pdc, pcf, psza
    11-08  | OK 40         | OK 30                | OK 16          | DEP: UTGC 0 need 2 (*) | DEP: pcf 0 need 13

(*) UTGC now has both teams on 2021-11-08: that clause is resolved upstream.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from nba_precompute.failures import (
    Category,
    FAILURE_COLUMNS,
    bootstrap_reason,
    date_level_failures,
    failure_frame,
    missing_dependency_clause,
    processing_error_reason,
)
from nba_precompute.phase3.contract import (
    PHASE3_TABLES,
    SCHEDULE,
    UPCOMING_PLAYER_GAME_CONTEXT as UPCG,
    UPCOMING_TEAM_GAME_CONTEXT as UTGC,
)
from nba_precompute.tables import MLFS, PCF, PDC, PSZA, TDZA
from nba_precompute.dependencies import VERDICT_COLUMNS
from nba_precompute.registry import ENTITY_COLUMN, output_columns
from nba_precompute.warehouse.duckdb import DuckDBWarehouse

START, END = dt.date(2021, 10, 18), dt.date(2021, 11, 8)
OPENER, LAST_DAY, NO_GAME_DAY = dt.date(2021, 10, 19), dt.date(2021, 12, 15), dt.date(2021, 11, 3)
BOOTSTRAP_DATES = [OPENER + dt.timedelta(days=k) for k in range(14)]


def d(day: int, month: int = 11) -> dt.date:
    return dt.date(2021, month, day)


def frame_of(table, records: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([{**dict.fromkeys(table.column_names), **r} for r in records], columns=table.column_names,
                        dtype=object)


def schedule_frame() -> pd.DataFrame:
    days = pd.date_range(OPENER, LAST_DAY, freq="D").date
    games = [day for day in days if day != NO_GAME_DAY]
    return frame_of(SCHEDULE, [
        {"game_id": f"G{day:%Y%m%d}", "game_date": day, "season_year": 2021, "home_team_abbr": "AAA",
         "away_team_abbr": "BBB", "game_status": 3, "is_regular_season": True, "is_playoffs": False}
        for day in games
    ])


def upcg_frame() -> pd.DataFrame:
    days = [day for day in pd.date_range(OPENER, d(30), freq="D").date if day != NO_GAME_DAY]
    return frame_of(UPCG, [
        {"player_lookup": f"player{i:02d}", "game_id": f"G{day:%Y%m%d}", "game_date": day,
         "team_abbr": "AAA" if i < 8 else "BBB", "opponent_team_abbr": "BBB" if i < 8 else "AAA",
         "processed_at": pd.Timestamp("2021-10-01", tz="UTC")}
        for day in days for i in range(16)
    ])


def utgc_frame() -> pd.DataFrame:
    # both teams on every game date, except 2021-11-04 (never arrived)
    days = [day for day in pd.date_range(OPENER, d(30), freq="D").date if day not in (NO_GAME_DAY, d(4))]
    return frame_of(UTGC, [
        {"team_abbr": team, "game_id": f"G{day:%Y%m%d}", "game_date": day, "opponent_team_abbr": other,
         "processed_at": pd.Timestamp("2021-10-01", tz="UTC")}
        for day in days for team, other in (("AAA", "BBB"), ("BBB", "AAA"))
    ])


def rows(asset: str, counts: dict[dt.date, int]) -> pd.DataFrame:
    columns = output_columns(asset)
    records = []
    for day, n in counts.items():
        for i in range(n):
            r = dict.fromkeys(columns)
            r.update(analysis_date=day, **{ENTITY_COLUMN[asset]: f"e{i:03d}"})
            for extra in ("cache_date", "game_date"):
                if extra in columns:
                    r[extra] = day
            records.append(r)
    return pd.DataFrame(records, columns=columns, dtype=object)


VERDICTS: list[dict] = []  # the failing dependency verdicts the hand-built failures stand for


def dependency(asset: str, day: dt.date, clauses: list[tuple], reason: str | None = None) -> pd.DataFrame:
    """A MISSING_DEPENDENCY date: its failing verdicts (written to precompute_dependency_checks)
    and the prose reason (the spec's template unless `reason` rewords it)."""
    for n, (t, found, need) in enumerate(clauses):
        VERDICTS.append(dict(processor_name=asset, analysis_date=pd.Timestamp(day), rule_number=n + 1,
                             upstream_table=t.fqn, kind="date_match", found=found, required=need, passed=False))
    if reason is None:
        reason = "; ".join(missing_dependency_clause(t.fqn, day, found, need) for t, found, need in clauses)
    return date_level_failures(asset, [day], Category.MISSING_DEPENDENCY, [reason])


def bootstrap(asset: str) -> pd.DataFrame:
    return date_level_failures(
        asset, BOOTSTRAP_DATES, Category.BOOTSTRAP_PERIOD,
        [bootstrap_reason((day - OPENER).days, OPENER) for day in BOOTSTRAP_DATES],
    )


def entity(asset: str, day: dt.date, category: Category, n: int) -> pd.DataFrame:
    return failure_frame(processor_name=asset, analysis_date=[day] * n, entity_id=[f"x{i}" for i in range(n)],
                         category=category, reason="hand-built")


def build_warehouse(path, reason=None) -> DuckDBWarehouse:
    """`reason(asset, day, clauses)`: an alternative wording of the dependency reasons."""
    VERDICTS.clear()

    def dep(asset, day, clauses):
        return dependency(asset, day, clauses, None if reason is None else reason(asset, day, clauses))

    wh = DuckDBWarehouse(database=str(path))
    wh.ensure_tables()
    empty = {t: pd.DataFrame(columns=t.column_names) for t in PHASE3_TABLES}
    empty.update({SCHEDULE: schedule_frame(), UPCG: upcg_frame(), UTGC: utgc_frame()})
    wh.replace_date_range(empty, dt.date(2021, 1, 1), dt.date(2022, 12, 31))

    all_ok = [d(2), d(3), d(4), d(5), d(6), d(8)]
    writes = {
        "psza": (
            {day: 40 for day in all_ok},
            [bootstrap("psza"), entity("psza", d(2), Category.INSUFFICIENT_DATA, 2),
             date_level_failures("psza", [d(7)], Category.PROCESSING_ERROR,
                                 [processing_error_reason(ValueError("boom"))])],
        ),
        "tdza": (
            {**{day: 30 for day in all_ok + [d(7)]}, d(5): 20},
            [bootstrap("tdza"), entity("tdza", d(5), Category.INSUFFICIENT_DATA, 5)],
        ),
        "pdc": (
            {d(2): 16, d(4): 16, d(5): 16, d(8): 16},
            [bootstrap("pdc"), entity("pdc", d(2), Category.STALE_DATA, 1),
             dep("pdc", d(7), [(PSZA, 0, 30)])],
        ),
        "pcf": (
            {d(2): 16, d(6): 16},
            [bootstrap("pcf"),
             dep("pcf", d(4), [(UTGC, 0, 2)]),
             dep("pcf", d(5), [(TDZA, 20, 25)]),
             dep("pcf", d(7), [(PSZA, 0, 30)]),
             dep("pcf", d(8), [(UTGC, 0, 2)])],
        ),
        "mlfs": (
            {d(2): 16},
            [bootstrap("mlfs"),
             dep("mlfs", d(4), [(PCF, 0, 13)]),
             dep("mlfs", d(5), [(PCF, 0, 13), (TDZA, 20, 25)]),
             dep("mlfs", d(7), [(PDC, 0, 12), (PCF, 0, 13), (PSZA, 0, 100)]),
             dep("mlfs", d(8), [(PCF, 0, 13)])],
        ),
    }
    dates = pd.date_range(START, END, freq="D").date
    for asset, (counts, failures) in writes.items():
        fails = pd.concat(failures, ignore_index=True)[FAILURE_COLUMNS]
        verdicts = pd.DataFrame([v for v in VERDICTS if v["processor_name"] == asset],
                                columns=list(VERDICT_COLUMNS))
        wh.write_partitions(asset, dates, rows(asset, counts), fails, run_id="hand-built", verdicts=verdicts)
    return wh


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory) -> DuckDBWarehouse:
    return build_warehouse(tmp_path_factory.mktemp("coverage") / "w.duckdb")


@pytest.fixture(scope="session")
def coverage(warehouse):
    from nba_precompute.coverage.load import load_coverage

    return load_coverage(warehouse, START, END)


__all__ = ["START", "END", "d", "MLFS", "PCF", "PDC", "PSZA", "TDZA"]
