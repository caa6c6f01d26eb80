"""`nba-precompute check`: the asset checks over stored tables, without recomputing anything.

`audit` reads, for a date range, each asset's stored rows and failure rows, the schedule (for
the season calendar) and the Phase 3 tables that define the candidates and slate sizes, then
evaluates the §8 checks and the volume check (evaluate.evaluate_checks; the volume band's
references before `start` come from one grouped count query, operations.counts). Only dates that can hold data are checked:
every date of a season window for psza and tdza, every game date for pdc, pcf and mlfs.
Candidates are known for the dates past the bootstrap period (entity_accounting applies there
unless a DATE_LEVEL failure is stored).

`run_check` prints the failures and warnings in full, then per (asset, check) the count of
PASS / FAIL / N/A, optionally writes every result as JSON, and returns 1 when an ERROR check
failed (else 0).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Sequence, TextIO

import numpy as np
import pandas as pd

from nba_precompute.checks.candidates import candidates_for, read_candidate_inputs, slate_sizes_for
from nba_precompute.checks.config import ChecksConfig, load_config
from nba_precompute.checks.evaluate import (
    FAIL,
    NOT_APPLICABLE,
    PASS,
    RESULT_COLUMNS,
    empty_results,
    evaluate_checks,
    failed,
    result_labels,
)
from nba_precompute.checks.partition import slate_based
from nba_precompute.checks.registry import CHECK_NAMES
from nba_precompute.operations.counts import volume_counts
from nba_precompute.phase3.contract import SCHEDULE, UPCOMING_PLAYER_GAME_CONTEXT as UPCG, Table
from nba_precompute.season import SeasonCalendar
from nba_precompute.registry import ASSET_NAMES, ASSET_TABLES
from nba_precompute.tables import FAILURES


def audit(warehouse, start: dt.date, end: dt.date, assets: Sequence[str] = ASSET_NAMES,
          config: ChecksConfig | None = None) -> pd.DataFrame:
    """The check results (evaluate.RESULT_COLUMNS) of `assets` for every checkable date in [start, end]."""
    config = config or load_config()
    assets = [a for a in ASSET_NAMES if a in set(assets)]  # dependency order
    calendar = SeasonCalendar(warehouse.read_required(SCHEDULE))
    cal = calendar.frame(pd.date_range(pd.Timestamp(start), pd.Timestamp(end), freq="D"))

    checked: dict[str, pd.DataFrame] = {}
    for asset in assets:
        eligible = cal["in_season"] & (cal["is_game_date"] if slate_based(asset) else True)
        if eligible.any():
            checked[asset] = cal[eligible]
    if not checked:
        return empty_results()

    failures = _read_optional(warehouse, FAILURES, start, end)
    candidate_dates = {a: pd.DatetimeIndex(c.loc[~c["bootstrap"], "analysis_date"]) for a, c in checked.items()}
    needing = [a for a in checked if len(candidate_dates[a])]
    all_candidate_dates = pd.DatetimeIndex(sorted({d for a in needing for d in candidate_dates[a]}))
    inputs = read_candidate_inputs(needing, calendar, all_candidate_dates, warehouse.read_required)
    needs_slate = [a for a in checked if slate_based(a) or config.row_minimum.row_min[a].needs_slate]
    upcg = warehouse.read_required(UPCG, start, end) if needs_slate else None  # N(D) for ROW_MIN
    # the volume band's references before `start`: one grouped query for every asset
    before = pd.Timestamp(start)
    history = volume_counts(warehouse, (before - pd.Timedelta(days=config.volume.history_days)).date(),
                            (before - pd.Timedelta(days=1)).date(), list(checked))

    results = []
    for asset, days in checked.items():
        dates = pd.DatetimeIndex(days["analysis_date"])
        rows = _read_optional(warehouse, ASSET_TABLES[asset], start, end)
        own = failures[failures["processor_name"] == asset] if len(failures) else failures
        # entity_accounting needs evidence that the compute step ran: something stored for D.
        stored = pd.DatetimeIndex(pd.to_datetime(pd.concat([rows["analysis_date"], own["analysis_date"]])).dropna())
        cdates = candidate_dates[asset].intersection(stored.normalize().unique())
        candidates = candidates_for(asset, inputs, calendar, cdates) if len(cdates) else pd.DataFrame(
            {"analysis_date": pd.Series(dtype="datetime64[ns]"), "entity_id": pd.Series(dtype="object")})
        slate = slate_sizes_for(upcg, dates) if asset in needs_slate else None
        results.append(evaluate_checks(asset, dates, rows, own, candidates, slate, config, candidate_dates=cdates,
                                       calendar=calendar, history=history))
    return pd.concat(results, ignore_index=True)[RESULT_COLUMNS]


def _read_optional(warehouse, table: Table, start, end) -> pd.DataFrame:
    """A Phase 4 / failure table's rows in [start, end]; empty (with its columns) if never created."""
    if not warehouse.table_exists(table):
        return pd.DataFrame({c: pd.Series(dtype="object") for c in table.column_names})
    return warehouse.read(table, start, end)


