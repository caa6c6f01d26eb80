"""Reading what the coverage model needs from the warehouse (and, optionally, the Dagster instance).

Three reads per report, all bounded by the range: the schedule (the season calendar), the
`analysis_date` column of each asset table (counted per date; on DuckDB a GROUP BY query does the
counting in the database) and the failure-table rows of the range.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Sequence

import pandas as pd

from nba_precompute.coverage import status as st
from nba_precompute.phase3.contract import SCHEDULE
from nba_precompute.season import SeasonCalendar, to_datetime
from nba_precompute.registry import ASSET_NAMES, ASSET_TABLES
from nba_precompute.tables import DEPENDENCY_CHECKS, FAILURES
from nba_precompute.warehouse import Warehouse
from nba_precompute.warehouse import sql

FAILURE_READ_COLUMNS = ["processor_name", "analysis_date", "entity_id", "failure_category", "failure_reason"]


def read_calendar(warehouse: Warehouse) -> SeasonCalendar:
    return SeasonCalendar(warehouse.read_required(SCHEDULE))


def _duckdb_query(warehouse: Warehouse):
    """The DuckDB warehouse's read-only query method, or None on other warehouses."""
    query = getattr(warehouse, "query", None)
    return query if warehouse.dialect == "duckdb" and callable(query) else None


def read_row_counts(warehouse: Warehouse, start: dt.date, end: dt.date,
                    assets: Sequence[str] = ASSET_NAMES) -> pd.DataFrame:
    """Rows per (asset, analysis_date) in [start, end]: columns asset, analysis_date, rows.

    A table that does not exist yet counts 0 rows everywhere."""
    parts = []
    query = _duckdb_query(warehouse)
    for asset in assets:
        table = ASSET_TABLES[asset]
        if not warehouse.table_exists(table):
            continue
        if query is not None:
            counts = query(
                f"SELECT analysis_date, count(*) AS rows FROM {sql.qualified(table, 'duckdb')} "
                "WHERE analysis_date BETWEEN ? AND ? GROUP BY analysis_date",
                [start, end],
            )
        else:
            dates = warehouse.read(table, start, end, columns=["analysis_date"])
            counts = (
                to_datetime(dates["analysis_date"]).value_counts().rename_axis("analysis_date").reset_index(name="rows")
            )
        counts = counts.assign(asset=asset)
        parts.append(counts)
    if not parts:
        return pd.DataFrame({"asset": [], "analysis_date": pd.Series(dtype="datetime64[ns]"), "rows": []})
    out = pd.concat(parts, ignore_index=True)
    out["analysis_date"] = to_datetime(out["analysis_date"])
    out["rows"] = out["rows"].astype("int64")
    return out[["asset", "analysis_date", "rows"]]


def read_failures(warehouse: Warehouse, start: dt.date, end: dt.date) -> pd.DataFrame:
    if not warehouse.table_exists(FAILURES):
        return pd.DataFrame(columns=FAILURE_READ_COLUMNS)
    return warehouse.read(FAILURES, start, end, columns=FAILURE_READ_COLUMNS)


def read_failed_verdicts(warehouse: Warehouse, start: dt.date, end: dt.date) -> pd.DataFrame:
    """The failing dependency verdicts (precompute_dependency_checks, passed = false) in [start, end]."""
    columns = ["processor_name", "analysis_date", "rule_number", "upstream_table", "found", "required", "passed"]
    if not warehouse.table_exists(DEPENDENCY_CHECKS):
        return pd.DataFrame(columns=columns)
    verdicts = warehouse.read(DEPENDENCY_CHECKS, start, end, columns=columns)
    return verdicts[~verdicts["passed"].astype(bool)].sort_values(["processor_name", "analysis_date", "rule_number"])


def attach_failed_verdicts(frame: pd.DataFrame, verdicts: pd.DataFrame) -> pd.DataFrame:
    """Add `failed_dependencies` to each (asset, date) cell: its failing verdicts as
    (upstream_table, found, required) tuples in rule order (empty when none)."""
    by_cell: dict[tuple[str, pd.Timestamp], list] = {}
    for asset, date, table, found, required in zip(
        verdicts["processor_name"], to_datetime(verdicts["analysis_date"]), verdicts["upstream_table"],
        verdicts["found"], verdicts["required"],
    ):
        by_cell.setdefault((asset, pd.Timestamp(date).normalize()), []).append((str(table), int(found), int(required)))
    out = frame.copy()
    dates = pd.to_datetime(out["date"]).dt.normalize()
    out["failed_dependencies"] = [tuple(by_cell.get((a, d), ())) for a, d in zip(out["asset"], dates)]
    return out


