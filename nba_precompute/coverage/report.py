"""Formatting a Coverage: an aligned text table, CSV, JSON and Markdown.

JSON shape (`to_json`), stable; scripts may rely on every key below (new keys may be added,
none removed or renamed):

    {
      "start": "YYYY-MM-DD",
      "end": "YYYY-MM-DD",
      "dagster_source": "instance" | "none",        # whether Dagster statuses were read
      "assets": {
        "<asset>": {                                 # in dependency order: psza tdza pdc pcf mlfs
          "expected": n,                             # §9 Expected
          "data_dates": n,                           # expected dates with status OK
          "date_level_failures": {"total": n, "by_category": {"<CATEGORY>": n, ...}},
          "total": n,                                # data_dates + date_level_failures.total
          "status": "COMPLETE" | "EXPLAINED" | "INCOMPLETE",
          "missing_dates": ["YYYY-MM-DD", ...],      # expected dates with status MISSING
          "entity_failures": {"total": n, "by_category": {"<CATEGORY>": n, ...}},
          "no_games": n,                             # dates with status NO_GAMES
          "off_season": n,                           # dates with status OFF_SEASON
          "dagster": {"checked": n,                  # dates with a known Dagster status
                      "disagreements": n,
                      "disagreement_dates": ["YYYY-MM-DD", ...]}
        }
      },
      "dates": [                                     # every (asset, date), asset-major, dates ascending
        {"asset": "<asset>", "date": "YYYY-MM-DD",
         "status": "OK" | "DATE_FAILED" | "NO_GAMES" | "OFF_SEASON" | "MISSING",
         "category": "<CATEGORY>" | null,            # DATE_FAILED only
         "reason": "<failure_reason>" | null,        # DATE_FAILED only
         "rows": n,
         "entity_failures": {"<CATEGORY>": n, ...},
         "expected": true | false,
         "dagster_status": "materialized" | "failed" | "in_progress" | "missing" | "no_partition" | "unknown",
         "dagster_agrees": true | false | null,      # null: Dagster status unknown
         "dagster_note": "<what disagrees>" | null,
         "chains": ["<root-cause line>", ...] | null} # with --explain on DATE_FAILED dates, else null
      ]
    }

CSV: the range report (one row per asset); with --dates, the per-date rows instead (one row
per (asset, date), the keys of "dates" above), so that each CSV output has a single header.
"""

from __future__ import annotations

import csv
import io
import json

import pandas as pd

from nba_precompute.coverage import status as st
from nba_precompute.coverage.heatmap import disagrees
from nba_precompute.coverage.load import Coverage
from nba_precompute.settings import SETTINGS

RANGE_HEADER = ["asset", "Expected", "Data Dates", "Date-Level Failures", "Total", "Status", "Entity Failures",
                "Dagster"]
SHORT = {
    "BOOTSTRAP_PERIOD": "BOOTSTRAP",
    "MISSING_DEPENDENCY": "MISSING_DEP",
    "PROCESSING_ERROR": "PROC_ERROR",
}
DAGSTER_SHORT = {
    "materialized": "mat", "failed": "failed", "in_progress": "running", "missing": "none",
    "no_partition": "n/a", "unknown": "?",
}


def _day(d) -> str:
    return pd.Timestamp(d).strftime("%Y-%m-%d")


def compress_dates(dates: list[str]) -> str:
    """'2021-11-01..2021-11-03 (3), 2021-11-09' for a sorted list of ISO dates."""
    if not dates:
        return ""
    ds = [pd.Timestamp(d) for d in dates]
    parts, start, prev = [], ds[0], ds[0]
    for d in ds[1:] + [None]:
        if d is not None and (d - prev).days == 1:
            prev = d
            continue
        n = (prev - start).days + 1
        parts.append(_day(start) if n == 1 else f"{_day(start)}..{_day(prev)} ({n})")
        if d is not None:
            start = prev = d
    return ", ".join(parts)


# --- range report cells -----------------------------------------------------------------------
def _failures_cell(n: int, by_cat: dict) -> str:
    return f"{n} ({st.format_counts(by_cat)})" if n else "0"


