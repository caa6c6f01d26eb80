"""The coverage model (PRECOMPUTE.md §9): a status per (asset, date) and the range report.

Pure pandas, no Dagster and no warehouse: the caller passes the season calendar, the per-date
row counts of the asset tables and the failure-table rows of the range (`load.py` reads them).

Status of (asset, D), first match wins:

    OK           partition D has >= 1 row
    DATE_FAILED  a DATE_LEVEL failure row exists for (asset, D); `category` holds its category
    NO_GAMES     pdc, pcf or mlfs, D in a season window and not a game date
    OFF_SEASON   D in no season window
    MISSING      none of the above: nothing explains the absence

Range report of an asset over [a, b] (one row per asset):

    expected             dates that should have data: psza, tdza every season-window date; pdc,
                         pcf, mlfs every game date (bootstrap dates included: they hold a failure)
    data_dates           expected dates with status OK
    date_level_failures  expected dates with status DATE_FAILED (+ `date_level_by_category`)
    total                data_dates + date_level_failures
    missing              expected - total, listed in `missing_dates`
    status               COMPLETE (total = expected, no date-level failure), EXPLAINED (total =
                         expected, some date-level failures) or INCOMPLETE (a date is MISSING)
    entity_failures      entity-level failure rows of the range (+ `entity_failures_by_category`);
                         they never change a date's status
    dagster_*            agreement of the Dagster partition status with the warehouse status
                         (see dagster_status.py); never folded into `status`
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from nba_precompute.failures import DATE_LEVEL
from nba_precompute.season import SeasonCalendar, to_dates, to_datetime
from nba_precompute.registry import ASSET_NAMES, SLATE_ASSETS

OK, DATE_FAILED, NO_GAMES, OFF_SEASON, MISSING = "OK", "DATE_FAILED", "NO_GAMES", "OFF_SEASON", "MISSING"
STATUSES: tuple[str, ...] = (OK, DATE_FAILED, NO_GAMES, OFF_SEASON, MISSING)
COMPLETE, EXPLAINED, INCOMPLETE = "COMPLETE", "EXPLAINED", "INCOMPLETE"

# Assets with rows only on game dates (the others have rows on every season-window date).

FRAME_COLUMNS = [
    "asset", "date", "status", "category", "reason", "rows", "entity_failures",
    "entity_failures_by_category", "expected", "in_season", "is_game_date", "bootstrap", "weekday",
]


def _category_counts(categories: Iterable[str]) -> dict[str, int]:
    """{category: count}, sorted by category name (stable output)."""
    s = pd.Series(list(categories), dtype="object")
    if s.empty:
        return {}
    return {str(k): int(v) for k, v in sorted(s.value_counts().items())}


def format_counts(counts: dict[str, int]) -> str:
    """'BOOTSTRAP_PERIOD 13, MISSING_DEPENDENCY 3' (empty string for none)."""
    return ", ".join(f"{k} {v}" for k, v in counts.items())


def coverage_frame(
    calendar: SeasonCalendar,
    dates,
    assets: Sequence[str] = ASSET_NAMES,
    row_counts: pd.DataFrame | None = None,
    failures: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per (asset, date), assets in the given order, dates ascending.

    row_counts: columns asset, analysis_date, rows (absent pairs have 0 rows).
    failures:   failure-table rows (processor_name, analysis_date, entity_id, failure_category,
                failure_reason); rows of other assets or dates are ignored.

    Columns: asset, date (Timestamp), status, category (DATE_FAILED only, else None), reason
    (the DATE_LEVEL failure_reason, else None), rows, entity_failures (count),
    entity_failures_by_category (dict), expected (bool, §9), in_season, is_game_date, bootstrap,
    weekday (0 = Monday).
    """
    dates = to_dates(dates)
    assets = list(assets)
    cal = calendar.frame(dates)[["analysis_date", "in_season", "is_game_date", "bootstrap"]]
    grid = pd.DataFrame(
        {
            "asset": np.repeat(assets, len(dates)),
            "date": np.tile(dates.to_numpy(), len(assets)),
        }
    )
    grid = grid.merge(cal.rename(columns={"analysis_date": "date"}), on="date", how="left")

    # rows per (asset, date)
    if row_counts is not None and len(row_counts):
        rc = row_counts[["asset", "analysis_date", "rows"]].copy()
        rc["date"] = to_datetime(rc["analysis_date"]).dt.normalize()
        rc = rc.groupby(["asset", "date"], as_index=False)["rows"].sum()
        grid = grid.merge(rc, on=["asset", "date"], how="left")
        grid["rows"] = grid["rows"].fillna(0).astype(np.int64)
    else:
        grid["rows"] = np.int64(0)

    # failures: date-level (category, reason) and entity-level counts per (asset, date)
    f = _normalise_failures(failures)
    f = f[f["processor_name"].isin(assets)]
    date_level = f[f["entity_id"] == DATE_LEVEL].drop_duplicates(["processor_name", "date"], keep="last")
    date_level = date_level.rename(
        columns={"processor_name": "asset", "failure_category": "category", "failure_reason": "reason"}
    )[["asset", "date", "category", "reason"]]
    grid = grid.merge(date_level, on=["asset", "date"], how="left")
    entity = f[f["entity_id"] != DATE_LEVEL]
    by_pair: dict[tuple[str, pd.Timestamp], dict[str, int]] = {}
    if len(entity):
        counts = entity.groupby(["processor_name", "date", "failure_category"]).size()
        for (a, d, c), n in sorted(counts.items()):
            by_pair.setdefault((a, d), {})[str(c)] = int(n)
    grid["entity_failures_by_category"] = [by_pair.get((a, d), {}) for a, d in zip(grid["asset"], grid["date"])]
    grid["entity_failures"] = [sum(v.values()) for v in grid["entity_failures_by_category"]]

    slate = grid["asset"].isin(SLATE_ASSETS).to_numpy()
    in_season = grid["in_season"].fillna(False).to_numpy(dtype=bool)
    game = grid["is_game_date"].fillna(False).to_numpy(dtype=bool)
    has_rows = grid["rows"].to_numpy() > 0
    has_date_failure = grid["category"].notna().to_numpy()
    grid["status"] = np.select(
        [has_rows, has_date_failure, slate & in_season & ~game, ~in_season],
        [OK, DATE_FAILED, NO_GAMES, OFF_SEASON],
        default=MISSING,
    )
    # category and reason describe a DATE_FAILED date only (an OK date with a stray date-level
    # row is OK by the first-match rule; the outcome_consistent check reports that case)
    not_failed = grid["status"] != DATE_FAILED
    grid["category"] = grid["category"].astype("object").where(~not_failed, None)
    grid["reason"] = grid["reason"].astype("object").where(~not_failed, None)
    grid["expected"] = in_season & np.where(slate, game, True)
    grid["in_season"] = in_season
    grid["is_game_date"] = game
    grid["bootstrap"] = grid["bootstrap"].fillna(False).astype(bool)
    grid["weekday"] = pd.DatetimeIndex(grid["date"]).weekday
    return grid[FRAME_COLUMNS].reset_index(drop=True)


