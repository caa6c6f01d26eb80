"""The asset checks of PRECOMPUTE.md §8 and the volume check (issue 14), each a pure function
over a Partition.

A check function `f(p: Partition, settings) -> DataFrame` gets the dates it applies to (the
engine has already set aside the others, see registry.Condition) and returns, per date
(`result_frame(p)`): passed, observed (what it counts, as numbers), threshold (the number it
compares with, NaN when none), examples (the first offending items, as dicts), measures (the
named numbers behind the verdict) and detail (the sentence people read, built from the same
data). Every check is computed for all its dates at once with group-bys; only the offending
keys of a date are turned into text.

The settings model of a check (its thresholds.yaml section) is declared beside it.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
import pydantic

from nba_precompute.checks.config import (
    CheckSettings,
    Number,
    PositiveCount,
    Range,
    RowMin,
    Section,
    ValueRange,
    mapping,
    numeric_column,
    problem,
)
from nba_precompute.checks.partition import Partition
from nba_precompute.checks.text import day, fmt, key, listing, plain, plural, records_by_date
from nba_precompute.failures import DATE_LEVEL
from nba_precompute.operations import volume as vol
from nba_precompute.registry import ASSET_NAMES, ASSET_TABLES

NOTHING_STORED = "0 rows, no failure"  # a date with no row and no failure row at all


def result_frame(p: Partition) -> pd.DataFrame:
    """A passing result for every date of `p`: no detail, 0 observed, no threshold, no examples."""
    n = len(p.dates)
    return pd.DataFrame(
        {
            "analysis_date": p.dates,
            "passed": np.ones(n, dtype=bool),
            "detail": np.full(n, "", dtype=object),
            "observed": np.zeros(n, dtype="float64"),
            "threshold": np.full(n, np.nan, dtype="float64"),
            "examples": [[] for _ in range(n)],
            "measures": [{} for _ in range(n)],
        }
    ).set_index("analysis_date", drop=False)


def _measures(**columns) -> list[dict]:
    """Per date, a dict of the named measures (each an array aligned with the dates)."""
    names = list(columns)
    return [{k: plain(v) for k, v in zip(names, values)} for values in zip(*columns.values())]


def _fill(series: pd.Series, dates) -> list:
    """A per-date Series of lists, as one list per date (empty where absent)."""
    return [v if isinstance(v, list) else [] for v in series.reindex(dates).to_numpy(dtype=object)]


def _counts(frame: pd.DataFrame, dates) -> pd.Series:
    return frame.groupby("analysis_date").size().reindex(dates, fill_value=0)


# --- primary_key_unique -----------------------------------------------------------------------
def primary_key_unique(p: Partition, s: CheckSettings) -> pd.DataFrame:
    """observed: duplicated keys (rows and failure rows); examples: each key with its count."""
    res = result_frame(p)
    e = p.entity
    keyed = p.rows[p.rows[e].notna()]
    counts = keyed.groupby(["analysis_date", e], sort=True).size().rename("n").reset_index()
    dup = counts[counts["n"] > 1].copy()
    dup["text"] = [f"({day(d)}, {key(k)}) x{n}" for d, k, n in zip(dup["analysis_date"], dup[e], dup["n"])]
    f = p.failures[p.failures["entity_id"].notna()]
    fkey = ["processor_name", "analysis_date", "entity_id"]
    fcounts = (f.groupby(fkey, sort=True).size().rename("n").reset_index()
               if len(f) else pd.DataFrame(columns=[*fkey, "n"]))
    fdup = fcounts[fcounts["n"] > 1].copy()
    fdup["text"] = [f"({a}, {day(d)}, {key(k)}) x{n}" for a, d, k, n in
                    zip(fdup["processor_name"], fdup["analysis_date"], fdup["entity_id"], fdup["n"])]

    def describe(frame: pd.DataFrame, what: str) -> pd.Series:
        if not len(frame):
            return pd.Series(dtype=object)
        keys = frame.groupby("analysis_date").size()
        extra = frame.groupby("analysis_date")["n"].sum()
        listed = listing(frame, "text", p.max_items)
        return pd.Series(
            {d: f"{plural(int(keys[d]), 'duplicate ' + what + ' key')} ({int(extra[d])} rows): {listed[d]}"
             for d in keys.index})

    n_row, n_fail = _counts(dup, p.dates), _counts(fdup, p.dates)
    n_dup = n_row + n_fail
    res["observed"] = n_dup.astype(float).to_numpy()
    res["passed"] = (n_dup == 0).to_numpy()
    n_fail_rows = _counts(p.failures, p.dates)
    res["detail"] = [f"{r} row keys and {fr} failure keys unique" for r, fr in zip(p.per["rows"], n_fail_rows)]
    bad = pd.concat([describe(dup, "row"), describe(fdup, "failure")], axis=1).reindex(p.dates)
    joined = bad.apply(lambda r: "; ".join(t for t in r if isinstance(t, str)), axis=1) if len(bad) else bad
    mask = (n_dup > 0).to_numpy()
    if mask.any():
        res.loc[mask, "detail"] = joined[mask].to_numpy()
    row_ex = records_by_date(dup.assign(table="rows"), {"table": "table", "analysis_date": "analysis_date",
                                                         e: e, "n": "count"}, p.max_items)
    fail_ex = records_by_date(fdup.assign(table="failures"), {"table": "table", "processor_name": "processor_name",
                                                               "analysis_date": "analysis_date",
                                                               "entity_id": "entity_id", "n": "count"}, p.max_items)
    res["examples"] = [a + b for a, b in zip(_fill(row_ex, p.dates), _fill(fail_ex, p.dates))]
    res["measures"] = _measures(rows=p.per["rows"].to_numpy(), failure_rows=n_fail_rows.to_numpy(),
                                duplicate_row_keys=n_row.to_numpy(), duplicate_failure_keys=n_fail.to_numpy())
    return res


# --- keys_not_null ----------------------------------------------------------------------------
def keys_not_null(p: Partition, s: CheckSettings) -> pd.DataFrame:
    """observed: rows and failure rows with a NULL key; examples: per table and column, the count
    (and, for a NULL analysis_date, the first entities)."""
    res = result_frame(p)
    parts = []
    null_rows = p.rows[p.rows[p.entity].isna()]
    if len(null_rows):
        c = null_rows.groupby("analysis_date").size()
        parts.append(pd.DataFrame({"analysis_date": c.index, "n": c.values, "table": "rows", "column": p.entity,
                                   "entities": [None] * len(c),
                                   "text": [plural(int(n), "row") + f" with NULL {p.entity}" for n in c.values]}))
    null_fail = p.failures[p.failures["entity_id"].isna()]
    if len(null_fail):
        c = null_fail.groupby("analysis_date").size()
        parts.append(pd.DataFrame({"analysis_date": c.index, "n": c.values, "table": "failures",
                                   "column": "entity_id", "entities": [None] * len(c),
                                   "text": [plural(int(n), "failure row") + " with NULL entity_id"
                                            for n in c.values]}))
    # Rows without a date cannot be placed in a partition: they are reported on the first date
    # checked (the only one when a single partition is checked).
    if len(p.dates):
        first = p.dates[0]
        suffix = "" if len(p.dates) == 1 else " (date unknown; reported on the first date checked)"
        unplaced = ((p.null_date_rows, "row", p.entity, "rows"),
                    (p.null_date_failures, "failure row", "entity_id", "failures"))
        for frame, what, k, table in unplaced:
            if len(frame):
                shown = [key(x) for x in list(frame[k])[: p.max_items]]
                more = f", ... and {len(frame) - p.max_items} more" if len(frame) > p.max_items else ""
                parts.append(pd.DataFrame({"analysis_date": [first], "n": [len(frame)], "table": table,
                                           "column": "analysis_date", "entities": [shown],
                                           "text": [f"{plural(len(frame), what)} with NULL analysis_date "
                                                    f"({k}: {', '.join(shown)}{more}){suffix}"]}))
    if parts:
        allp = pd.concat(parts, ignore_index=True)
        n = allp.groupby("analysis_date")["n"].sum().reindex(p.dates, fill_value=0)
        text = allp.groupby("analysis_date")["text"].agg("; ".join).reindex(p.dates)
        examples = records_by_date(allp, {"table": "table", "column": "null_column", "n": "rows",
                                          "entities": "entities"}, len(allp))
    else:
        n = pd.Series(0, index=p.dates)
        text = pd.Series(index=p.dates, dtype=object)
        examples = pd.Series(dtype=object)
    res["observed"] = n.astype(float).to_numpy()
    res["passed"] = (n == 0).to_numpy()
    res["detail"] = np.where(n.to_numpy() > 0, text.to_numpy(dtype=object), "keys non-NULL")
    res["examples"] = [[{k: v for k, v in r.items() if v is not None} for r in ex]
                       for ex in _fill(examples, p.dates)]
    return res


# --- outcome_consistent -----------------------------------------------------------------------
def outcome_consistent(p: Partition, s: CheckSettings) -> pd.DataFrame:
    """observed: the rows and entity failures beside a DATE_LEVEL failure, or the entity failures
    without rows; measures: rows, entity_failures, date_level_failures (and their categories)."""
    res = result_frame(p)
    rows, ent = p.per["rows"].to_numpy(), p.per["entity_failures"].to_numpy()
    n_dl = p.per["date_level"].to_numpy()
    dl = n_dl > 0
    cats = p.per["date_level_categories"].to_numpy(dtype=object)
    beside = dl & (rows + ent > 0)
    alone = ~dl & (rows == 0) & (ent > 0)
    detail = []
    for i in range(len(p.dates)):
        if beside[i]:
            detail.append(f"DATE_LEVEL failure ({cats[i]}) beside {plural(int(rows[i]), 'row')} "
                          f"and {plural(int(ent[i]), 'entity failure')}")
        elif alone[i]:
            detail.append(f"{plural(int(ent[i]), 'entity failure')} but 0 rows and no DATE_LEVEL failure "
                          f"(a compute that leaves 0 rows is a PROCESSING_ERROR)")
        elif dl[i]:
            detail.append(f"DATE_LEVEL failure ({cats[i]}), 0 rows")
        elif rows[i] > 0:
            detail.append(f"{plural(int(rows[i]), 'row')}, {plural(int(ent[i]), 'entity failure')}, "
                          "no DATE_LEVEL failure")
        else:
            detail.append(NOTHING_STORED)
    res["detail"] = detail
    res["passed"] = ~(beside | alone)
    res["observed"] = np.where(beside, rows + ent, np.where(alone, ent, 0)).astype(float)
    res["measures"] = _measures(rows=rows, entity_failures=ent, date_level_failures=n_dl,
                                date_level_categories=[c.split(", ") if c else [] for c in cats])
    return res


# --- entity_accounting ------------------------------------------------------------------------
PROBLEMS = ("unaccounted", "row_and_failure", "non_candidate")


def entity_accounting(p: Partition, s: CheckSettings) -> pd.DataFrame:
    """observed: entities unaccounted for, with both a row and a failure, or not candidates;
    examples: {entity, problem}; measures: candidates, rows, entity_failures and each problem."""
    res = result_frame(p)
    if not len(p.dates):
        return res
    e = p.entity
    cand = p.candidates.assign(c=1)
    r = p.rows[p.rows[e].notna()][["analysis_date", e]].assign(r=1)
    f = p.failures[(p.failures["entity_id"] != DATE_LEVEL) & p.failures["entity_id"].notna()]
    f = pd.DataFrame({"analysis_date": f["analysis_date"].to_numpy(), e: f["entity_id"].to_numpy(), "f": 1})
    allk = pd.concat([cand, r, f], ignore_index=True)
    for c in ("c", "r", "f"):
        allk[c] = allk[c].fillna(0).astype(int)
    flags = allk.groupby(["analysis_date", e], sort=True)[["c", "r", "f"]].max().reset_index()
    flags["text"] = flags[e].map(key)
    unacc = flags[(flags["c"] == 1) & (flags["r"] == 0) & (flags["f"] == 0)]
    both = flags[(flags["r"] == 1) & (flags["f"] == 1)]
    extra = flags[(flags["c"] == 0) & ((flags["r"] == 1) | (flags["f"] == 1))]

    n_cand, n_row, n_fail = (_counts(flags[flags[c] == 1], p.dates) for c in ("c", "r", "f"))
    n_un, n_both, n_extra = _counts(unacc, p.dates), _counts(both, p.dates), _counts(extra, p.dates)
    l_un, l_both, l_extra = (listing(x, "text", p.max_items).reindex(p.dates) for x in (unacc, both, extra))
    details = []
    for d in p.dates:
        parts = []
        if n_un[d]:
            nothing = " (nothing stored for this date)" if n_row[d] == 0 and n_fail[d] == 0 else ""
            parts.append(f"{n_un[d]} of {plural(int(n_cand[d]), 'candidate')} without a row or a failure"
                         f"{nothing}: {l_un[d]}")
        if n_both[d]:
            parts.append(f"{plural(int(n_both[d]), 'entity', 'entities')} with both a row and a failure: "
                         f"{l_both[d]}")
        if n_extra[d]:
            parts.append(f"{plural(int(n_extra[d]), 'non-candidate')} with a row or a failure: {l_extra[d]}")
        details.append("; ".join(parts) if parts else
                       f"{plural(int(n_cand[d]), 'candidate')} = {plural(int(n_row[d]), 'row')} "
                       f"+ {plural(int(n_fail[d]), 'entity failure')}")
    observed = n_un + n_both + n_extra
    res["detail"] = details
    res["observed"] = observed.astype(float).to_numpy()
    res["passed"] = (observed == 0).to_numpy()
    examples = [records_by_date(x.assign(problem=name), {e: "entity", "problem": "problem"}, p.max_items)
                for x, name in zip((unacc, both, extra), PROBLEMS)]
    res["examples"] = [a + b + c for a, b, c in zip(*(_fill(x, p.dates) for x in examples))]
    res["measures"] = _measures(candidates=n_cand.to_numpy(), rows=n_row.to_numpy(),
                                entity_failures=n_fail.to_numpy(), unaccounted=n_un.to_numpy(),
                                row_and_failure=n_both.to_numpy(), non_candidate=n_extra.to_numpy())
    return res


# --- row_minimum ------------------------------------------------------------------------------
class RowMinimumSettings(CheckSettings):
    row_min: dict[str, RowMin]

    @pydantic.field_validator("row_min", mode="before")
    @classmethod
    def _every_asset(cls, value: Any) -> Any:
        return mapping(value, ASSET_NAMES, ASSET_NAMES)


def row_minimum(p: Partition, s: RowMinimumSettings) -> pd.DataFrame:
    """observed: rows; threshold: ROW_MIN of the date; measures: rows, required (and slate_size)."""
    res = result_frame(p)
    rule = s.row_min[p.asset]
    rows = p.per["rows"].to_numpy()
    slate = p.slate.to_numpy()
    req = np.array([rule.required(None if np.isnan(n) else float(n)) for n in slate], dtype=np.int64)
    res["observed"] = rows.astype(float)
    res["threshold"] = req.astype(float)
    res["passed"] = rows >= req
    how = [f" ({rule.describe(n)})" if rule.needs_slate else "" for n in slate]
    res["detail"] = [
        f"{r} rows >= {q}{h}" if r >= q else f"{r} rows < {q} required{h}" for r, q, h in zip(rows, req, how)
    ]
    slate_sizes = {"slate_size": slate} if rule.needs_slate else {}
    res["measures"] = _measures(rows=rows, required=req, **slate_sizes)
    return res


def slate_known(p: Partition, s: RowMinimumSettings) -> np.ndarray:
    """Why row_minimum cannot be evaluated on a date: its ROW_MIN needs N and N is unknown."""
    unknown = s.row_min[p.asset].needs_slate & p.slate.isna().to_numpy()
    return np.where(unknown, "slate size N unknown", "")


# --- volume -----------------------------------------------------------------------------------
class AssetVolume(Section):
    """How one asset's rows are predicted: per scheduled team or per entity with history."""

    exposure: Literal["teams", "history"]
    noise: Literal["per_team", "constant"]
    # group dates by this dynamic minimum (a Settings method of days since the opener), if any
    min_games: Literal["psza_min_games", "tdza_min_games"] | None = None