# --- report -----------------------------------------------------------------------------------
def summary(results: pd.DataFrame) -> pd.DataFrame:
    """Per (asset, check): severity and the count of PASS, FAIL and N/A dates."""
    labelled = results.assign(result=result_labels(results))
    counts = (labelled.groupby(["asset", "check", "severity", "result"]).size()
              .unstack("result", fill_value=0).reindex(columns=[PASS, FAIL, NOT_APPLICABLE], fill_value=0))
    counts = counts.reset_index()
    order = {(a, c): i for i, (a, c) in enumerate((a, c) for a in ASSET_NAMES for c in CHECK_NAMES[a])}
    counts["_o"] = [order.get((a, c), 10**6) for a, c in zip(counts["asset"], counts["check"])]
    return counts.sort_values("_o").drop(columns="_o").reset_index(drop=True)


def format_report(results: pd.DataFrame, start, end, assets: Sequence[str]) -> str:
    labels = result_labels(results)
    bad = failed(results)
    n_err = int((bad["severity"] == "ERROR").sum())
    n_warn = len(bad) - n_err
    lines = [
        f"nba-precompute check {start}..{end}: {', '.join(assets)}",
        f"{len(results)} results: {int((labels == PASS).sum())} PASS, {int((labels == FAIL).sum())} FAIL "
        f"({n_err} ERROR, {n_warn} WARN), {int((labels == NOT_APPLICABLE).sum())} N/A",
        "",
    ]
    if len(bad):
        order = bad.assign(_sev=(bad["severity"] != "ERROR").astype(int))
        order = order.sort_values(["_sev", "asset", "analysis_date", "check"],
                                  key=lambda s: s.map({a: i for i, a in enumerate(ASSET_NAMES)}) if s.name == "asset" else s,
                                  kind="mergesort")
        table = pd.DataFrame({
            "asset": order["asset"], "date": order["analysis_date"].dt.strftime("%Y-%m-%d"),
            "check": order["check"], "severity": order["severity"], "result": FAIL, "detail": order["detail"],
        })
        lines.append("Failed checks (ERROR first, then WARN):")
        lines += _text_table(table)
        lines.append("")
    else:
        lines.append("No check failed.")
        lines.append("")
    nothing = results[nothing_stored(results)]
    if len(nothing):
        lines.append("Nothing stored (no row, no failure: not materialized?) on:")
        for asset, group in nothing.groupby("asset", sort=False):
            lines.append(f"  {asset}: {_date_runs(group['analysis_date'])} ({_n_dates(len(group))})")
        lines.append("")
    if len(results):
        lines.append("Results per asset and check (dates):")
        lines += _text_table(summary(results))
        lines.append("")
    lines.append(f"Result: FAIL ({n_err} ERROR check result{'s' if n_err != 1 else ''} failed)" if n_err else
                 "Result: OK (no ERROR check failed" + (f"; {n_warn} warnings)" if n_warn else ")"))
    return "\n".join(lines)


