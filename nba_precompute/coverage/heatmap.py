"""The coverage heatmap: assets x dates, one colour per status, as a PNG or a self-contained HTML.

Colours (Okabe-Ito, safe for the common colour-vision deficiencies; greys for "nothing expected"):

    OK                               bluish green  #009E73
    DATE_FAILED  BOOTSTRAP_PERIOD    sky blue      #56B4E9   (expected: the season's first 14 days)
    DATE_FAILED  MISSING_DEPENDENCY  orange        #E69F00
    DATE_FAILED  PROCESSING_ERROR    vermillion    #D55E00
    DATE_FAILED  (other category)    yellow        #F0E442
    NO_GAMES                         light grey    #C8C8C8
    OFF_SEASON                       pale grey     #EDEDED
    MISSING                          black         #1A1A1A

A white dot with a dark ring marks a cell where Dagster's partition status disagrees with the
warehouse. Above the grid a strip gives the games scheduled per date (a dash on no-game dates);
weekend dates are shaded in the date axis and their labels are bold. The title carries the
range and the counts per status; each row ends with the asset's range status and Total/Expected.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from nba_precompute.coverage import status as st

OK_COLOUR = "#009E73"
CATEGORY_COLOURS = {
    "BOOTSTRAP_PERIOD": "#56B4E9",
    "MISSING_DEPENDENCY": "#E69F00",
    "PROCESSING_ERROR": "#D55E00",
}
OTHER_FAILURE_COLOUR = "#F0E442"
NO_GAMES_COLOUR = "#C8C8C8"
OFF_SEASON_COLOUR = "#EDEDED"
MISSING_COLOUR = "#1A1A1A"
WEEKEND_BAND = "#E4E9F2"
TEXT = "#222222"

# (label, colour) in legend order
LEGEND: tuple[tuple[str, str], ...] = (
    ("OK", OK_COLOUR),
    ("DATE_FAILED: BOOTSTRAP_PERIOD", CATEGORY_COLOURS["BOOTSTRAP_PERIOD"]),
    ("DATE_FAILED: MISSING_DEPENDENCY", CATEGORY_COLOURS["MISSING_DEPENDENCY"]),
    ("DATE_FAILED: PROCESSING_ERROR", CATEGORY_COLOURS["PROCESSING_ERROR"]),
    ("NO_GAMES", NO_GAMES_COLOUR),
    ("OFF_SEASON", OFF_SEASON_COLOUR),
    ("MISSING", MISSING_COLOUR),
)


def cell_colour(status: str, category: str | None = None) -> str:
    """The hex colour of a cell."""
    if status == st.OK:
        return OK_COLOUR
    if status == st.DATE_FAILED:
        return CATEGORY_COLOURS.get(category or "", OTHER_FAILURE_COLOUR)
    if status == st.NO_GAMES:
        return NO_GAMES_COLOUR
    if status == st.OFF_SEASON:
        return OFF_SEASON_COLOUR
    return MISSING_COLOUR


def disagrees(value) -> bool:
    """True only for a known disagreement (False in dagster_agrees; <NA> / None is unknown)."""
    return value is not None and value is not pd.NA and not pd.isna(value) and not bool(value)


def hex_to_rgb(colour: str) -> tuple[int, int, int]:
    c = colour.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def title_lines(frame: pd.DataFrame, report: pd.DataFrame | None = None) -> tuple[str, str]:
    """The heatmap title (range and size) and its counts: cells per status, then the split of
    DATE_FAILED by category, then the Dagster disagreements (when Dagster was read)."""
    dates = pd.DatetimeIndex(sorted(pd.to_datetime(frame["date"]).unique()))
    assets = list(dict.fromkeys(frame["asset"]))
    title = (
        f"Phase 4 coverage  {dates.min():%Y-%m-%d} to {dates.max():%Y-%m-%d}  "
        f"({len(dates)} dates x {len(assets)} assets)"
    )
    counts = st.status_counts(frame)
    failed = frame[frame["status"] == st.DATE_FAILED]
    by_cat = st.format_counts(st._category_counts(failed["category"]))
    parts = [f"{s} {counts[s]}" + (f" ({by_cat})" if s == st.DATE_FAILED and by_cat else "") for s in st.STATUSES]
    if "dagster_agrees" in frame.columns and frame["dagster_agrees"].notna().any():
        parts.append(f"Dagster disagreements {sum(disagrees(v) for v in frame['dagster_agrees'])}")
    return title, "   ".join(parts)


def _wrap(text: str, width_chars: int) -> str:
    """Break a '   '-separated counts line into lines of at most width_chars."""
    lines, line = [], ""
    for part in text.split("   "):
        candidate = f"{line}   {part}" if line else part
        if line and len(candidate) > width_chars:
            lines.append(line)
            line = part
        else:
            line = candidate
    return "\n".join(lines + [line])


def _row_notes(frame: pd.DataFrame, report: pd.DataFrame | None) -> dict[str, str]:
    report = report if report is not None else st.range_report(frame)
    notes = {}
    for r in report.itertuples():
        note = f"{r.status}  {r.total}/{r.expected}"
        if r.missing:
            note += f"  ({r.missing} missing)"
        notes[r.asset] = note
    return notes


def _games_per_date(frame: pd.DataFrame, calendar) -> dict[pd.Timestamp, int] | None:
    """Games scheduled per date (None off-season), or None without a calendar."""
    if calendar is None:
        return None
    dates = sorted(pd.to_datetime(frame["date"]).unique())
    cal = calendar.frame(dates)
    return {
        pd.Timestamp(d): (int(t) // 2 if s else None)
        for d, t, s in zip(cal["analysis_date"], cal["teams"], cal["in_season"])
    }


@dataclass
class HeatmapInfo:
    """What was drawn: image size in pixels and the pixel centre (x, y from the top-left) of
    every cell, keyed by (asset, 'YYYY-MM-DD'), with its colour."""

    path: Path
    width: int
    height: int
    assets: list[str]
    dates: list[str]
    centres: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    colours: dict[tuple[str, str], str] = field(default_factory=dict)


# --- PNG --------------------------------------------------------------------------------------
def render_png(frame: pd.DataFrame, path, report: pd.DataFrame | None = None, calendar=None,
               dpi: int = 110) -> HeatmapInfo:
    """Write the heatmap PNG to `path` and return where each cell is."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Patch, Rectangle
    from matplotlib.lines import Line2D

    path = Path(path)
    frame = frame.copy()
    frame["date"] = pd.to_datetime(frame["date"]).dt.normalize()
    assets = list(dict.fromkeys(frame["asset"]))
    dates = pd.DatetimeIndex(sorted(frame["date"].unique()))
    n, m = len(dates), len(assets)
    col = {d: i for i, d in enumerate(dates)}
    row = {a: i for i, a in enumerate(assets)}
    games = _games_per_date(frame, calendar)
    every_label = n <= 70

    # geometry (inches)
    cell_w = 0.30 if n <= 40 else max(0.10, min(0.30, 22.0 / n))
    cell_h = 0.46
    notes = _row_notes(frame, report)
    left, right = 0.9, 0.45 + 0.078 * max([len(v) for v in notes.values()] + [10])
    title, counts = title_lines(frame, report)
    top = 0.75 + (0.28 if games is not None else 0.0)
    bottom = 1.3 if every_label else 1.05
    grid_w, grid_h = n * cell_w, m * cell_h
    fig_w = max(9.0, left + grid_w + right)
    counts = _wrap(counts, int((fig_w - 0.5) / 0.075))
    top += 0.2 * (counts.count("\n") + 1)
    fig_h = top + grid_h + bottom
    left = left + (fig_w - (left + grid_w + right)) / 2  # centre narrow grids
    fig = plt.figure(figsize=(fig_w, fig_h), dpi=dpi)
    ax = fig.add_axes((left / fig_w, bottom / fig_h, grid_w / fig_w, grid_h / fig_h))
    ax.set_xlim(0, n)
    ax.set_ylim(m, 0)
    ax.set_axis_off()

    # weekend bands behind the date labels
    for d in dates:
        if d.weekday() >= 5:
            ax.add_patch(Rectangle((col[d], m), 1, 0.95 if every_label else 0.5, facecolor=WEEKEND_BAND,
                                   edgecolor="none", clip_on=False, zorder=0))

    rects, colours = [], []
    info_colours = {}
    gap = 0.06 if n <= 120 else 0.0
    for a, d, s, c in zip(frame["asset"], frame["date"], frame["status"], frame["category"]):
        colour = cell_colour(s, c)
        rects.append(Rectangle((col[d] + gap / 2, row[a] + gap), 1 - gap, 1 - 2 * gap))
        colours.append(colour)
        info_colours[(a, d.strftime("%Y-%m-%d"))] = colour
    ax.add_collection(PatchCollection(rects, facecolors=colours, edgecolors="none", antialiased=False))

    # Dagster disagreements
    if "dagster_agrees" in frame.columns:
        bad = frame[[disagrees(v) for v in frame["dagster_agrees"]]]
        if len(bad):
            ax.scatter([col[d] + 0.5 for d in bad["date"]], [row[a] + 0.5 for a in bad["asset"]],
                       s=max(6.0, min(26.0, (cell_w * 72 * 0.38) ** 2)), facecolors="white", edgecolors=TEXT,
                       linewidths=0.8, zorder=3)

    # row labels and per-asset notes
    for a in assets:
        ax.text(-0.3, row[a] + 0.5, a, ha="right", va="center", fontsize=11, fontweight="bold", color=TEXT)
        ax.text(n + 0.4, row[a] + 0.5, notes.get(a, ""), ha="left", va="center", fontsize=9, color=TEXT,
                family="DejaVu Sans Mono")

    # date labels: day of month + weekday letter (every date, or Mondays on long ranges), months
    letters = "MTWTFSS"
    for d in dates:
        x = col[d] + 0.5
        weekend = d.weekday() >= 5
        if every_label:
            ax.text(x, m + 0.25, f"{d.day}", ha="center", va="center", fontsize=7.5 if cell_w >= 0.2 else 6,
                    color=TEXT, fontweight="bold" if weekend else "normal")
            ax.text(x, m + 0.62, letters[d.weekday()], ha="center", va="center", fontsize=7, color="#555555",
                    fontweight="bold" if weekend else "normal")
        elif d.weekday() == 0:
            ax.text(x, m + 0.25, f"{d.day}", ha="center", va="center", fontsize=6.5, color=TEXT)
    month_starts = [d for i, d in enumerate(dates) if i == 0 or d.month != dates[i - 1].month]
    for d in month_starts:
        ax.text(col[d], m + (1.25 if every_label else 0.85), f"{d:%b %Y}", ha="left", va="center", fontsize=9,
                color=TEXT, fontweight="bold")
        if col[d] > 0:
            ax.plot([col[d], col[d]], [0, m + (1.05 if every_label else 0.6)], color="#777777", lw=0.8,
                    clip_on=False, zorder=2)

    # games-per-date strip
    if games is not None:
        ax.text(-0.3, -0.45, "games", ha="right", va="center", fontsize=7.5, color="#555555")
        for d in dates:
            g = games.get(d)
            if g is None or (not every_label and g):
                continue
            ax.text(col[d] + 0.5, -0.45, str(g) if g else "-", ha="center", va="center",
                    fontsize=6.5 if cell_w >= 0.2 else 5.5,
                    color="#555555" if g else "#B00000", fontweight="normal" if g else "bold")

    fig.text(0.5, 1 - 0.28 / fig_h, title, ha="center", va="center", fontsize=13, fontweight="bold", color=TEXT)
    fig.text(0.5, 1 - 0.52 / fig_h, counts, ha="center", va="top", fontsize=9, color=TEXT, linespacing=1.5)

    handles = [Patch(facecolor=c, edgecolor="#999999" if c == OFF_SEASON_COLOUR else c, label=lbl)
               for lbl, c in LEGEND]
    handles.append(Line2D([], [], marker="o", linestyle="none", markerfacecolor="white", markeredgecolor=TEXT,
                          markersize=6, label="Dagster disagrees"))
    handles.append(Patch(facecolor=WEEKEND_BAND, edgecolor="none", label="weekend"))
    fig.legend(handles=handles, loc="lower center", ncol=min(5, len(handles)), fontsize=8.5, frameon=False,
               bbox_to_anchor=(0.5, 0.01), handlelength=1.4, columnspacing=1.6)

    fig.canvas.draw()
    width, height = (int(round(v)) for v in fig.canvas.get_width_height())
    centres = {}
    for a in assets:
        for d in dates:
            x, y = ax.transData.transform((col[d] + 0.5, row[a] + 0.5))
            centres[(a, d.strftime("%Y-%m-%d"))] = (int(round(x)), int(round(height - y)))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, facecolor="white")
    plt.close(fig)
    return HeatmapInfo(path, width, height, assets, [d.strftime("%Y-%m-%d") for d in dates], centres, info_colours)