def _dagster_cell(r) -> str:
    if not r.dagster_checked:
        return "unknown"
    if r.dagster_disagreements:
        return f"{r.dagster_disagreements} disagree"
    return f"agrees ({r.dagster_checked})"


def range_rows(cov: Coverage) -> list[list[str]]:
    rows = []
    for r in cov.report.itertuples():
        rows.append([
            r.asset, str(r.expected), str(r.data_dates), _failures_cell(r.date_level_failures, r.date_level_by_category),
            str(r.total), r.status, _failures_cell(r.entity_failures, r.entity_failures_by_category), _dagster_cell(r),
        ])
    return rows


def aligned(header: list[str], rows: list[list[str]], numeric: set[int] = frozenset()) -> str:
    """`a | b | c` columns padded to width; numeric columns right-aligned (like §9's example)."""
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)] if rows else [len(h) for h in header]

    def fmt(cells):
        return " | ".join(
            (str(c).rjust(w) if i in numeric else str(c).ljust(w)) for i, (c, w) in enumerate(zip(cells, widths))
        ).rstrip()

    return "\n".join([fmt(header)] + [fmt(r) for r in rows])


def markdown(header: list[str], rows: list[list[str]], numeric: set[int] = frozenset()) -> str:
    def esc(x):
        return str(x).replace("|", "\\|").replace("\n", " ")

    sep = ["---:" if i in numeric else "---" for i in range(len(header))]
    lines = ["| " + " | ".join(esc(h) for h in header) + " |", "|" + "|".join(sep) + "|"]
    lines += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


RANGE_NUMERIC = {1, 2, 4}


def range_table(cov: Coverage) -> str:
    return aligned(RANGE_HEADER, range_rows(cov), RANGE_NUMERIC)


def range_markdown(cov: Coverage) -> str:
    return markdown(RANGE_HEADER, range_rows(cov), RANGE_NUMERIC)


def missing_lines(cov: Coverage) -> list[str]:
    return [f"{r.asset} missing {r.missing}: {compress_dates(r.missing_dates)}"
            for r in cov.report.itertuples() if r.missing]


def disagreement_lines(cov: Coverage) -> list[str]:
    """Dagster disagreements grouped by (asset, what disagrees), dates compressed."""
    f = cov.frame
    if "dagster_agrees" not in f.columns:
        return []
    bad = f[[disagrees(v) for v in f["dagster_agrees"]]]
    out = []
    for (asset, note), g in bad.groupby(["asset", "dagster_note"], sort=False):
        out.append(f"{asset} {note}: {compress_dates([_day(d) for d in g['date']])}")
    return out


# --- per-date grid ----------------------------------------------------------------------------
def _cell_text(r: dict, show_dagster: bool) -> str:
    s = r["status"]
    if s == st.OK:
        text = f"OK {r['rows']}"
    elif s == st.DATE_FAILED:
        text = SHORT.get(r["category"], r["category"] or "DATE_FAILED")
    else:
        text = s
    if show_dagster:
        text += f" ({DAGSTER_SHORT.get(r['dagster_status'], r['dagster_status'])})"
        if disagrees(r.get("dagster_agrees")):
            text = "!" + text
    return text


def grid_rows(cov: Coverage) -> tuple[list[str], list[list[str]]]:
    """Dates down, assets across; with Dagster statuses, each cell says Dagster's status in
    brackets, '!' marks a disagreement and the last column counts them per date."""
    f = cov.frame
    show = cov.dagster_source != "none"
    assets = list(dict.fromkeys(f["asset"]))
    cells = {(a, pd.Timestamp(d)): r for a, d, r in zip(f["asset"], f["date"], f.to_dict("records"))}
    dates = sorted(pd.to_datetime(f["date"]).unique())
    header = ["date", "day", *assets] + (["Dagster disagrees"] if show else [])
    rows = []
    for d in dates:
        d = pd.Timestamp(d)
        rs = [cells[(a, d)] for a in assets]
        row = [_day(d), d.strftime("%a"), *[_cell_text(r, show) for r in rs]]
        if show:
            n = sum(disagrees(r.get("dagster_agrees")) for r in rs)
            row.append(str(n) if n else "")
        rows.append(row)
    return header, rows


