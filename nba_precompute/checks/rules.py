"""The asset checks of PRECOMPUTE.md §8, evaluated per partition (analysis_date) on frames.

Pure pandas, no Dagster import: the Dagster asset checks (after a materialization) and the
`nba-precompute check` audit of stored tables call the same `evaluate_checks`. Every check is
computed for all dates at once with group-bys; only the offending keys of a date are turned
into text.

Result frame, one row per (analysis_date, check), columns RESULT_COLUMNS:

- asset, analysis_date (datetime64), check, severity (ERROR / WARN, from the config);
- applicable: False when the check's condition does not hold on that date (e.g. value_ranges
  on a partition with 0 rows, entity_accounting after a date-level failure); such a row has
  passed = True and says why in `detail`;
- passed: the rule holds; a check *fails* when applicable and not passed;
- detail: a human sentence naming the offending keys / values (or a short summary on success);
- observed: the number the check measured (offending keys or values; rows for row_minimum).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np
import pandas as pd

from nba_precompute.checks.config import (
    CHECK_NAMES,
    ENTITY_ACCOUNTING,
    KEYS_NOT_NULL,
    NON_CONSTANT_FEATURES,
    OUTCOME_CONSISTENT,
    PRIMARY_KEY_UNIQUE,
    ROW_MINIMUM,
    SLATE_ASSETS,
    VALUE_RANGES,
    ZONE_RATES_SUM,
    ChecksConfig,
    Severity,
    load_config,
)
from nba_precompute.failures import DATE_LEVEL
from nba_precompute.season import to_datetime
from nba_precompute.registry import ENTITY_COLUMN

RESULT_COLUMNS = ["asset", "analysis_date", "check", "severity", "passed", "applicable", "detail", "observed"]
PASS, FAIL, NOT_APPLICABLE = "PASS", "FAIL", "N/A"
NOTHING_STORED = "0 rows, no failure"  # outcome_consistent's detail for a date with nothing at all

CHECK_DESCRIPTIONS: dict[str, str] = {
    PRIMARY_KEY_UNIQUE: "No duplicate primary key among the partition's rows, and no duplicate "
                        "(processor_name, analysis_date, entity_id) among its failure rows.",
    KEYS_NOT_NULL: "analysis_date and the entity key are non-NULL (rows and failure rows).",
    OUTCOME_CONSISTENT: "A DATE_LEVEL failure implies 0 rows and no entity failure; rows > 0 implies "
                        "no DATE_LEVEL failure.",
    ENTITY_ACCOUNTING: "When the compute step ran: rows + entity failures = candidates, and no entity "
                       "has both a row and a failure.",
    ROW_MINIMUM: "rows >= ROW_MIN[asset], the strictest requirement any consumer places on the asset.",
    VALUE_RANGES: "Every ranged column lies in its range (percent 0-100, fractions 0-1, scores, counts >= 0).",
    ZONE_RATES_SUM: "The three *_rate_last_10 are all NULL or all non-NULL and sum to 100 +- tolerance.",
    NON_CONSTANT_FEATURES: "No feature / factor score has the same value in every row (>= min_rows non-NULL).",
}


# --- entry points -----------------------------------------------------------------------------
def evaluate_checks(
    asset: str,
    dates,
    rows: pd.DataFrame,
    failures: pd.DataFrame,
    candidates: pd.DataFrame | None = None,
    slate_sizes=None,
    config: ChecksConfig | None = None,
    *,
    candidate_dates=None,
) -> pd.DataFrame:
    """Every check of CHECK_NAMES[asset] for every date of `dates` (one row per date and check).

    rows: the asset's rows (any dates; only `dates` are checked). failures: failure rows with
    FAILURE_COLUMNS (rows of other processors are ignored). candidates: (analysis_date, entity)
    pairs the asset had to account for (entity column ENTITY_COLUMN[asset] or entity_id);
    `candidate_dates`: the dates for which `candidates` is the complete set (default: every date
    of `dates` when candidates is given) -- entity_accounting applies only there, and only when
    the date has no DATE_LEVEL failure. slate_sizes: N(D) per date (a Series indexed by date,
    a dict, or an array aligned with `dates`), for ROW_MIN of the slate assets; when absent the
    candidate count of a candidate date is used.
    """
    if asset not in CHECK_NAMES:
        raise KeyError(f"unknown asset {asset!r}; assets are {', '.join(CHECK_NAMES)}")
    config = config or load_config()
    part = _Partition.build(asset, dates, rows, failures, candidates, slate_sizes, candidate_dates, config)
    if not len(part.dates):
        return _empty_results()
    frames = []
    for check in CHECK_NAMES[asset]:
        res = _CHECKS[check](part)
        res.insert(0, "check", check)
        res.insert(0, "asset", asset)
        res["severity"] = config.severity(check).value
        frames.append(res)
    out = pd.concat(frames, ignore_index=True)
    order = {c: i for i, c in enumerate(CHECK_NAMES[asset])}
    out["_o"] = out["check"].map(order)
    out = out.sort_values(["analysis_date", "_o"], kind="mergesort").drop(columns="_o").reset_index(drop=True)
    out["passed"] = out["passed"].astype(bool)
    out["applicable"] = out["applicable"].astype(bool)
    out["observed"] = out["observed"].astype("float64")
    return out[RESULT_COLUMNS]


def evaluate_range_result(result, candidates: pd.DataFrame | None = None, config: ChecksConfig | None = None,
                          slate_sizes=None) -> pd.DataFrame:
    """The checks of a pipeline.RangeResult (what a materialization is about to write / wrote).

    Candidates are `candidates`, else `result.candidates` when the result carries them; they are
    complete for the dates whose outcome is COMPUTED. Slate sizes are `slate_sizes`, else the
    `slate` column of `result.days` when present, else the candidate counts."""
    from nba_precompute.pipeline import COMPUTED

    if candidates is None:
        candidates = getattr(result, "candidates", None)
    if slate_sizes is None and "slate" in result.days.columns:
        slate = result.days[["analysis_date", "slate"]].dropna()
        slate_sizes = pd.Series(slate["slate"].to_numpy(dtype="float64"), index=pd.DatetimeIndex(slate["analysis_date"]))
    computed = result.days.loc[result.days["outcome"] == COMPUTED, "analysis_date"]
    return evaluate_checks(result.asset, result.dates, result.rows, result.failures, candidates,
                           slate_sizes, config, candidate_dates=computed)


def failed(results: pd.DataFrame, severity: str | Severity | None = None) -> pd.DataFrame:
    """The failing results (applicable and not passed), optionally of one severity."""
    mask = results["applicable"] & ~results["passed"]
    if severity is not None:
        mask &= results["severity"] == Severity(severity).value
    return results[mask]


def has_error_failures(results: pd.DataFrame) -> bool:
    return bool(len(failed(results, Severity.ERROR)))


def result_labels(results: pd.DataFrame) -> pd.Series:
    """PASS / FAIL / N/A per result row."""
    return pd.Series(
        np.where(~results["applicable"], NOT_APPLICABLE, np.where(results["passed"], PASS, FAIL)),
        index=results.index,
    )


def _empty_results() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "asset": pd.Series(dtype="object"), "analysis_date": pd.Series(dtype="datetime64[ns]"),
            "check": pd.Series(dtype="object"), "severity": pd.Series(dtype="object"),
            "passed": pd.Series(dtype=bool), "applicable": pd.Series(dtype=bool),
            "detail": pd.Series(dtype="object"), "observed": pd.Series(dtype="float64"),
        }
    )


# --- the partition under test -----------------------------------------------------------------
def _as_dates(values) -> pd.Series:
    s = pd.Series(values)
    if pd.api.types.is_datetime64_dtype(s.dtype):  # already dates (the asset path): no re-parse
        return s.astype("datetime64[ns]")
    s = to_datetime(s, errors="coerce")
    if getattr(s.dt, "tz", None) is not None:
        s = s.dt.tz_localize(None)
    return s.dt.normalize().astype("datetime64[ns]")


def _date_index(values) -> pd.DatetimeIndex:
    d = _as_dates(list(values) if not isinstance(values, pd.Series) else values).dropna()
    return pd.DatetimeIndex(d).unique().sort_values()


@dataclass
class _Partition:
    asset: str
    entity: str
    dates: pd.DatetimeIndex
    rows: pd.DataFrame  # rows dated in `dates`
    null_date_rows: pd.DataFrame
    failures: pd.DataFrame  # the asset's failure rows dated in `dates`
    null_date_failures: pd.DataFrame
    candidates: pd.DataFrame | None  # analysis_date, entity (complete on candidate_dates)
    candidate_dates: pd.DatetimeIndex
    slate: pd.Series  # N per date (NaN unknown)
    per: pd.DataFrame  # per date: rows, entity_failures, date_level, date_level_categories
    config: ChecksConfig

    @classmethod
    def build(cls, asset, dates, rows, failures, candidates, slate_sizes, candidate_dates, config):
        entity = ENTITY_COLUMN[asset]
        rows = rows.copy() if rows is not None else pd.DataFrame(columns=["analysis_date", entity])
        for col in ("analysis_date", entity):
            if col not in rows.columns:
                rows[col] = pd.Series([None] * len(rows), dtype="object")
        rows["analysis_date"] = _as_dates(rows["analysis_date"]).to_numpy()
        fails = failures.copy() if failures is not None else pd.DataFrame(
            columns=["processor_name", "analysis_date", "entity_id", "failure_category"])
        if len(fails) and "processor_name" in fails.columns:
            fails = fails[fails["processor_name"] == asset]
        fails["analysis_date"] = _as_dates(fails["analysis_date"]).to_numpy()
        if dates is None:
            dates = pd.concat([rows["analysis_date"], fails["analysis_date"]])
        dates = _date_index(dates)

        null_rows = rows[rows["analysis_date"].isna()]
        rows = rows[rows["analysis_date"].isin(dates)].reset_index(drop=True)
        null_fails = fails[fails["analysis_date"].isna()]
        fails = fails[fails["analysis_date"].isin(dates)].reset_index(drop=True)

        if candidates is not None:
            key = entity if entity in candidates.columns else (
                "entity_id" if "entity_id" in candidates.columns else None)
            if key is None:
                raise KeyError(f"candidates for {asset} need analysis_date and {entity} (or entity_id) columns")
            cand = pd.DataFrame({"analysis_date": _as_dates(candidates["analysis_date"]).to_numpy(),
                                 entity: candidates[key].to_numpy()})
            candidate_dates = dates if candidate_dates is None else _date_index(candidate_dates).intersection(dates)
            cand = cand[cand["analysis_date"].isin(candidate_dates)].drop_duplicates().reset_index(drop=True)
        else:
            cand, candidate_dates = None, pd.DatetimeIndex([])

        per = pd.DataFrame(index=dates)
        per["rows"] = rows.groupby("analysis_date").size().reindex(dates, fill_value=0).astype(int)
        date_level = fails["entity_id"] == DATE_LEVEL
        per["entity_failures"] = (
            fails[~date_level].groupby("analysis_date").size().reindex(dates, fill_value=0).astype(int))
        per["date_level"] = (
            fails[date_level].groupby("analysis_date").size().reindex(dates, fill_value=0).astype(int))
        cats = (fails[date_level].groupby("analysis_date")["failure_category"]
                .agg(lambda s: ", ".join(sorted(set(map(str, s))))))
        per["date_level_categories"] = cats.reindex(dates).fillna("")

        slate = _slate_series(slate_sizes, dates)
        if cand is not None and asset in SLATE_ASSETS:  # the candidates of a slate asset are the slate
            counts = cand.groupby("analysis_date").size().reindex(candidate_dates, fill_value=0)
            fill = counts.reindex(dates)
            slate = slate.where(slate.notna(), fill)
        return cls(asset, entity, dates, rows, null_rows, fails, null_fails, cand, candidate_dates,
                   slate.astype("float64"), per, config)

    def frame(self) -> pd.DataFrame:
        """A result frame for every date: passed, applicable, empty detail, NaN observed."""
        return pd.DataFrame(
            {
                "analysis_date": self.dates,
                "passed": np.ones(len(self.dates), dtype=bool),
                "applicable": np.ones(len(self.dates), dtype=bool),
                "detail": np.full(len(self.dates), "", dtype=object),
                "observed": np.zeros(len(self.dates), dtype="float64"),
            }
        ).set_index("analysis_date", drop=False)

    @property
    def max_items(self) -> int:
        return self.config.detail_max_items


def _slate_series(slate_sizes, dates: pd.DatetimeIndex) -> pd.Series:
    if slate_sizes is None:
        return pd.Series(np.nan, index=dates, dtype="float64")
    if isinstance(slate_sizes, dict):
        slate_sizes = pd.Series(slate_sizes)
    if isinstance(slate_sizes, pd.Series):
        s = slate_sizes.copy()
        s.index = pd.DatetimeIndex(_as_dates(list(s.index)))
        return pd.to_numeric(s, errors="coerce").astype("float64").groupby(level=0).last().reindex(dates)
    values = np.asarray(slate_sizes, dtype="float64")
    if len(values) != len(dates):
        raise ValueError(f"slate_sizes has {len(values)} values for {len(dates)} dates")
    return pd.Series(values, index=dates)


# --- text -------------------------------------------------------------------------------------
def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
        return "NULL"
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v)).lower()
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if np.isinf(v):
            return "inf" if v > 0 else "-inf"
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else f"{v:.6g}"
    return str(v)


def _day(d) -> str:
    return pd.Timestamp(d).strftime("%Y-%m-%d")


def _key(v) -> str:
    return "NULL" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)


def _listing(items: pd.DataFrame, column: str, max_items: int, sep: str = ", ") -> pd.Series:
    """Per analysis_date: the first max_items texts of `column`, then '... and N more'."""
    if not len(items):
        return pd.Series(dtype=object)

    def join(texts: pd.Series) -> str:
        t = list(texts)
        shown = sep.join(t[:max_items])
        return shown + (f"{sep}... and {len(t) - max_items} more" if len(t) > max_items else "")

    return items.groupby("analysis_date", sort=True)[column].agg(join)


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def _set(res: pd.DataFrame, dates, column: str, values) -> None:
    res.loc[pd.DatetimeIndex(dates), column] = values


def _not_applicable(res: pd.DataFrame, mask, detail) -> None:
    mask = np.asarray(mask, dtype=bool)
    res.loc[mask, "applicable"] = False
    res.loc[mask, "passed"] = True
    res.loc[mask, "observed"] = np.nan
    res.loc[mask, "detail"] = detail if np.isscalar(detail) else np.asarray(detail, dtype=object)[mask]


# --- the checks -------------------------------------------------------------------------------
def _primary_key_unique(p: _Partition) -> pd.DataFrame:
    res = p.frame()
    keyed = p.rows[p.rows[p.entity].notna()]
    counts = keyed.groupby(["analysis_date", p.entity], sort=True).size().rename("n").reset_index()
    dup = counts[counts["n"] > 1].copy()
    dup["text"] = [f"({_day(d)}, {_key(k)}) x{n}"
                   for d, k, n in zip(dup["analysis_date"], dup[p.entity], dup["n"])]
    f = p.failures[p.failures["entity_id"].notna()]
    fkey = ["processor_name", "analysis_date", "entity_id"]
    fcounts = (f.groupby(fkey, sort=True).size().rename("n").reset_index()
               if len(f) else pd.DataFrame(columns=["processor_name", "analysis_date", "entity_id", "n"]))
    fdup = fcounts[fcounts["n"] > 1].copy()
    fdup["text"] = [f"({a}, {_day(d)}, {_key(k)}) x{n}" for a, d, k, n in
                    zip(fdup["processor_name"], fdup["analysis_date"], fdup["entity_id"], fdup["n"])]

    def describe(frame: pd.DataFrame, what: str) -> pd.Series:
        if not len(frame):
            return pd.Series(dtype=object)
        keys = frame.groupby("analysis_date").size()
        extra = frame.groupby("analysis_date")["n"].sum()
        listing = _listing(frame, "text", p.max_items)
        return pd.Series(
            {d: f"{_plural(int(keys[d]), 'duplicate ' + what + ' key')} ({int(extra[d])} rows): {listing[d]}"
             for d in keys.index})

    row_text, fail_text = describe(dup, "row"), describe(fdup, "failure")
    n_dup = (dup.groupby("analysis_date").size().reindex(p.dates, fill_value=0)
             + fdup.groupby("analysis_date").size().reindex(p.dates, fill_value=0))
    res["observed"] = n_dup.astype(float).to_numpy()
    res["passed"] = (n_dup == 0).to_numpy()
    n_fail_rows = p.failures.groupby("analysis_date").size().reindex(p.dates, fill_value=0)
    res["detail"] = [f"{r} row keys and {fr} failure keys unique" for r, fr in zip(p.per["rows"], n_fail_rows)]
    bad = pd.concat([row_text, fail_text], axis=1).reindex(p.dates)
    joined = bad.apply(lambda r: "; ".join(t for t in r if isinstance(t, str)), axis=1) if len(bad) else bad
    mask = (n_dup > 0).to_numpy()
    if mask.any():
        res.loc[mask, "detail"] = joined[mask].to_numpy()
    return res.reset_index(drop=True)


def _keys_not_null(p: _Partition) -> pd.DataFrame:
    res = p.frame()
    parts = []
    null_rows = p.rows[p.rows[p.entity].isna()]
    if len(null_rows):
        c = null_rows.groupby("analysis_date").size()
        parts.append(pd.DataFrame({"analysis_date": c.index, "n": c.values,
                                   "text": [_plural(int(n), "row") + f" with NULL {p.entity}" for n in c.values]}))
    null_fail = p.failures[p.failures["entity_id"].isna()]
    if len(null_fail):
        c = null_fail.groupby("analysis_date").size()
        parts.append(pd.DataFrame({"analysis_date": c.index, "n": c.values,
                                   "text": [_plural(int(n), "failure row") + " with NULL entity_id"
                                            for n in c.values]}))
    # Rows without a date cannot be placed in a partition: they are reported on the first date
    # checked (the only one when a single partition is checked).
    if len(p.dates):
        first = p.dates[0]
        suffix = "" if len(p.dates) == 1 else " (date unknown; reported on the first date checked)"
        unplaced = ((p.null_date_rows, "row", p.entity), (p.null_date_failures, "failure row", "entity_id"))
        for frame, what, key in unplaced:
            if len(frame):
                keys = ", ".join(_key(k) for k in list(frame[key])[: p.max_items])
                more = f", ... and {len(frame) - p.max_items} more" if len(frame) > p.max_items else ""
                parts.append(pd.DataFrame({"analysis_date": [first], "n": [len(frame)],
                                           "text": [f"{_plural(len(frame), what)} with NULL analysis_date "
                                                    f"({key}: {keys}{more}){suffix}"]}))
    if parts:
        allp = pd.concat(parts, ignore_index=True)
        n = allp.groupby("analysis_date")["n"].sum().reindex(p.dates, fill_value=0)
        text = allp.groupby("analysis_date")["text"].agg("; ".join).reindex(p.dates)
    else:
        n = pd.Series(0, index=p.dates)
        text = pd.Series(index=p.dates, dtype=object)
    res["observed"] = n.astype(float).to_numpy()
    res["passed"] = (n == 0).to_numpy()
    res["detail"] = np.where(n.to_numpy() > 0, text.to_numpy(dtype=object), "keys non-NULL")
    return res.reset_index(drop=True)


def _outcome_consistent(p: _Partition) -> pd.DataFrame:
    res = p.frame()
    rows, ent = p.per["rows"].to_numpy(), p.per["entity_failures"].to_numpy()
    dl = p.per["date_level"].to_numpy() > 0
    cats = p.per["date_level_categories"].to_numpy(dtype=object)
    beside = dl & (rows + ent > 0)
    alone = ~dl & (rows == 0) & (ent > 0)
    detail = []
    for i in range(len(p.dates)):
        if beside[i]:
            detail.append(f"DATE_LEVEL failure ({cats[i]}) beside {_plural(int(rows[i]), 'row')} "
                          f"and {_plural(int(ent[i]), 'entity failure')}")
        elif alone[i]:
            detail.append(f"{_plural(int(ent[i]), 'entity failure')} but 0 rows and no DATE_LEVEL failure "
                          f"(a compute that leaves 0 rows is a PROCESSING_ERROR)")
        elif dl[i]:
            detail.append(f"DATE_LEVEL failure ({cats[i]}), 0 rows")
        elif rows[i] > 0:
            detail.append(f"{_plural(int(rows[i]), 'row')}, {_plural(int(ent[i]), 'entity failure')}, "
                          "no DATE_LEVEL failure")
        else:
            detail.append(NOTHING_STORED)
    res["detail"] = detail
    res["passed"] = ~(beside | alone)
    res["observed"] = np.where(beside, rows + ent, np.where(alone, ent, 0)).astype(float)
    return res.reset_index(drop=True)


def _entity_accounting(p: _Partition) -> pd.DataFrame:
    res = p.frame()
    dl = p.per["date_level"].to_numpy() > 0
    known = p.dates.isin(p.candidate_dates)
    applicable = known & ~dl
    nothing = (p.per["rows"].to_numpy() == 0) & (p.per["entity_failures"].to_numpy() == 0)
    not_reached = "not applicable: " + (
        "candidates unknown" if p.candidates is None else "compute step not reached")
    why = np.where(
        dl, "not applicable: date-level failure (" + p.per["date_level_categories"].astype(str) + ")",
        np.where(nothing, not_reached + f" ({NOTHING_STORED})", not_reached),
    )
    _not_applicable(res, ~applicable, why)
    app_dates = p.dates[applicable]
    if not len(app_dates):
        return res.reset_index(drop=True)
    e = p.entity
    cand = p.candidates[p.candidates["analysis_date"].isin(app_dates)].assign(c=1)
    r = p.rows[p.rows["analysis_date"].isin(app_dates) & p.rows[e].notna()][["analysis_date", e]].assign(r=1)
    f = p.failures[p.failures["analysis_date"].isin(app_dates) & (p.failures["entity_id"] != DATE_LEVEL)
                   & p.failures["entity_id"].notna()]
    f = pd.DataFrame({"analysis_date": f["analysis_date"].to_numpy(), e: f["entity_id"].to_numpy(), "f": 1})
    allk = pd.concat([cand, r, f], ignore_index=True)
    for c in ("c", "r", "f"):
        allk[c] = allk[c].fillna(0).astype(int)
    flags = allk.groupby(["analysis_date", e], sort=True)[["c", "r", "f"]].max().reset_index()
    flags["text"] = flags[e].map(_key)
    unacc = flags[(flags["c"] == 1) & (flags["r"] == 0) & (flags["f"] == 0)]
    both = flags[(flags["r"] == 1) & (flags["f"] == 1)]
    extra = flags[(flags["c"] == 0) & ((flags["r"] == 1) | (flags["f"] == 1))]

    def count(frame):
        return frame.groupby("analysis_date").size().reindex(app_dates, fill_value=0)

    n_cand, n_row, n_fail = (count(flags[flags[c] == 1]) for c in ("c", "r", "f"))
    n_un, n_both, n_extra = count(unacc), count(both), count(extra)
    l_un, l_both, l_extra = (_listing(x, "text", p.max_items).reindex(app_dates) for x in (unacc, both, extra))
    details = []
    for d in app_dates:
        parts = []
        if n_un[d]:
            nothing = " (nothing stored for this date)" if n_row[d] == 0 and n_fail[d] == 0 else ""
            parts.append(f"{n_un[d]} of {_plural(int(n_cand[d]), 'candidate')} without a row or a failure"
                         f"{nothing}: {l_un[d]}")
        if n_both[d]:
            parts.append(f"{_plural(int(n_both[d]), 'entity', 'entities')} with both a row and a failure: "
                         f"{l_both[d]}")
        if n_extra[d]:
            parts.append(f"{_plural(int(n_extra[d]), 'non-candidate')} with a row or a failure: {l_extra[d]}")
        details.append("; ".join(parts) if parts else
                       f"{_plural(int(n_cand[d]), 'candidate')} = {_plural(int(n_row[d]), 'row')} "
                       f"+ {_plural(int(n_fail[d]), 'entity failure')}")
    observed = (n_un + n_both + n_extra)
    _set(res, app_dates, "detail", details)
    _set(res, app_dates, "observed", observed.astype(float).to_numpy())
    _set(res, app_dates, "passed", (observed == 0).to_numpy())
    return res.reset_index(drop=True)


def _row_minimum(p: _Partition) -> pd.DataFrame:
    res = p.frame()
    rule = p.config.row_minimum.row_min[p.asset]
    rows = p.per["rows"].to_numpy()
    slate = p.slate.to_numpy()
    required = [rule.required(None if np.isnan(n) else float(n)) for n in slate]
    known = np.array([r is not None for r in required], dtype=bool)
    req = np.array([r if r is not None else 0 for r in required], dtype=np.int64)
    res["observed"] = rows.astype(float)
    res["passed"] = rows >= req
    how = [f" ({rule.describe(None if np.isnan(n) else n)})" if rule.needs_slate else "" for n in slate]
    res["detail"] = [
        f"{r} rows >= {q}{h}" if r >= q else f"{r} rows < {q} required{h}" for r, q, h in zip(rows, req, how)
    ]
    _not_applicable(res, ~known, "not applicable: slate size N unknown")
    _not_applicable(res, rows == 0, "not applicable: 0 rows")
    return res.reset_index(drop=True)


def _value_ranges(p: _Partition) -> pd.DataFrame:
    res = p.frame()
    ranges = {c: r for c, r in p.config.value_ranges.ranges_for(p.asset).items() if c in p.rows.columns}
    bad_parts = []
    for column, rng in ranges.items():
        x = pd.to_numeric(p.rows[column], errors="coerce").astype("float64").to_numpy()
        mask = rng.violations(x)
        if mask.any():
            sub = p.rows.loc[mask, ["analysis_date", p.entity]]
            word = "not in" if rng.values is not None else "outside"
            bad_parts.append(pd.DataFrame({
                "analysis_date": sub["analysis_date"].to_numpy(),
                "text": [f"{column} {_fmt(v)} {word} {rng} for {_key(k)}" for v, k in zip(x[mask], sub[p.entity])],
            }))
    if bad_parts:
        bad = pd.concat(bad_parts, ignore_index=True)
        n = bad.groupby("analysis_date").size().reindex(p.dates, fill_value=0)
        listing = _listing(bad, "text", p.max_items, sep="; ").reindex(p.dates)
    else:
        n = pd.Series(0, index=p.dates)
        listing = pd.Series(index=p.dates, dtype=object)
    res["observed"] = n.astype(float).to_numpy()
    res["passed"] = (n == 0).to_numpy()
    res["detail"] = [
        (lst if k == 1 else f"{k} values out of range: {lst}") if k else f"{len(ranges)} ranged columns in range"
        for k, lst in zip(n.to_numpy(), listing.to_numpy(dtype=object))
    ]
    _not_applicable(res, p.per["rows"].to_numpy() == 0, "not applicable: 0 rows")
    return res.reset_index(drop=True)


def _zone_rates_sum(p: _Partition) -> pd.DataFrame:
    res = p.frame()
    cfg = p.config.zone_rates_sum
    cols = [c for c in cfg.columns if c in p.rows.columns]
    missing_cols = [c for c in cfg.columns if c not in p.rows.columns]
    values = np.column_stack(
        [pd.to_numeric(p.rows[c], errors="coerce").astype("float64").to_numpy() for c in cols]
    ) if cols else np.zeros((len(p.rows), 0))
    present = ~np.isnan(values)
    n_present = present.sum(axis=1)
    partial = (n_present > 0) & (n_present < len(cols))
    total = np.where(present, values, 0.0).sum(axis=1)
    off = (n_present == len(cols)) & (len(cols) > 0) & (np.abs(total - cfg.total) > cfg.tolerance + 1e-9)
    texts = []
    keys = p.rows[p.entity].map(_key).to_numpy(dtype=object) if len(p.rows) else np.array([], dtype=object)
    summed = " + ".join(cols)
    for i in np.flatnonzero(partial | off):
        if partial[i]:
            nulls = ", ".join(c for c, ok in zip(cols, present[i]) if not ok)
            texts.append(f"{nulls} NULL beside non-NULL rates for {keys[i]}")
        else:
            texts.append(f"{summed} = {_fmt(round(total[i], 6))} (not {_fmt(cfg.total)} +- {_fmt(cfg.tolerance)}) "
                         f"for {keys[i]}")
    bad = pd.DataFrame({"analysis_date": p.rows["analysis_date"].to_numpy()[partial | off], "text": texts})
    n = bad.groupby("analysis_date").size().reindex(p.dates, fill_value=0)
    listing = _listing(bad, "text", p.max_items, sep="; ").reindex(p.dates)
    with_rates = pd.Series(n_present == len(cols), index=p.rows.index).groupby(
        p.rows["analysis_date"]).sum().reindex(p.dates, fill_value=0)
    res["observed"] = n.astype(float).to_numpy()
    res["passed"] = (n == 0).to_numpy() & (not missing_cols)
    res["detail"] = [
        (f"{k} rows with inconsistent zone rates: {lst}" if k > 1 else lst) if k else
        f"{int(w)} rows sum to {_fmt(cfg.total)} +- {_fmt(cfg.tolerance)}, the others have all rates NULL"
        for k, lst, w in zip(n.to_numpy(), listing.to_numpy(dtype=object), with_rates.to_numpy())
    ]
    if missing_cols:
        res["detail"] = f"columns missing from the rows: {', '.join(missing_cols)}"
    _not_applicable(res, p.per["rows"].to_numpy() == 0, "not applicable: 0 rows")
    return res.reset_index(drop=True)


def _non_constant_features(p: _Partition) -> pd.DataFrame:
    res = p.frame()
    cfg = p.config.non_constant_features
    cols = [c for c in cfg.columns.get(p.asset, ()) if c in p.rows.columns]
    parts = []
    for column in cols:
        x = pd.to_numeric(p.rows[column], errors="coerce").astype("float64")
        g = x.groupby(p.rows["analysis_date"])
        stats = pd.DataFrame({"count": g.count(), "nunique": g.nunique(), "value": g.first()})
        flagged = stats[(stats["count"] >= cfg.min_rows) & (stats["nunique"] == 1)]
        if len(flagged):
            parts.append(pd.DataFrame({
                "analysis_date": flagged.index,
                "text": [f"{column} = {_fmt(v)} in all {int(c)} non-NULL values"
                         for v, c in zip(flagged["value"], flagged["count"])],
            }))
    if parts:
        bad = pd.concat(parts, ignore_index=True)
        n = bad.groupby("analysis_date").size().reindex(p.dates, fill_value=0)
        listing = _listing(bad, "text", len(cols) or 1, sep="; ").reindex(p.dates)
    else:
        n = pd.Series(0, index=p.dates)
        listing = pd.Series(index=p.dates, dtype=object)
    res["observed"] = n.astype(float).to_numpy()
    res["passed"] = (n == 0).to_numpy()
    res["detail"] = [
        f"{_plural(int(k), 'constant column')}: {lst}" if k else f"{len(cols)} columns vary"
        for k, lst in zip(n.to_numpy(), listing.to_numpy(dtype=object))
    ]
    rows = p.per["rows"].to_numpy()
    _not_applicable(res, rows < cfg.min_rows, np.array(
        [f"not applicable: {r} rows < {cfg.min_rows}" for r in rows], dtype=object))
    return res.reset_index(drop=True)


_CHECKS: dict[str, Callable[[_Partition], pd.DataFrame]] = {
    PRIMARY_KEY_UNIQUE: _primary_key_unique,
    KEYS_NOT_NULL: _keys_not_null,
    OUTCOME_CONSISTENT: _outcome_consistent,
    ENTITY_ACCOUNTING: _entity_accounting,
    ROW_MINIMUM: _row_minimum,
    VALUE_RANGES: _value_ranges,
    ZONE_RATES_SUM: _zone_rates_sum,
    NON_CONSTANT_FEATURES: _non_constant_features,
}


def check_names(asset: str) -> tuple[str, ...]:
    return CHECK_NAMES[asset]


def iter_check_specs() -> Iterable[tuple[str, str, str, str]]:
    """(asset, check, default severity, description) for declaring Dagster AssetCheckSpecs."""
    config = load_config()
    for asset, names in CHECK_NAMES.items():
        for name in names:
            yield asset, name, config.severity(name).value, CHECK_DESCRIPTIONS[name]