def png_bytes(frame: pd.DataFrame, report: pd.DataFrame | None = None, calendar=None, dpi: int = 90) -> bytes:
    """The PNG heatmap as bytes (for metadata)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "coverage.png"
        render_png(frame, p, report, calendar, dpi=dpi)
        return p.read_bytes()


def png_data_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


# --- HTML -------------------------------------------------------------------------------------
_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;margin:24px}
h1{font-size:18px;margin:0 0 4px} .counts{font-size:13px;margin:0 0 14px;color:#333}
.wrap{overflow-x:auto} table{border-collapse:separate;border-spacing:2px}
td.c{width:18px;min-width:18px;height:24px;border-radius:2px;text-align:center;font-size:11px;line-height:24px}
td.c.dis::after{content:"\\25CF";color:#fff;text-shadow:0 0 1px #000,0 0 1px #000}
th{font-weight:normal;font-size:11px;color:#444;padding:0} th.asset{font-weight:bold;font-size:13px;text-align:right;padding-right:8px}
th.we{background:#E4E9F2;font-weight:bold} th.month{font-weight:bold;text-align:left;font-size:12px}
td.note{font-family:ui-monospace,Menlo,monospace;font-size:12px;padding-left:10px;white-space:nowrap}
.games{color:#777;font-size:10px;text-align:center} .nogames{color:#B00000;font-weight:bold}
.legend{margin-top:14px;font-size:12px} .legend span{display:inline-block;margin-right:16px}
.sw{display:inline-block;width:14px;height:14px;border-radius:2px;vertical-align:-2px;margin-right:5px;border:1px solid #aaa}
"""


