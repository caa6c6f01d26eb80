"""The volume trend: rows per date with the expected band, anomalies marked, one panel per asset.

Drawn from `volume.evaluate`'s result (no warehouse, no Dagster): the coverage report
(coverage/trend.py) embeds it next to the heatmap, so a user sees a thin slate as a dip below the band.
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
    path: Path | None
    width: int
    height: int
    anomaly_centres: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)  # pixel x, y from top-left
    # the data drawn, per asset: date, rate (rows / exposure), band_low, band_high, expected (per
    # unit of exposure, NaN where not evaluated) and anomaly
    series: dict[str, pd.DataFrame] = field(default_factory=dict)


def plotted_series(results: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per asset, the points the trend draws (dates with rows, ascending)."""
    frame = results.copy()
    frame["date"] = pd.to_datetime(frame["date"])
    out = {}
    for asset in dict.fromkeys(frame["asset"]):
        g = frame[(frame["asset"] == asset) & (frame["observed"] > 0)].sort_values("date")
        exposure = g["exposure"].astype(float)
        out[asset] = pd.DataFrame({
            "date": g["date"].to_numpy(), "rate": g["ratio"].astype(float).to_numpy(),
            "band_low": (g["band_low"].astype(float) / exposure).to_numpy(),
            "band_high": (g["band_high"].astype(float) / exposure).to_numpy(),
            "expected": g["expected_ratio"].astype(float).to_numpy(), "anomaly": g["anomaly"].astype(bool).to_numpy(),
        })
    return out


def render_volume_png(results: pd.DataFrame, path, dpi: int = 100) -> TrendInfo:
    """Write the trend of `results` (volume.evaluate's frame, one or more assets) to `path`
    (a file path, or a binary file object such as io.BytesIO)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = plotted_series(results)
    assets = list(series)
    fig, axes = plt.subplots(len(assets), 1, figsize=(11, 2.2 * len(assets) + 0.6), dpi=dpi, squeeze=False,
                             sharex=True)
    markers = []
    for ax, asset in zip(axes[:, 0], assets):
        g = series[asset]
        e = g[g["expected"].notna()]
        ax.fill_between(e["date"], e["band_low"], e["band_high"], color=BAND, step="mid", label="expected band")
        ax.plot(e["date"], e["expected"], color=EXPECTED, lw=1, ls="--", label="expected")
        ax.plot(g["date"], g["rate"], color=OBSERVED, lw=1, marker=".", ms=3, label="rows / exposure")
        bad = g[g["anomaly"]]
        ax.scatter(bad["date"], bad["rate"], s=60, color=ANOMALY, zorder=5, label="anomaly")
        markers += [(ax, asset, pd.Timestamp(d), y) for d, y in zip(bad["date"], bad["rate"])]
        ax.set_ylabel(asset, fontweight="bold")
        ax.grid(axis="y", color="#E5E5E5")
    axes[0, 0].legend(loc="upper left", ncol=4, fontsize=8, frameon=False)
    dates = pd.to_datetime(results["date"])
    start, end = dates.min(), dates.max()
    fig.suptitle(f"Rows per unit of exposure (scheduled team / entity with history) and the expected band\n  {start:%Y-%m-%d} to {end:%Y-%m-%d}", fontweight="bold")
    fig.tight_layout()
    fig.canvas.draw()
    width, height = (int(round(v)) for v in fig.canvas.get_width_height())
    centres = {}
    for ax, asset, d, y in markers:
        x, yy = ax.transData.transform((matplotlib.dates.date2num(d), y))
        centres[(asset, d.strftime("%Y-%m-%d"))] = (int(round(x)), int(round(height - yy)))
    if isinstance(path, (str, Path)):
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, facecolor="white", format="png")
    plt.close(fig)
    return TrendInfo(path if isinstance(path, Path) else None, width, height, centres, series)
