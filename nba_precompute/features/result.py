"""What every pure feature function returns."""

from __future__ import annotations

from typing import NamedTuple

import pandas as pd


class FeatureResult(NamedTuple):
    rows: pd.DataFrame  # the asset's table columns, without created_at
    failures: pd.DataFrame  # entity-level failures, failures.FAILURE_COLUMNS
    candidates: pd.DataFrame  # (analysis_date, entity key): every entity the asset had to account for
    extras: pd.DataFrame | None = None  # per-date facts for metadata (e.g. tdza league averages)
