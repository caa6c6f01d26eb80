""""Last N games before D" for many (entity, D) pairs at once, with no per-date loop.

A `GameIndex` holds one entity's games in contiguous, chronologically sorted blocks
(ordering per §2: game_date, then game_id). For a query (entity, D) the number of games
before D is `k` (a binary search on a composite key); the window of the n most recent games
is positions [k - n, k) of that entity's block, and every window aggregate is a difference of
prefix sums. So a season of daily windows costs a few array operations.

Exactness: a value must not depend on how the work was cut (one date, a season, two seasons), yet
a float prefix sum over everything loaded makes the difference of two large totals carry their
rounding error (a mean of 16.71875 came out as 16.718749999 inside a long range and 16.71875
alone). So prefix sums are exact: integer-valued columns in float64 (exact below 2**53), other
columns as Python integers in fixed point (each float is a dyadic rational; all are scaled by
one power of two), and a mean or sum is the correctly rounded quotient of two exact integers.
Every window aggregate is then a function of the window's games only, rounded once.

Window sums follow the spec's NULL rule: NULL unless the column is non-NULL in every game of
the window. Means skip NULLs (SQL AVG).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from nba_precompute.season import day_numbers, to_datetime


def _key(frame: pd.DataFrame, columns: Sequence[str], categories) -> np.ndarray:
    """Entity codes for `columns` of `frame`, using the codes of `categories` (-1 = unknown)."""
    if len(columns) == 1:
        return pd.Categorical(frame[columns[0]], categories=categories).codes.astype(np.int64)
    tuples = pd.MultiIndex.from_frame(frame[list(columns)])
    return np.asarray(categories.get_indexer(tuples), dtype=np.int64)


class GameIndex:
    """Games of many entities, for window look-ups before arbitrary dates."""

    def __init__(self, games: pd.DataFrame, entity: Sequence[str] | str, date_column: str = "game_date"):
        self.entity = [entity] if isinstance(entity, str) else list(entity)
        g = games.copy()
        g[date_column] = to_datetime(g[date_column])
        order = self.entity + [date_column] + (["game_id"] if "game_id" in g.columns else [])
        g = g.sort_values(order, kind="mergesort").reset_index(drop=True)
        if len(self.entity) == 1:
            self.categories = pd.Index(pd.unique(g[self.entity[0]]))
        else:
            self.categories = pd.MultiIndex.from_frame(g[self.entity].drop_duplicates())
        codes = _key(g, self.entity, self.categories)
        days = day_numbers(g[date_column])
        self.games = g
        self.codes = codes
        self.days = days
        # composite key, sorted because g is sorted by entity code order of first appearance
        self._composite = codes * 1_000_000 + (days - days.min() if len(days) else days)
        self._day0 = days.min() if len(days) else 0
        counts = np.bincount(codes, minlength=len(self.categories)) if len(codes) else np.zeros(0, int)
        self.start = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64) if len(counts) else counts
        self.size = counts.astype(np.int64)
        self._prefix_cache: dict[str, _Prefix] = {}

    # --- positions ----------------------------------------------------------------------------
    def locate(self, queries: pd.DataFrame, date_column: str = "analysis_date") -> "Windows":
        """For each query row (entity columns + date), the entity block and k = games before D."""
        code = _key(queries, self.entity, self.categories)
        known = code >= 0
        qdays = day_numbers(queries[date_column])
        composite = np.where(known, code, 0) * 1_000_000 + (qdays - self._day0)
        pos = np.searchsorted(self._composite, composite, side="left")
        start = np.where(known, self.start[np.where(known, code, 0)] if len(self.start) else 0, 0)
        k = np.where(known, pos - start, 0).astype(np.int64)
        return Windows(self, np.where(known, code, -1), np.asarray(start, dtype=np.int64), k, qdays)

    # --- prefix sums --------------------------------------------------------------------------
    def _prefix(self, column: str) -> "_Prefix":
        if column not in self._prefix_cache:
            values = pd.to_numeric(self.games[column], errors="coerce").astype("float64").to_numpy()
            self._prefix_cache[column] = _Prefix(values)
        return self._prefix_cache[column]


class _Prefix:
    """Exact prefix sums of one column (values, squares, NULL counts); see the module docstring."""

    _EXACT_FLOAT = 2.0**53

    def __init__(self, values: np.ndarray):
        null = ~np.isfinite(values)  # NaN and +-Inf are NULL (§2)
        zero = np.where(null, 0.0, values)
        self.nulls = np.concatenate([[0], np.cumsum(null)])
        integral = bool(np.all(zero == np.round(zero)))
        self.is_float = integral and float(np.abs(zero).sum()) < self._EXACT_FLOAT and float(
            (zero * zero).sum()) < self._EXACT_FLOAT
        if self.is_float:  # integers: float64 sums are exact
            self.scale = 1
            self.sums = np.concatenate([[0.0], np.cumsum(zero)])
            self.squares = np.concatenate([[0.0], np.cumsum(zero * zero)])
            return
        ratios = [v.as_integer_ratio() for v in zero.tolist()]
        self.scale = max(q for _, q in ratios)  # a power of two: every value is an integer / scale
        ints = [p * (self.scale // q) for p, q in ratios]
        self.sums = np.concatenate([[0], np.cumsum(np.array(ints, dtype=object))]) if ints else np.array([0], dtype=object)
        self.squares = (np.concatenate([[0], np.cumsum(np.array([i * i for i in ints], dtype=object))])
                        if ints else np.array([0], dtype=object))

    def total(self, lo: np.ndarray, hi: np.ndarray):
        """Exact window sums (float64 for integer columns, else Python ints in units of 1/scale)."""
        return self.sums[hi] - self.sums[lo]

    def quotient(self, numerator, denominator: np.ndarray) -> np.ndarray:
        """numerator / (denominator * scale), correctly rounded; NaN where denominator is 0."""
        den = np.asarray(denominator)
        ok = den > 0
        if self.is_float:
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(ok, np.asarray(numerator, dtype="float64") / np.maximum(den, 1), np.nan)
        out = np.full(len(den), np.nan)
        if ok.any():  # Python int / int on object arrays: correctly rounded
            num = np.asarray(numerator, dtype=object)[ok]
            out[ok] = (num / (den[ok].astype(object) * self.scale)).astype("float64")
        return out


class Windows:
    """Window aggregates for located queries; `n=None` means every game before D."""

    def __init__(self, index: GameIndex, code: np.ndarray, start: np.ndarray, k: np.ndarray, qdays: np.ndarray):
        self.index, self.code, self.start, self.k, self.qdays = index, code, start, k, qdays

    def games_before(self) -> np.ndarray:
        return self.k.copy()

    def bounds(self, n: int | None = None, since_days: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Global [lo, hi) rows of the window: the n most recent games before D, optionally only
        those dated on or after D - since_days."""
        hi = self.start + self.k
        lo = self.start.copy() if n is None else self.start + np.maximum(self.k - n, 0)
        if since_days is not None:
            # first game dated on or after D - since_days, within the entity's block
            target = np.maximum(self.code, 0) * 1_000_000 + (self.qdays - since_days - self.index._day0)
            first = np.searchsorted(self.index._composite, target, side="left")
            lo = np.maximum(lo, np.minimum(np.maximum(first, self.start), hi))
        return lo, hi

    def count(self, n: int | None = None, since_days: int | None = None) -> np.ndarray:
        lo, hi = self.bounds(n, since_days)
        return hi - lo

    def sum(self, column: str, n: int | None = None, since_days: int | None = None, strict: bool = True) -> np.ndarray:
        """Window sum. strict: NaN unless non-NULL in every game of the window (spec §2)."""
        lo, hi = self.bounds(n, since_days)
        prefix = self.index._prefix(column)
        total = prefix.quotient(prefix.total(lo, hi), np.ones(len(lo), dtype=np.int64))
        if strict:
            nulls = prefix.nulls[hi] - prefix.nulls[lo]
            total = np.where(nulls > 0, np.nan, total)
        return total

    def non_null_count(self, column: str, n: int | None = None, since_days: int | None = None) -> np.ndarray:
        lo, hi = self.bounds(n, since_days)
        prefix = self.index._prefix(column)
        return (hi - lo) - (prefix.nulls[hi] - prefix.nulls[lo])

    def mean(self, column: str, n: int | None = None, since_days: int | None = None) -> np.ndarray:
        """Mean of the non-NULL values in the window (SQL AVG), exactly rounded; NaN if none."""
        lo, hi = self.bounds(n, since_days)
        prefix = self.index._prefix(column)
        count = (hi - lo) - (prefix.nulls[hi] - prefix.nulls[lo])
        return prefix.quotient(prefix.total(lo, hi), count)

    def std(self, column: str, n: int | None = None, since_days: int | None = None) -> np.ndarray:
        """Sample standard deviation (n - 1) of the non-NULL values; NaN below 2 values. The
        variance is the correctly rounded value of the exact (n·Σx² − (Σx)²) / (n(n − 1))."""
        lo, hi = self.bounds(n, since_days)
        prefix = self.index._prefix(column)
        count = (hi - lo) - (prefix.nulls[hi] - prefix.nulls[lo])
        out = np.full(len(lo), np.nan)
        s = prefix.sums[hi] - prefix.sums[lo]
        sq = prefix.squares[hi] - prefix.squares[lo]
        scale2 = prefix.scale * prefix.scale
        for i in np.flatnonzero(count >= 2):
            k = int(count[i])
            si, qi = (int(s[i]), int(sq[i]))  # exact: float64 integers below 2**53, or Python ints
            var = (k * qi - si * si) / (k * (k - 1) * scale2)
            out[i] = float(np.sqrt(max(var, 0.0)))
        return out

    def last_value(self, column: str, offset: int = 1, non_null: bool = False) -> pd.Series:
        """Value of the offset-th most recent game before D (offset 1 = the latest); with
        non_null, the most recent non-NULL value among all games before D."""
        values = self.index.games[column]
        hi = self.start + self.k
        if non_null:
            filled = values.groupby(self.index.codes).ffill()
            pos = hi - 1
            ok = self.k >= 1
        else:
            filled = values
            pos = hi - offset
            ok = self.k >= offset
        picked = filled.to_numpy()[np.clip(pos, 0, max(len(values) - 1, 0))] if len(values) else np.array([None] * len(pos))
        out = pd.Series(picked, dtype=values.dtype if len(values) else "object")
        out[~ok] = None
        return out.reset_index(drop=True)


def played_games(pgs: pd.DataFrame) -> pd.DataFrame:
    """The PGS rows that count as a played game (§2); every other row is a DNP and is ignored."""
    active = pgs["is_active"].fillna(False).astype(bool)
    not_dnp = ~pgs["is_dnp"].fillna(False).astype(bool)
    has_points = pgs["points"].notna()
    played_time = (
        (pd.to_numeric(pgs["minutes_played"], errors="coerce").fillna(0) > 0)
        | (pd.to_numeric(pgs["fg_attempts"], errors="coerce").fillna(0) > 0)
        | (pd.to_numeric(pgs["ft_attempts"], errors="coerce").fillna(0) > 0)
    )
    return pgs[active & not_dnp & has_points & played_time]
