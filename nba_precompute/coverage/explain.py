"""Root-cause chains of a failed (asset, date) (PRECOMPUTE.md §9 "Root cause").

For an (asset, D) that is DATE_FAILED with category MISSING_DEPENDENCY, each of its failing
dependency verdicts (nba_processing.precompute_dependency_checks, read by coverage/load.py into
the cell's `failed_dependencies`) starts a branch; the prose reason is never parsed:

* a Phase 3 table ends the branch: `<table> <D> (<found> rows, need <required>)`;
* a Phase 4 table continues at its asset on D: DATE_FAILED prints `(DATE_FAILED: <category>)`
  and recurses when the category is MISSING_DEPENDENCY (one branch per failing verdict);
  OK prints `(OK: <rows> rows, need <required>; <entity failures by category>)` and stops; any
  other status is printed and stops.

Each branch is one line, from the asset down to its cause, e.g.

    mlfs 2021-11-09 <- pcf 2021-11-09 (DATE_FAILED: MISSING_DEPENDENCY) <- nba_analytics.upcoming_team_game_context 2021-11-09 (0 rows, need 16)

When the rule (§5) of any clause on the line, re-evaluated on today's warehouse contents
(dependencies.evaluate over pipeline.read_inputs), meets its requirement, the line ends with
`[resolved upstream; rerun]`.

An (asset, D) with any other outcome explains itself in one line: `psza 2021-10-20 (DATE_FAILED:
BOOTSTRAP_PERIOD) Bootstrap period: day 1 of 14 after opener 2021-10-19`, `pdc 2021-11-10 (OK:
312 rows; INSUFFICIENT_DATA 8)`, `pdc 2021-11-25 (NO_GAMES)`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from nba_precompute import dependencies, pipeline, registry
from nba_precompute.coverage import status as st
from nba_precompute.failures import Category
from nba_precompute.season import SeasonCalendar
from nba_precompute.registry import ASSET_OF_TABLE
from nba_precompute.warehouse import Warehouse

RESOLVED = "[resolved upstream; rerun]"

@dataclass(frozen=True)
class Clause:
    table: str
    date: pd.Timestamp
    found: int
    required: int

    @property
    def asset(self) -> str | None:
        """The Phase 4 asset of the table (None for a Phase 3 table)."""
        return ASSET_OF_TABLE.get(self.table)


def clauses_of(cell: dict) -> list[Clause]:
    """The failing dependency verdicts of a coverage cell, as clauses on its date."""
    date = pd.Timestamp(cell["date"]).normalize()
    return [Clause(table, date, found, required) for table, found, required in cell.get("failed_dependencies") or ()]


@dataclass
class Chain:
    """One branch: the text segments from the asset down to the cause, and whether any clause
    on it is met by today's warehouse contents."""

    asset: str
    date: pd.Timestamp
    segments: list[str] = field(default_factory=list)
    resolved: bool = False
    # (consumer asset, upstream table) of every clause on the line
    clauses: list[tuple[str, Clause]] = field(default_factory=list)

    @property
    def text(self) -> str:
        line = " <- ".join(self.segments)
        return f"{line} {RESOLVED}" if self.resolved else line

    def __str__(self) -> str:
        return self.text


def _day(d) -> str:
    return pd.Timestamp(d).strftime("%Y-%m-%d")


