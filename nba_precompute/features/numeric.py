"""Numeric conventions of the spec (§2): rounding half away from zero, NaN/Inf as NULL."""

from __future__ import annotations

import numpy as np
import pandas as pd


def round_half_away(values, decimals: int) -> np.ndarray:
    """Round half away from zero (the spec's rule), not numpy's half-to-even.

    A tiny relative nudge absorbs binary representation error (2.675 is stored as 2.67499...).
    """
    x = np.asarray(values, dtype="float64")
    scale = 10.0**decimals
    scaled = x * scale
    nudged = np.abs(scaled) * (1 + 1e-12)
    return np.sign(x) * np.floor(nudged + 0.5) / scale


def finite_or_nan(values) -> np.ndarray:
    """NaN and +-Inf become NaN (stored as NULL)."""
    x = np.asarray(values, dtype="float64")
    return np.where(np.isfinite(x), x, np.nan)


def safe_ratio(num, den) -> np.ndarray:
    """num / den, NaN when either is NaN or the denominator is 0."""
    num = np.asarray(num, dtype="float64")
    den = np.asarray(den, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = num / den
    return np.where((den == 0) | ~np.isfinite(out), np.nan, out)


def as_float(series) -> np.ndarray:
    """A nullable column (Int64, boolean, float) as float64 with NaN for NULL."""
    return pd.to_numeric(pd.Series(series), errors="coerce").astype("float64").to_numpy()