def _normalise_failures(failures: pd.DataFrame | None) -> pd.DataFrame:
    cols = ["processor_name", "analysis_date", "entity_id", "failure_category", "failure_reason"]
    if failures is None or not len(failures):
        out = pd.DataFrame({c: pd.Series(dtype="object") for c in cols})
        out["date"] = pd.Series(dtype="datetime64[ns]")
        return out
    out = failures.copy()
    if "failure_reason" not in out.columns:
        out["failure_reason"] = None
    out["date"] = to_datetime(out["analysis_date"]).dt.normalize()
    return out


# --- range report -----------------------------------------------------------------------------
REPORT_COLUMNS = [
    "asset", "expected", "data_dates", "date_level_failures", "date_level_by_category", "total",
    "missing", "missing_dates", "status", "entity_failures", "entity_failures_by_category",
    "no_games", "off_season", "dagster_checked", "dagster_disagreements", "dagster_disagreement_dates",
]


def range_report(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per asset of the frame (in its order) with the §9 range report columns.

    When the frame carries `dagster_agrees` (see dagster_status.attach), the disagreements are
    counted per asset (`dagster_checked` = dates with a known Dagster status).
    """
    out = []
    for asset in dict.fromkeys(frame["asset"]):
        g = frame[frame["asset"] == asset]
        exp = g[g["expected"]]
        ok = int((exp["status"] == OK).sum())
        failed = exp[exp["status"] == DATE_FAILED]
        missing = exp[exp["status"] == MISSING]
        total = ok + len(failed)
        if len(missing):
            status = INCOMPLETE
        elif len(failed):
            status = EXPLAINED
        else:
            status = COMPLETE
        entity: dict[str, int] = {}
        for d in g["entity_failures_by_category"]:
            for k, v in d.items():
                entity[k] = entity.get(k, 0) + int(v)
        if "dagster_agrees" in g.columns:
            known = g[g["dagster_agrees"].notna()]
            disagree = known[~known["dagster_agrees"].astype(bool)]
            checked, n_dis = len(known), len(disagree)
            dis_dates = [d.strftime("%Y-%m-%d") for d in disagree["date"]]
        else:
            checked, n_dis, dis_dates = 0, 0, []
        out.append(
            {
                "asset": asset,
                "expected": len(exp),
                "data_dates": ok,
                "date_level_failures": len(failed),
                "date_level_by_category": _category_counts(failed["category"]),
                "total": total,
                "missing": len(exp) - total,
                "missing_dates": [d.strftime("%Y-%m-%d") for d in missing["date"]],
                "status": status,
                "entity_failures": sum(entity.values()),
                "entity_failures_by_category": dict(sorted(entity.items())),
                "no_games": int((g["status"] == NO_GAMES).sum()),
                "off_season": int((g["status"] == OFF_SEASON).sum()),
                "dagster_checked": checked,
                "dagster_disagreements": n_dis,
                "dagster_disagreement_dates": dis_dates,
            }
        )
    return pd.DataFrame(out, columns=REPORT_COLUMNS)


def status_counts(frame: pd.DataFrame) -> dict[str, int]:
    """Cells per status over the whole frame, every status present (0 when none)."""
    counts = frame["status"].value_counts()
    return {s: int(counts.get(s, 0)) for s in STATUSES}


def cell_label(status: str, category: str | None) -> str:
    """The status with its category, e.g. 'DATE_FAILED: MISSING_DEPENDENCY'."""
    return f"{status}: {category}" if status == DATE_FAILED and category else status
