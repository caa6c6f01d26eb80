"""The engine: every registered check of an asset over a range of partitions, as one frame.

Pure pandas, no Dagster import: the Dagster asset checks (after a materialization) and the
`nba-precompute check` audit of stored tables call the same `evaluate_checks`.

Result frame, one row per (analysis_date, check), columns RESULT_COLUMNS:

- asset, analysis_date (datetime64), check, severity (ERROR / WARN, from the config);
- applicable: False when the check's registered conditions do not hold on that date (e.g.
  value_ranges on a partition with 0 rows); such a row has passed = True, says why in `detail`
  and has no observed value, threshold, examples or measures;
- passed: the rule holds; a check *fails* when applicable and not passed;
- detail: a human sentence naming the offending keys / values (or a short summary on success);
- observed: the number the check measured (registry entry `observed` says what it counts);
- threshold: the number observed is compared with (row_minimum: ROW_MIN of the date;
  zone_rates_sum: the tolerance; non_constant_features: min_rows), NaN when the check has none;
- examples: the first detail_max_items offending items, JSON-safe dicts;
- measures: the named numbers behind the verdict (e.g. candidates, rows, entity_failures).

`CheckResult.metadata()` is what a Dagster check result can carry: data, never the detail parsed.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from nba_precompute.checks.config import ChecksConfig, Severity, load_config
from nba_precompute.checks.partition import Partition
from nba_precompute.checks.registry import checks_for
from nba_precompute.checks.text import plain

RESULT_COLUMNS = ["asset", "analysis_date", "check", "severity", "passed", "applicable", "detail", "observed",
                  "threshold", "examples", "measures"]
PASS, FAIL, NOT_APPLICABLE = "PASS", "FAIL", "N/A"


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
    calendar=None,
    history: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every check of `checks_for(asset)` for every date of `dates` (one row per date and check).

    rows: the asset's rows (any dates; only `dates` are checked). failures: failure rows with
    FAILURE_COLUMNS (rows of other processors are ignored). candidates: (analysis_date, entity)
    pairs the asset had to account for (entity column ENTITY_COLUMN[asset] or entity_id);
    `candidate_dates`: the dates for which `candidates` is the complete set (default: every date
    of `dates` when candidates is given) -- entity_accounting applies only there, and only when
    the date has no DATE_LEVEL failure. slate_sizes: N(D) per date (a Series indexed by date,
    a dict, or an array aligned with `dates`), for ROW_MIN of the slate assets; when absent the
    candidate count of a candidate date is used. calendar (a SeasonCalendar) and history (stored
    counts per earlier date: asset, date, rows, entity_failures, e.g. operations.counts.
    volume_counts) are the volume check's; without a calendar it does not apply.
    """
    definitions = checks_for(asset)
    config = config or load_config()
    part = Partition.build(asset, dates, rows, failures, candidates, slate_sizes, candidate_dates, config,
                           calendar, history)
    if not len(part.dates):
        return empty_results()
    n = len(part.dates)
    blocks = []
    for definition in definitions:
        settings = config.check(definition.name)
        why_not = definition.not_applicable(part, settings)
        applies = why_not == ""
        res = definition.function(part.restrict(part.dates[applies]), settings)
        at = np.flatnonzero(applies)  # res holds these dates, in order
        block = {
            "check": np.full(n, definition.name, dtype=object),
            "severity": np.full(n, settings.severity.value, dtype=object),
            "passed": np.ones(n, dtype=bool),
            "applicable": applies,
            "detail": np.where(applies, "", "not applicable: " + why_not).astype(object),
            "observed": np.full(n, np.nan),
            "threshold": np.full(n, np.nan),
            "examples": _objects([[] for _ in range(n)]),
            "measures": _objects([{} for _ in range(n)]),
        }
        for column in ("passed", "detail", "observed", "threshold", "examples", "measures"):
            block[column][at] = res[column].to_numpy(dtype=block[column].dtype)
        blocks.append(block)
    # one row per (date, check): dates in order, the checks of a date in registry order
    order = np.arange(n * len(blocks)).reshape(len(blocks), n).T.ravel()
    out = pd.DataFrame({"asset": asset, "analysis_date": np.tile(part.dates.to_numpy(), len(blocks))[order]}
                       | {c: np.concatenate([b[c] for b in blocks])[order] for c in blocks[0]})
    return out[RESULT_COLUMNS]


def _objects(items: list) -> np.ndarray:
    """A 1-d object array of the items (lists and dicts stay elements, never dimensions)."""
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def evaluate_range_result(result, candidates: pd.DataFrame | None = None, config: ChecksConfig | None = None,
                          slate_sizes=None, calendar=None, history: pd.DataFrame | None = None) -> pd.DataFrame:
    """The checks of a pipeline.RangeResult (what a materialization is about to write / wrote).

    Candidates are `candidates`, else `result.candidates` when the result carries them; they are
    complete for the dates whose outcome is COMPUTED. Slate sizes are `slate_sizes`, else the
    `slate` column of `result.days` when present, else the candidate counts. calendar and
    history: the volume check's (evaluate_checks)."""
    from nba_precompute.pipeline import COMPUTED

    if candidates is None:
        candidates = getattr(result, "candidates", None)
    if slate_sizes is None and "slate" in result.days.columns:
        slate = result.days[["analysis_date", "slate"]].dropna()
        slate_sizes = pd.Series(slate["slate"].to_numpy(dtype="float64"), index=pd.DatetimeIndex(slate["analysis_date"]))
    computed = result.days.loc[result.days["outcome"] == COMPUTED, "analysis_date"]
    return evaluate_checks(result.asset, result.dates, result.rows, result.failures, candidates,
                           slate_sizes, config, candidate_dates=computed, calendar=calendar, history=history)


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


def empty_results() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "asset": pd.Series(dtype="object"), "analysis_date": pd.Series(dtype="datetime64[ns]"),
            "check": pd.Series(dtype="object"), "severity": pd.Series(dtype="object"),
            "passed": pd.Series(dtype=bool), "applicable": pd.Series(dtype=bool),
            "detail": pd.Series(dtype="object"), "observed": pd.Series(dtype="float64"),
            "threshold": pd.Series(dtype="float64"), "examples": pd.Series(dtype="object"),
            "measures": pd.Series(dtype="object"),
        }
    )


class CheckResult(NamedTuple):
    """One row of a result frame."""

    asset: str
    analysis_date: pd.Timestamp
    check: str
    severity: str
    passed: bool
    applicable: bool
    detail: str
    observed: float
    threshold: float
    examples: list
    measures: dict

    @property
    def failed(self) -> bool:
        return self.applicable and not self.passed

    def metadata(self) -> dict:
        """JSON-safe data of the result: observed and threshold (when the check has them), its
        measures, the examples, applicable and the detail sentence."""
        out = {"applicable": bool(self.applicable)}
        for name in ("observed", "threshold"):
            value = plain(self.observed if name == "observed" else self.threshold)
            if value is not None:
                out[name] = int(value) if isinstance(value, float) and value.is_integer() else value
        out.update(self.measures or {})
        if self.examples:
            out["examples"] = list(self.examples)
        out["detail"] = self.detail
        return out


def check_results(results: pd.DataFrame) -> list[CheckResult]:
    """The rows of a result frame as CheckResult records, in order."""
    return [CheckResult(*row) for row in results[RESULT_COLUMNS].itertuples(index=False, name=None)]