def render_html(frame: pd.DataFrame, path, report: pd.DataFrame | None = None, calendar=None) -> Path:
    """Write a self-contained HTML heatmap (no scripts, no external resources)."""
    path = Path(path)
    frame = frame.copy()
    frame["date"] = pd.to_datetime(frame["date"]).dt.normalize()
    assets = list(dict.fromkeys(frame["asset"]))
    dates = pd.DatetimeIndex(sorted(frame["date"].unique()))
    games = _games_per_date(frame, calendar)
    notes = _row_notes(frame, report)
    title, counts = title_lines(frame, report)
    e = html.escape
    cells = {(a, d): r for a, d, r in zip(frame["asset"], frame["date"], frame.to_dict("records"))}

    out = [f"<!doctype html><html><head><meta charset='utf-8'><title>{e(title)}</title><style>{_CSS}</style>"
           f"</head><body><h1>{e(title)}</h1><p class='counts'>{' &nbsp;&middot;&nbsp; '.join(e(p) for p in counts.split('   '))}"
           "</p><div class='wrap'><table>"]
    # month row
    out.append("<tr><th></th>")
    i = 0
    while i < len(dates):
        j = i
        while j + 1 < len(dates) and dates[j + 1].month == dates[i].month:
            j += 1
        out.append(f"<th class='month' colspan='{j - i + 1}'>{dates[i]:%b %Y}</th>")
        i = j + 1
    out.append("<th></th></tr>")
    for label, fmt in (("", "%d"), ("", "%a")):
        out.append(f"<tr><th>{label}</th>")
        for d in dates:
            cls = " class='we'" if d.weekday() >= 5 else ""
            text = str(d.day) if fmt == "%d" else d.strftime("%a")[:2]
            out.append(f"<th{cls} title='{d:%Y-%m-%d}'>{text}</th>")
        out.append("<th></th></tr>")
    if games is not None:
        out.append("<tr><th class='games'>games</th>")
        for d in dates:
            g = games.get(d)
            if g is None:
                out.append("<td class='games'></td>")
            else:
                out.append(f"<td class='games{' nogames' if not g else ''}'>{g if g else '-'}</td>")
        out.append("<td></td></tr>")
    for a in assets:
        out.append(f"<tr><th class='asset'>{e(a)}</th>")
        for d in dates:
            r = cells.get((a, d))
            if r is None:
                out.append("<td></td>")
                continue
            colour = cell_colour(r["status"], r["category"])
            tip = [f"{a} {d:%Y-%m-%d} ({d:%a})", st.cell_label(r["status"], r["category"]), f"rows: {r['rows']}"]
            if r.get("reason"):
                tip.append(str(r["reason"]))
            if r.get("entity_failures"):
                tip.append("entity failures: " + st.format_counts(r["entity_failures_by_category"]))
            if "dagster_status" in r:
                tip.append(f"Dagster: {r['dagster_status']}")
            dis = disagrees(r.get("dagster_agrees"))
            if dis and r.get("dagster_note"):
                tip.append(f"DISAGREES: {r['dagster_note']}")
            out.append(f"<td class='c{' dis' if dis else ''}' style='background:{colour}' "
                       f"title='{e(chr(10).join(tip), quote=True)}'></td>")
        out.append(f"<td class='note'>{e(notes.get(a, ''))}</td></tr>")
    out.append("</table></div><div class='legend'>")
    for label, colour in LEGEND:
        out.append(f"<span><i class='sw' style='background:{colour}'></i>{e(label)}</span>")
    out.append("<span>&#9679; Dagster disagrees</span><span><i class='sw' style='background:#E4E9F2'></i>weekend"
               "</span></div></body></html>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(out), encoding="utf-8")
    return path


def render(frame: pd.DataFrame, path, report: pd.DataFrame | None = None, calendar=None):
    """PNG or HTML by the file extension (.png / .html / .htm)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".png":
        return render_png(frame, path, report, calendar)
    if suffix in (".html", ".htm"):
        return render_html(frame, path, report, calendar)
    raise ValueError(f"heatmap file must end in .png or .html, not {Path(path).name!r}")
