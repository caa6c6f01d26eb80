"""The volume trend of a coverage window: rows per date against the volume check's expected band.

One grouped count query (operations.counts) reaching the volume section's `history_days` before
the window, so its first dates have their references as in the check; the band and the anomalies
are operations.volume's, the figure operations.volume_plot's. Used by `nba-precompute coverage
--trend FILE.png` and the `coverage_report` asset (inline image in its metadata).
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Sequence

import pandas as pd

from nba_precompute.checks.config import ChecksConfig, load_config
from nba_precompute.operations.counts import volume_counts
from nba_precompute.operations.volume import evaluate_counts
from nba_precompute.operations.volume_plot import TrendInfo, render_volume_png
from nba_precompute.registry import ASSET_NAMES
from nba_precompute.season import SeasonCalendar


def volume_trend(warehouse, start: dt.date, end: dt.date, calendar: SeasonCalendar,
                 assets: Sequence[str] = ASSET_NAMES, config: ChecksConfig | None = None) -> pd.DataFrame:
    """The volume check's result (operations.volume.RESULT_COLUMNS) for the dates of [start, end]
    with rows, references taken from up to `history_days` before start."""
    settings = (config or load_config()).volume
    first = pd.Timestamp(start) - pd.Timedelta(days=settings.history_days)
    results = evaluate_counts(volume_counts(warehouse, first.date(), end, assets), calendar, settings)
    dates = pd.to_datetime(results["date"])
    return results[(dates >= pd.Timestamp(start)) & (dates <= pd.Timestamp(end))].reset_index(drop=True)


def write_trend(results: pd.DataFrame, path: str | Path, dpi: int = 100) -> TrendInfo | None:
    """The trend PNG at `path` (None, and no file, when no date of the window has rows)."""
    return render_volume_png(results, path, dpi) if len(results) else None


def trend_png_bytes(results: pd.DataFrame, dpi: int = 80) -> bytes | None:
    if not len(results):
        return None
    buffer = io.BytesIO()
    render_volume_png(results, buffer, dpi)
    return buffer.getvalue()