class VolumeSettings(CheckSettings):
    """The `volume` section of checks/thresholds.yaml (validated with the other checks')."""

    window: PositiveCount
    min_reference: PositiveCount
    history_days: PositiveCount  # calendar days of stored counts read before a run's first date
    z: Number
    min_tolerance: Number
    max_tolerance: Number
    min_sigma: Number
    flag_high: bool = False
    assets: dict[str, AssetVolume]

    @pydantic.field_validator("assets", mode="before")
    @classmethod
    def _every_asset(cls, value: Any) -> Any:
        return mapping(value, ASSET_NAMES, ASSET_NAMES, what="asset")

    @pydantic.model_validator(mode="after")
    def _consistent(self) -> "VolumeSettings":
        if self.z <= 0:
            raise problem(f"z must be > 0, got {self.z:g}", "z")
        for name in ("min_tolerance", "max_tolerance"):
            if not 0 <= getattr(self, name) < 1:
                raise problem(f"{name} must be in [0, 1), got {getattr(self, name):g}", name)
        if self.min_sigma < 0:
            raise problem(f"min_sigma must be >= 0, got {self.min_sigma:g}", "min_sigma")
        if self.min_reference > self.window:
            raise problem(f"min_reference {self.min_reference} exceeds window {self.window}", "min_reference")
        if self.min_tolerance > self.max_tolerance:
            raise problem(f"min_tolerance {self.min_tolerance:g} exceeds max_tolerance {self.max_tolerance:g}",
                          "min_tolerance")
        return self