def nothing_stored(results: pd.DataFrame) -> pd.Series:
    """Mask of the outcome_consistent results of dates with no row and no failure row at all."""
    counts = ("rows", "entity_failures", "date_level_failures")
    return (results["check"] == "outcome_consistent") & results["measures"].map(
        lambda m: isinstance(m, dict) and all(m.get(c) == 0 for c in counts))


def _n_dates(n: int) -> str:
    return f"{n} date{'s' if n != 1 else ''}"


def _date_runs(dates) -> str:
    """Dates as comma-separated runs of consecutive days: 2022-11-10..2022-11-14, 2022-11-20."""
    days = sorted(pd.to_datetime(pd.Series(dates)).dt.normalize().unique())
    runs, start, prev = [], None, None
    for d in days:
        if start is None:
            start = prev = d
        elif d - prev == pd.Timedelta(days=1):
            prev = d
        else:
            runs.append((start, prev))
            start = prev = d
    if start is not None:
        runs.append((start, prev))
    fmt = lambda d: pd.Timestamp(d).strftime("%Y-%m-%d")  # noqa: E731
    return ", ".join(fmt(a) if a == b else f"{fmt(a)}..{fmt(b)}" for a, b in runs)


def _text_table(frame: pd.DataFrame) -> list[str]:
    """Left-aligned columns; the last column is not padded (details can be long)."""
    cols = list(frame.columns)
    cells = [[str(c) for c in cols]] + [[str(v) for v in row] for row in frame.itertuples(index=False)]
    widths = [max(len(r[i]) for r in cells) for i in range(len(cols) - 1)]
    out = []
    for r in cells:
        out.append("  ".join([v.ljust(w) for v, w in zip(r[:-1], widths)] + [r[-1]]).rstrip())
    return out


def to_json(results: pd.DataFrame, start, end, assets: Sequence[str]) -> dict:
    labels = result_labels(results)
    bad = failed(results)
    records = []
    for row, label in zip(results.itertuples(index=False), labels):
        observed = row.observed
        records.append({
            "asset": row.asset,
            "analysis_date": pd.Timestamp(row.analysis_date).strftime("%Y-%m-%d"),
            "check": row.check,
            "severity": row.severity,
            "result": label,
            "passed": bool(row.passed),
            "applicable": bool(row.applicable),
            "detail": row.detail,
            "observed": None if observed is None or np.isnan(observed) else
            (int(observed) if float(observed).is_integer() else float(observed)),
        })
    n_err = int((bad["severity"] == "ERROR").sum())
    return {
        "start": str(start),
        "end": str(end),
        "assets": list(assets),
        "ok": n_err == 0,
        "error_failures": n_err,
        "warning_failures": len(bad) - n_err,
        "summary": summary(results).rename(columns={NOT_APPLICABLE: "NA"}).to_dict(orient="records")
        if len(results) else [],
        "results": records,
    }


def run_check(args, warehouse, out: TextIO | None = None) -> int:
    """The `check` command: print the report, write JSON (--json FILE, '-' = stdout, in which case
    the report goes to stderr), return 1 if an ERROR check failed, else 0."""
    assets = list(getattr(args, "assets", None) or ASSET_NAMES)
    results = audit(warehouse, args.start, args.end, assets)
    json_target = getattr(args, "json", None)
    to_stdout = json_target is not None and str(json_target) == "-"
    report_stream = out or (sys.stderr if to_stdout else sys.stdout)
    print(format_report(results, args.start, args.end, assets), file=report_stream)
    if json_target is not None:
        text = json.dumps(to_json(results, args.start, args.end, assets), indent=2)
        if to_stdout:
            print(text, file=sys.stdout)
        else:
            Path(json_target).parent.mkdir(parents=True, exist_ok=True)
            Path(json_target).write_text(text + "\n", encoding="utf-8")
            print(f"wrote {json_target}", file=report_stream)
    return 1 if len(failed(results, "ERROR")) else 0