GRID_LEGEND = (
    "cells: OK <rows> | BOOTSTRAP / MISSING_DEP / PROC_ERROR (DATE_FAILED category) | NO_GAMES | OFF_SEASON | MISSING"
)
GRID_DAGSTER_LEGEND = (
    "(Dagster partition status: mat = materialized, failed, running, none = not materialized, n/a = not a partition);"
    " ! = Dagster disagrees with the warehouse"
)


def grid_table(cov: Coverage) -> str:
    header, rows = grid_rows(cov)
    return aligned(header, rows)


def grid_markdown(cov: Coverage) -> str:
    header, rows = grid_rows(cov)
    return markdown(header, rows)


# --- chains -----------------------------------------------------------------------------------
def chain_lines(cov: Coverage, collapse_bootstrap: bool = True) -> list[str]:
    """Root-cause lines of every failed date, by asset then date. With collapse_bootstrap,
    consecutive BOOTSTRAP_PERIOD dates of an asset share one line (JSON keeps one per date)."""
    lines = []
    f = cov.frame
    for a in cov.assets:
        g = f[(f["asset"] == a) & (f["status"] == st.DATE_FAILED)].sort_values("date")
        boot: list[pd.Timestamp] = []

        def flush():
            if boot:
                lines.append(f"{a} {compress_dates([_day(x) for x in boot])} (DATE_FAILED: BOOTSTRAP_PERIOD) "
                             f"the first {SETTINGS.bootstrap_days} days after the season opener")
                boot.clear()

        for date, category in zip(g["date"], g["category"]):
            date = pd.Timestamp(date)
            if collapse_bootstrap and category == "BOOTSTRAP_PERIOD":
                if boot and (date - boot[-1]).days != 1:
                    flush()
                boot.append(date)
                continue
            flush()
            lines.extend(c.text for c in cov.chains.get((a, date), []))
        flush()
    return lines


# --- the outputs ------------------------------------------------------------------------------
def to_text(cov: Coverage, dates: bool = False, explain: bool = False) -> str:
    parts = [f"Phase 4 coverage {cov.start}..{cov.end}", "", range_table(cov)]
    missing = missing_lines(cov)
    if missing:
        parts += ["", "Missing dates (nothing explains the absence):", *("  " + m for m in missing)]
    dis = disagreement_lines(cov)
    if cov.dagster_source == "none":
        parts += ["", "Dagster: no instance read (dagster_status unknown)"]
    elif dis:
        parts += ["", "Dagster disagrees with the warehouse:", *("  " + x for x in dis)]
    if dates:
        parts += ["", grid_table(cov), GRID_LEGEND] + ([GRID_DAGSTER_LEGEND] if cov.dagster_source != "none" else [])
    if explain:
        lines = chain_lines(cov)
        parts += ["", "Root causes:" if lines else "Root causes: no failed dates", *("  " + x for x in lines)]
    return "\n".join(parts) + "\n"


def to_markdown(cov: Coverage, dates: bool = False, explain: bool = False) -> str:
    parts = [f"## Phase 4 coverage {cov.start}..{cov.end}", "", range_markdown(cov)]
    missing = missing_lines(cov)
    if missing:
        parts += ["", "**Missing dates** (nothing explains the absence):", "", *(f"- {m}" for m in missing)]
    dis = disagreement_lines(cov)
    if cov.dagster_source == "none":
        parts += ["", "Dagster: no instance read (dagster_status unknown)."]
    elif dis:
        parts += ["", "**Dagster disagrees with the warehouse:**", "", *(f"- {x}" for x in dis)]
    if dates:
        parts += ["", "### Per date", "", grid_markdown(cov), "", GRID_LEGEND + "."]
        if cov.dagster_source != "none":
            parts[-1] += " " + GRID_DAGSTER_LEGEND + "."
    if explain:
        lines = chain_lines(cov)
        parts += ["", "### Root causes", ""] + (["```", *lines, "```"] if lines else ["No failed dates."])
    return "\n".join(parts) + "\n"