def volume_results(p: Partition, s: VolumeSettings) -> pd.DataFrame:
    """operations.volume's result for each date of p (indexed by date). Computed once, on the whole
    partition (the engine decides applicability on it first) and shared with its restrictions:
    the references of a date are the stored dates before the partition and its own earlier dates."""
    if "volume" not in p.memo:
        current = pd.DataFrame({"asset": p.asset, "date": p.per.index, "rows": p.per["rows"].to_numpy(),
                                "entity_failures": p.per["entity_failures"].to_numpy()})
        history = p.history[vol.COUNT_COLUMNS] if p.history is not None and len(p.history) else None
        counts = pd.concat([history, current], ignore_index=True) if history is not None else current
        p.memo["volume"] = vol.evaluate_counts(counts, p.calendar, s).set_index("date")
    return p.memo["volume"].reindex(p.dates)


def volume(p: Partition, s: VolumeSettings) -> pd.DataFrame:
    """observed: rows; threshold: the band's low end (rows); measures: the band and the rates."""
    res = result_frame(p)
    v = volume_results(p, s)
    num = {c: v[c].astype("float64").round(r).to_numpy() for c, r in (
        ("observed", 0), ("exposure", 0), ("expected", 1), ("band_low", 1), ("band_high", 1), ("ratio", 3),
        ("expected_ratio", 3), ("tolerance", 3), ("reference_dates", 0))}
    res["observed"] = num["observed"]
    res["threshold"] = num["band_low"]
    res["passed"] = ~v["anomaly"].fillna(False).to_numpy(dtype=bool)
    res["detail"] = v["reason"].to_numpy(dtype=object)
    res["measures"] = _measures(**{k: x for k, x in num.items() if k != "observed"})
    return res


