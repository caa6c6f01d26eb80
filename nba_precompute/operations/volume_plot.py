"""The volume trend: rows per date with the expected band, anomalies marked, one panel per asset.

Drawn from `volume.evaluate`'s result (no warehouse, no Dagster), so the coverage report (wiring
wave) can embed it next to the heatmap and a user sees a thin slate as a dip below the band.
Plotted per unit of exposure (rows per scheduled team; rows per entity with history), because raw
rows swing 2-30 teams' worth from one game date to the next and would hide a 20% dip.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

OBSERVED, EXPECTED, BAND, ANOMALY = "#1F4E79", "#7F7F7F", "#C9D9EA", "#C00000"


@dataclass
class TrendInfo:
    path: Path
    width: int
    height: int
    anomaly_centres: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)  # pixel x, y from top-left


def render_volume_png(results: pd.DataFrame, path, dpi: int = 100) -> TrendInfo:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    frame = results.copy()
    frame["date"] = pd.to_datetime(frame["date"])
    assets = list(dict.fromkeys(frame["asset"]))
    fig, axes = plt.subplots(len(assets), 1, figsize=(11, 2.2 * len(assets) + 0.6), dpi=dpi, squeeze=False,
                             sharex=True)
    markers = []
    for ax, asset in zip(axes[:, 0], assets):
        g = frame[frame["asset"] == asset].sort_values("date")
        e = g[g["evaluated"]]
        ax.fill_between(e["date"], e["band_low"] / e["exposure"], e["band_high"] / e["exposure"], color=BAND,
                        step="mid", label="expected band")
        ax.plot(e["date"], e["expected_ratio"], color=EXPECTED, lw=1, ls="--", label="expected")
        shown = g[g["observed"] > 0]
        ax.plot(shown["date"], shown["ratio"], color=OBSERVED, lw=1, marker=".", ms=3, label="rows / exposure")
        bad = g[g["anomaly"]]
        ax.scatter(bad["date"], bad["ratio"], s=60, color=ANOMALY, zorder=5, label="anomaly")
        markers += [(ax, asset, d, y) for d, y in zip(bad["date"], bad["ratio"])]
        ax.set_ylabel(asset, fontweight="bold")
        ax.grid(axis="y", color="#E5E5E5")
    axes[0, 0].legend(loc="upper left", ncol=4, fontsize=8, frameon=False)
    start, end = frame["date"].min(), frame["date"].max()
    fig.suptitle(f"Rows per unit of exposure (scheduled team / entity with history) and the expected band\n  {start:%Y-%m-%d} to {end:%Y-%m-%d}", fontweight="bold")
    fig.tight_layout()
    fig.canvas.draw()
    width, height = (int(round(v)) for v in fig.canvas.get_width_height())
    centres = {}
    for ax, asset, d, y in markers:
        x, yy = ax.transData.transform((matplotlib.dates.date2num(d), y))
        centres[(asset, d.strftime("%Y-%m-%d"))] = (int(round(x)), int(round(height - yy)))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, facecolor="white")
    plt.close(fig)
    return TrendInfo(path, width, height, centres)
