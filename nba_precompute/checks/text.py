"""How check results read: values, keys and listings in the `detail` sentences, and the
JSON-safe values of the structured `examples` / `measures`."""

from __future__ import annotations

import numpy as np
import pandas as pd


def fmt(v) -> str:
    """A value as a detail shows it: NULL, true/false, integers without '.0', 6 significant digits."""
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


def num(x: float | None) -> str:
    """A configured number: 'null' for unbounded, integers without '.0'."""
    if x is None:
        return "null"
    x = float(x)
    return str(int(x)) if x.is_integer() else f"{x:g}"


def day(d) -> str:
    return pd.Timestamp(d).strftime("%Y-%m-%d")


def key(v) -> str:
    return "NULL" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)


def plural(n: int, word: str, plural_form: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural_form or word + 's')}"


def listing(items: pd.DataFrame, column: str, max_items: int, sep: str = ", ") -> pd.Series:
    """Per analysis_date: the first max_items texts of `column`, then '... and N more'."""
    if not len(items):
        return pd.Series(dtype=object)

    def join(texts: pd.Series) -> str:
        t = list(texts)
        shown = sep.join(t[:max_items])
        return shown + (f"{sep}... and {len(t) - max_items} more" if len(t) > max_items else "")

    return items.groupby("analysis_date", sort=True)[column].agg(join)


def plain(v):
    """A JSON-safe Python value: numpy scalars unwrapped, NaN / NaT -> None, dates as YYYY-MM-DD."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (pd.Timestamp, np.datetime64)):
        return day(v)
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if np.isnan(v):
            return None
        return v if np.isfinite(v) else ("inf" if v > 0 else "-inf")
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    return v


def records_by_date(items: pd.DataFrame, columns: dict[str, str], max_items: int) -> pd.Series:
    """Per analysis_date: the first max_items rows of `items` as JSON-safe dicts, keyed by the
    values of `columns` (frame column -> record key)."""
    if not len(items):
        return pd.Series(dtype=object)
    head = items.groupby("analysis_date", sort=True).head(max_items)
    records = [{k: plain(v) for k, v in zip(columns.values(), values)}
               for values in head[list(columns)].itertuples(index=False, name=None)]
    return pd.Series(records, index=head["analysis_date"].to_numpy()).groupby(level=0, sort=True).agg(list)