def volume_evaluable(p: Partition, s: VolumeSettings) -> np.ndarray:
    """Why the band cannot be drawn on a date: no calendar, no exposure, too few reference dates."""
    if p.calendar is None:
        return np.full(len(p.dates), "no season calendar given", dtype=object)
    v = volume_results(p, s)
    return np.where(v["evaluated"].fillna(False).to_numpy(dtype=bool), "",
                    v["reason"].str.removeprefix("not evaluated: ").to_numpy(dtype=object)).astype(object)


# --- value_ranges -----------------------------------------------------------------------------
class ValueRangesSettings(CheckSettings):
    by_name_word: dict[str, Range] = {}
    counts: Range | None = None
    columns: dict[str, dict[str, Range]] = {}

    @pydantic.field_validator("by_name_word", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return {} if value is None else value

    @pydantic.field_validator("columns", mode="before")
    @classmethod
    def _assets(cls, value: Any) -> Any:
        value = {} if value is None else mapping(value)
        for asset in value:
            if asset not in ASSET_NAMES:
                raise problem(f"unknown asset {asset!r}; allowed: {', '.join(ASSET_NAMES)}", asset)
        return {a: {} if cols is None else cols for a, cols in value.items()}

    @pydantic.field_validator("columns")
    @classmethod
    def _columns_exist(cls, value: dict) -> dict:
        for asset, cols in value.items():
            for col in cols:
                numeric_column(asset, col, asset, col)
        return value

    def ranges_for(self, asset: str) -> dict[str, ValueRange]:
        """Every ranged column of the asset's table, with its range (precedence: explicit
        column, then the first matching name word, then the INT64 count rule)."""
        explicit = self.columns.get(asset, {})
        out: dict[str, ValueRange] = {}
        for column, typ in ASSET_TABLES[asset].columns:
            if typ not in ("INT64", "FLOAT64"):
                continue
            if column in explicit:
                out[column] = explicit[column]
                continue
            words = set(column.split("_"))
            word_range = next((r for w, r in self.by_name_word.items() if w in words), None)
            if word_range is not None:
                out[column] = word_range
            elif typ == "INT64" and self.counts is not None:
                out[column] = self.counts
        return out


def value_ranges(p: Partition, s: ValueRangesSettings) -> pd.DataFrame:
    """observed: values out of range; examples: {column, value, range, entity};
    measures: ranged_columns."""
    res = result_frame(p)
    ranges = {c: r for c, r in s.ranges_for(p.asset).items() if c in p.rows.columns}
    bad_parts = []
    for column, rng in ranges.items():
        x = pd.to_numeric(p.rows[column], errors="coerce").astype("float64").to_numpy()
        mask = rng.violations(x)
        if mask.any():
            sub = p.rows.loc[mask, ["analysis_date", p.entity]]
            word = "not in" if rng.values is not None else "outside"
            bad_parts.append(pd.DataFrame({
                "analysis_date": sub["analysis_date"].to_numpy(), "column": column, "value": x[mask],
                "range": [rng.as_data()] * int(mask.sum()), "entity": sub[p.entity].to_numpy(),
                "text": [f"{column} {fmt(v)} {word} {rng} for {key(k)}" for v, k in zip(x[mask], sub[p.entity])],
            }))
    if bad_parts:
        bad = pd.concat(bad_parts, ignore_index=True)
        n = _counts(bad, p.dates)
        listed = listing(bad, "text", p.max_items, sep="; ").reindex(p.dates)
        res["examples"] = _fill(records_by_date(bad, {"column": "column", "value": "value", "range": "range",
                                                      "entity": "entity"}, p.max_items), p.dates)
    else:
        n = pd.Series(0, index=p.dates)
        listed = pd.Series(index=p.dates, dtype=object)
    res["observed"] = n.astype(float).to_numpy()
    res["passed"] = (n == 0).to_numpy()
    res["detail"] = [
        (lst if k == 1 else f"{k} values out of range: {lst}") if k else f"{len(ranges)} ranged columns in range"
        for k, lst in zip(n.to_numpy(), listed.to_numpy(dtype=object))
    ]
    res["measures"] = _measures(ranged_columns=np.full(len(p.dates), len(ranges)))
    return res


# --- zone_rates_sum ---------------------------------------------------------------------------
class ZoneRatesSumSettings(CheckSettings):
    columns: tuple[str, ...]
    total: Number
    tolerance: Number

    @pydantic.field_validator("columns", mode="before")
    @classmethod
    def _asset_columns(cls, value: Any, info: pydantic.ValidationInfo) -> Any:
        (asset,) = info.context["check"].assets
        if not isinstance(value, list) or not value:
            raise problem(f"expected a non-empty list of {asset} columns, got {value!r}")
        return [numeric_column(asset, c, types=("FLOAT64",)) for c in value]

    @pydantic.field_validator("tolerance")
    @classmethod
    def _non_negative(cls, value: float) -> float:
        if value < 0:
            raise problem(f"expected >= 0, got {fmt(value)}")
        return value


def zone_rates_sum(p: Partition, s: ZoneRatesSumSettings) -> pd.DataFrame:
    """observed: rows whose rates are partly NULL or do not sum to total; threshold: tolerance;
    examples: {entity, problem, sum | null_columns}; measures: rows_with_rates, total, tolerance."""
    res = result_frame(p)
    cols = [c for c in s.columns if c in p.rows.columns]
    missing_cols = [c for c in s.columns if c not in p.rows.columns]
    values = np.column_stack(
        [pd.to_numeric(p.rows[c], errors="coerce").astype("float64").to_numpy() for c in cols]
    ) if cols else np.zeros((len(p.rows), 0))
    present = ~np.isnan(values)
    n_present = present.sum(axis=1)
    partial = (n_present > 0) & (n_present < len(cols))
    total = np.where(present, values, 0.0).sum(axis=1)
    off = (n_present == len(cols)) & (len(cols) > 0) & (np.abs(total - s.total) > s.tolerance + 1e-9)
    texts, examples = [], []
    keys = p.rows[p.entity].map(key).to_numpy(dtype=object) if len(p.rows) else np.array([], dtype=object)
    summed = " + ".join(cols)
    for i in np.flatnonzero(partial | off):
        if partial[i]:
            nulls = [c for c, ok in zip(cols, present[i]) if not ok]
            texts.append(f"{', '.join(nulls)} NULL beside non-NULL rates for {keys[i]}")
            examples.append({"entity": keys[i], "problem": "partly_null", "null_columns": nulls})
        else:
            texts.append(f"{summed} = {fmt(round(total[i], 6))} (not {fmt(s.total)} +- {fmt(s.tolerance)}) "
                         f"for {keys[i]}")
            examples.append({"entity": keys[i], "problem": "sum", "sum": round(float(total[i]), 6)})
    bad = pd.DataFrame({"analysis_date": p.rows["analysis_date"].to_numpy()[partial | off], "text": texts,
                        "example": examples})
    n = _counts(bad, p.dates)
    listed = listing(bad, "text", p.max_items, sep="; ").reindex(p.dates)
    with_rates = pd.Series(n_present == len(cols), index=p.rows.index).groupby(
        p.rows["analysis_date"]).sum().reindex(p.dates, fill_value=0)
    res["observed"] = n.astype(float).to_numpy()
    res["threshold"] = s.tolerance
    res["passed"] = (n == 0).to_numpy() & (not missing_cols)
    res["detail"] = [
        (f"{k} rows with inconsistent zone rates: {lst}" if k > 1 else lst) if k else
        f"{int(w)} rows sum to {fmt(s.total)} +- {fmt(s.tolerance)}, the others have all rates NULL"
        for k, lst, w in zip(n.to_numpy(), listed.to_numpy(dtype=object), with_rates.to_numpy())
    ]
    if missing_cols:
        res["detail"] = f"columns missing from the rows: {', '.join(missing_cols)}"
    if len(bad):
        res["examples"] = _fill(bad.groupby("analysis_date").head(p.max_items)
                                .groupby("analysis_date")["example"].agg(list), p.dates)
    res["measures"] = _measures(rows_with_rates=with_rates.to_numpy(), total=np.full(len(p.dates), s.total),
                                tolerance=np.full(len(p.dates), s.tolerance))
    return res


# --- non_constant_features --------------------------------------------------------------------
class NonConstantSettings(CheckSettings):
    min_rows: PositiveCount
    columns: dict[str, tuple[str, ...]]

    @pydantic.field_validator("columns", mode="before")
    @classmethod
    def _check_columns(cls, value: Any, info: pydantic.ValidationInfo) -> Any:
        having = info.context["check"].assets
        for asset, cols in mapping(value).items():
            if asset not in having:
                raise problem(f"unknown asset {asset!r}; allowed: {', '.join(having)}", asset)
            if not isinstance(cols, list):
                raise problem(f"expected a list of columns, got {cols!r}", asset)
            for c in cols:
                numeric_column(asset, c, asset)
        return value


def non_constant_features(p: Partition, s: NonConstantSettings) -> pd.DataFrame:
    """observed: constant columns; threshold: min_rows; examples: {column, value, non_null};
    measures: columns_checked."""
    res = result_frame(p)
    cols = [c for c in s.columns.get(p.asset, ()) if c in p.rows.columns]
    parts = []
    for column in cols:
        x = pd.to_numeric(p.rows[column], errors="coerce").astype("float64")
        g = x.groupby(p.rows["analysis_date"])
        stats = pd.DataFrame({"count": g.count(), "nunique": g.nunique(), "value": g.first()})
        flagged = stats[(stats["count"] >= s.min_rows) & (stats["nunique"] == 1)]
        if len(flagged):
            parts.append(pd.DataFrame({
                "analysis_date": flagged.index, "column": column, "value": flagged["value"].to_numpy(),
                "non_null": flagged["count"].to_numpy(),
                "text": [f"{column} = {fmt(v)} in all {int(c)} non-NULL values"
                         for v, c in zip(flagged["value"], flagged["count"])],
            }))
    if parts:
        bad = pd.concat(parts, ignore_index=True)
        n = _counts(bad, p.dates)
        listed = listing(bad, "text", len(cols) or 1, sep="; ").reindex(p.dates)
        res["examples"] = _fill(records_by_date(bad, {"column": "column", "value": "value", "non_null": "non_null"},
                                                len(cols)), p.dates)
    else:
        n = pd.Series(0, index=p.dates)
        listed = pd.Series(index=p.dates, dtype=object)
    res["observed"] = n.astype(float).to_numpy()
    res["threshold"] = float(s.min_rows)
    res["passed"] = (n == 0).to_numpy()
    res["detail"] = [
        f"{plural(int(k), 'constant column')}: {lst}" if k else f"{len(cols)} columns vary"
        for k, lst in zip(n.to_numpy(), listed.to_numpy(dtype=object))
    ]
    res["measures"] = _measures(columns_checked=np.full(len(p.dates), len(cols)))
    return res


# --- when a check applies (per date) ----------------------------------------------------------
def rows_present(p: Partition, s: CheckSettings) -> np.ndarray:
    return np.where(p.per["rows"].to_numpy() == 0, "0 rows", "")


def min_rows(p: Partition, s: NonConstantSettings) -> np.ndarray:
    rows = p.per["rows"].to_numpy()
    return np.array([f"{r} rows < {s.min_rows}" if r < s.min_rows else "" for r in rows], dtype=object)


def compute_reached(p: Partition, s: CheckSettings) -> np.ndarray:
    """entity_accounting needs the complete candidates of the date and no DATE_LEVEL failure."""
    dl = p.per["date_level"].to_numpy() > 0
    known = p.dates.isin(p.candidate_dates)
    nothing = (p.per["rows"].to_numpy() == 0) & (p.per["entity_failures"].to_numpy() == 0)
    not_reached = "candidates unknown" if p.candidates is None else "compute step not reached"
    return np.where(
        dl, "date-level failure (" + p.per["date_level_categories"].astype(str).to_numpy(dtype=object) + ")",
        np.where(known, "", np.where(nothing, f"{not_reached} ({NOTHING_STORED})", not_reached)),
    ).astype(object)