def data_range(warehouse: Warehouse) -> tuple[dt.date, dt.date] | None:
    """The first and latest analysis_date of any asset table or failure row (None when all are
    empty): the range the Phase 4 assets were computed for."""
    first = latest = None
    query = _duckdb_query(warehouse)
    for table in (*ASSET_TABLES.values(), FAILURES):
        if not warehouse.table_exists(table):
            continue
        if query is not None:
            row = query(f"SELECT min(analysis_date) AS a, max(analysis_date) AS b "
                        f"FROM {sql.qualified(table, 'duckdb')}").iloc[0]
            values = (row["a"], row["b"])
        else:
            frame = warehouse.read(table, columns=["analysis_date"])
            values = (frame["analysis_date"].min(), frame["analysis_date"].max()) if len(frame) else (None, None)
        if values[0] is None or pd.isna(values[0]):
            continue
        a, b = (pd.Timestamp(v).date() for v in values)
        first = a if first is None or a < first else first
        latest = b if latest is None or b > latest else latest
    return None if first is None else (first, latest)


def latest_data_date(warehouse: Warehouse) -> dt.date | None:
    """The latest analysis_date of any asset table or failure row (None when all are empty)."""
    found = data_range(warehouse)
    return found[1] if found else None


@dataclass
class Coverage:
    """A coverage report: the per-(asset, date) frame and the per-asset range report."""

    start: dt.date
    end: dt.date
    assets: list[str]
    frame: pd.DataFrame  # status.coverage_frame (+ dagster columns when attached)
    report: pd.DataFrame  # status.range_report
    calendar: SeasonCalendar = field(repr=False)
    dagster_source: str = "none"  # "instance" when Dagster statuses were read, else "none"
    chains: dict[tuple[str, pd.Timestamp], list] = field(default_factory=dict, repr=False)

    def cells(self, asset: str) -> pd.DataFrame:
        return self.frame[self.frame["asset"] == asset]

    def select(self, assets: Sequence[str]) -> "Coverage":
        """The same coverage restricted to `assets` (kept in dependency order)."""
        keep = [a for a in self.assets if a in set(assets)]
        frame = self.frame[self.frame["asset"].isin(keep)].reset_index(drop=True)
        report = self.report[self.report["asset"].isin(keep)].reset_index(drop=True)
        chains = {k: v for k, v in self.chains.items() if k[0] in set(keep)}
        return Coverage(self.start, self.end, keep, frame, report, self.calendar, self.dagster_source, chains)

    def explain(self, warehouse: Warehouse | None) -> "Coverage":
        """Fill `chains` with the root-cause chains of every DATE_FAILED (asset, date).

        Chains follow clauses into any of the five assets, so the coverage should hold all five
        (select() the ones to show afterwards)."""
        from nba_precompute.coverage.explain import Explainer

        self.chains = Explainer(self.frame, self.calendar, warehouse).explain_frame(self.frame)
        return self


def load_coverage(warehouse: Warehouse, start: dt.date, end: dt.date, assets: Sequence[str] = ASSET_NAMES,
                  instance=None, calendar: SeasonCalendar | None = None) -> Coverage:
    """Build the coverage of `assets` over [start, end] from the warehouse.

    `instance`: a DagsterInstance to cross-check against (None: dagster_status is "unknown").
    """
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    assets = [a for a in ASSET_NAMES if a in set(assets)]
    calendar = calendar or read_calendar(warehouse)
    dates = pd.date_range(start, end, freq="D")
    frame = st.coverage_frame(
        calendar, dates, assets, read_row_counts(warehouse, start, end, assets), read_failures(warehouse, start, end)
    )
    from nba_precompute.coverage import dagster_status

    source = "none"
    statuses = None
    if instance is not None:
        statuses = dagster_status.read_dagster_status(instance, assets, dates)
        source = "instance"
    frame = dagster_status.attach(frame, statuses)
    frame = attach_failed_verdicts(frame, read_failed_verdicts(warehouse, start, end))
    return Coverage(start, end, assets, frame, st.range_report(frame), calendar, source)