class Explainer:
    """Builds chains from a coverage frame holding the five assets over the dates involved.

    `warehouse` (optional) re-evaluates the clauses' rules today; without it no line is marked
    resolved. Rule verdicts are evaluated once per asset for all the dates asked with
    `prefetch`, and cached.
    """

    def __init__(self, frame: pd.DataFrame, calendar: SeasonCalendar, warehouse: Warehouse | None = None):
        self.calendar = calendar
        self.warehouse = warehouse
        f = frame.copy()
        f["date"] = pd.to_datetime(f["date"]).dt.normalize()
        self._cells = {(a, d): row for a, d, row in zip(f["asset"], f["date"], f.to_dict("records"))}
        self._verdicts: dict[tuple[str, pd.Timestamp, int], bool] = {}
        self._evaluated: set[tuple[str, pd.Timestamp]] = set()
        self._reads: dict[tuple[str, object, object], pd.DataFrame] = {}

    # --- today's verdicts ---------------------------------------------------------------------
    def _read(self, table, start, end) -> pd.DataFrame:
        key = (table.fqn, start, end)
        if key not in self._reads:
            self._reads[key] = self.warehouse.read_required(table, start, end)
        return self._reads[key]

    def prefetch(self, asset: str, dates) -> None:
        """Evaluate the asset's rules today for many dates at once (one read per input)."""
        if self.warehouse is None:
            return
        todo = sorted({pd.Timestamp(d).normalize() for d in dates} - {d for a, d in self._evaluated if a == asset})
        todo = [d for d in todo if self.calendar.season_of(d) is not None]
        if not todo:
            return
        self._evaluated |= {(asset, d) for d in todo}
        index = pd.DatetimeIndex(todo)
        try:
            inputs = pipeline.read_inputs(asset, self.calendar, index, self._read)
            verdicts = dependencies.evaluate(registry.rules_for(asset), self.calendar.frame(index), inputs, self.calendar)
        except Exception:  # a table that cannot be read: no verdict, so no "[resolved]" mark
            return
        for d, rule, ok in zip(pd.to_datetime(verdicts["analysis_date"]), verdicts["rule"], verdicts["ok"]):
            self._verdicts[(asset, d.normalize(), int(rule))] = bool(ok)

    def met_today(self, asset: str, clause: Clause) -> bool | None:
        """Whether the rule of `asset` on the clause's table meets its requirement today."""
        rule = registry.rule_for(asset, clause.table)
        if rule is None or self.warehouse is None:
            return None
        d = clause.date.normalize()
        if (asset, d) not in self._evaluated:
            self.prefetch(asset, [d])
        return self._verdicts.get((asset, d, rule.number))

    # --- chains -------------------------------------------------------------------------------
    def cell(self, asset: str, date) -> dict | None:
        return self._cells.get((asset, pd.Timestamp(date).normalize()))

    def chains(self, asset: str, date) -> list[Chain]:
        """The branches of (asset, date); one self-explaining line when it is not a dependency failure."""
        date = pd.Timestamp(date).normalize()
        cell = self.cell(asset, date)
        head = f"{asset} {_day(date)}"
        if cell is None:
            return [Chain(asset, date, [f"{head} (not in the coverage range)"])]
        if cell["status"] == st.DATE_FAILED and Category.MISSING_DEPENDENCY.is_value(cell["category"]):
            clauses = clauses_of(cell)
            if clauses:
                return [self._finish(c) for c in self._branches(asset, date, clauses, [head], [])]
            return [Chain(asset, date, [f"{head} (DATE_FAILED: MISSING_DEPENDENCY) {cell['reason']}"])]
        return [Chain(asset, date, [f"{head} {self._own_status(cell)}"])]

    def _finish(self, chain: Chain) -> Chain:
        chain.resolved = any(self.met_today(consumer, clause) for consumer, clause in chain.clauses)
        return chain

    def _branches(self, asset, date, clauses, prefix, path) -> list[Chain]:
        out = []
        for clause in clauses:
            here = path + [(asset, clause)]
            upstream = clause.asset
            cd = _day(clause.date)
            if upstream is None:  # Phase 3: the end of the chain
                seg = f"{clause.table} {cd} ({clause.found} rows, need {clause.required})"
                out.append(Chain(prefix_asset(prefix), date, prefix + [seg], clauses=here))
                continue
            cell = self.cell(upstream, clause.date)
            if cell is None:
                seg = f"{upstream} {cd} (not in the coverage range; {clause.found} rows, need {clause.required})"
                out.append(Chain(prefix_asset(prefix), date, prefix + [seg], clauses=here))
            elif cell["status"] == st.DATE_FAILED:
                seg = f"{upstream} {cd} (DATE_FAILED: {cell['category']})"
                sub = clauses_of(cell) if Category.MISSING_DEPENDENCY.is_value(cell["category"]) else []
                if sub:
                    out.extend(self._branches(upstream, clause.date, sub, prefix + [seg], here))
                else:
                    out.append(Chain(prefix_asset(prefix), date, prefix + [seg], clauses=here))
            elif cell["status"] == st.OK:
                ent = st.format_counts(cell["entity_failures_by_category"]) or "no entity failures"
                seg = f"{upstream} {cd} (OK: {cell['rows']} rows, need {clause.required}; {ent})"
                out.append(Chain(prefix_asset(prefix), date, prefix + [seg], clauses=here))
            else:
                seg = f"{upstream} {cd} ({cell['status']})"
                out.append(Chain(prefix_asset(prefix), date, prefix + [seg], clauses=here))
        return out

    @staticmethod
    def _own_status(cell: dict) -> str:
        if cell["status"] == st.OK:
            ent = st.format_counts(cell["entity_failures_by_category"])
            return f"(OK: {cell['rows']} rows" + (f"; {ent})" if ent else ")")
        if cell["status"] == st.DATE_FAILED:
            return f"(DATE_FAILED: {cell['category']}) {cell['reason']}"
        return f"({cell['status']})"

    def explain_frame(self, frame: pd.DataFrame) -> dict[tuple[str, pd.Timestamp], list[Chain]]:
        """Chains of every DATE_FAILED cell of a coverage frame, keyed by (asset, date)."""
        failed = frame[frame["status"] == st.DATE_FAILED]
        deps = failed[failed["category"].map(Category.MISSING_DEPENDENCY.is_value).astype(bool)]
        # batch today's verdicts: every (consumer, date) whose clauses may appear on a line
        dep_dates = set(pd.to_datetime(deps["date"]))
        by_asset: dict[str, set] = {}
        for (a, d), cell in self._cells.items():
            if cell["status"] == st.DATE_FAILED and Category.MISSING_DEPENDENCY.is_value(cell["category"]):
                if d in dep_dates:
                    by_asset.setdefault(a, set()).add(d)
        for a, ds in by_asset.items():
            self.prefetch(a, ds)
        return {
            (a, pd.Timestamp(d)): self.chains(a, d) for a, d in zip(failed["asset"], failed["date"])
        }


def prefix_asset(prefix: list[str]) -> str:
    return prefix[0].split(" ", 1)[0]