def _json_value(v):
    if v is None or v is pd.NA:
        return None
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    if hasattr(v, "item"):
        return v.item()
    return v


def to_dict(cov: Coverage, explain: bool = False) -> dict:
    assets = {}
    for r in cov.report.itertuples():
        assets[r.asset] = {
            "expected": int(r.expected),
            "data_dates": int(r.data_dates),
            "date_level_failures": {"total": int(r.date_level_failures), "by_category": dict(r.date_level_by_category)},
            "total": int(r.total),
            "status": r.status,
            "missing_dates": list(r.missing_dates),
            "entity_failures": {"total": int(r.entity_failures), "by_category": dict(r.entity_failures_by_category)},
            "no_games": int(r.no_games),
            "off_season": int(r.off_season),
            "dagster": {
                "checked": int(r.dagster_checked),
                "disagreements": int(r.dagster_disagreements),
                "disagreement_dates": list(r.dagster_disagreement_dates),
            },
        }
    dates = []
    for r in cov.frame.to_dict("records"):
        key = (r["asset"], pd.Timestamp(r["date"]))
        chains = None
        if explain and r["status"] == st.DATE_FAILED:
            chains = [c.text for c in cov.chains.get(key, [])]
        dates.append({
            "asset": r["asset"],
            "date": _day(r["date"]),
            "status": r["status"],
            "category": _json_value(r["category"]),
            "reason": _json_value(r["reason"]),
            "rows": int(r["rows"]),
            "entity_failures": dict(r["entity_failures_by_category"]),
            "expected": bool(r["expected"]),
            "dagster_status": r.get("dagster_status", "unknown"),
            "dagster_agrees": _json_value(r.get("dagster_agrees")),
            "dagster_note": _json_value(r.get("dagster_note")),
            "chains": chains,
        })
    return {
        "start": _day(cov.start),
        "end": _day(cov.end),
        "dagster_source": cov.dagster_source,
        "assets": assets,
        "dates": dates,
    }


def to_json(cov: Coverage, explain: bool = False) -> str:
    return json.dumps(to_dict(cov, explain), indent=2) + "\n"


def to_csv(cov: Coverage, dates: bool = False, explain: bool = False) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    if not dates:
        w.writerow(["asset", "expected", "data_dates", "date_level_failures", "date_level_by_category", "total",
                    "status", "missing", "missing_dates", "entity_failures", "entity_failures_by_category",
                    "dagster_checked", "dagster_disagreements"])
        for r in cov.report.itertuples():
            w.writerow([r.asset, r.expected, r.data_dates, r.date_level_failures,
                        st.format_counts(r.date_level_by_category), r.total, r.status, r.missing,
                        " ".join(r.missing_dates), r.entity_failures, st.format_counts(r.entity_failures_by_category),
                        r.dagster_checked, r.dagster_disagreements])
        return buf.getvalue()
    d = to_dict(cov, explain)["dates"]
    cols = ["asset", "date", "status", "category", "reason", "rows", "entity_failures", "expected", "dagster_status",
            "dagster_agrees", "dagster_note"] + (["chains"] if explain else [])
    w.writerow(cols)
    for r in d:
        row = []
        for c in cols:
            v = r[c]
            if c == "entity_failures":
                v = ", ".join(f"{k} {x}" for k, x in v.items())
            elif c == "chains":
                v = " || ".join(v or [])
            elif isinstance(v, bool):
                v = "true" if v else "false"
            row.append("" if v is None else v)
        w.writerow(row)
    return buf.getvalue()


def render(cov: Coverage, fmt: str = "table", dates: bool = False, explain: bool = False) -> str:
    if fmt == "json":
        return to_json(cov, explain)
    if fmt == "csv":
        return to_csv(cov, dates, explain)
    if fmt == "md":
        return to_markdown(cov, dates, explain)
    return to_text(cov, dates, explain)
