"""Window aggregates are exact: a mean or sum over the n most recent games is the correctly
rounded value of the exact rational result, whatever other games (of this or other entities,
before or after) the index holds, so ranged and single-date computation agree bit for bit."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd
from hypothesis import given, settings, strategies as st

from nba_precompute.features.numeric import round_half_away
from nba_precompute.features.windows import GameIndex

# Decimal minutes of whole seconds (8025 s = 133.75 min: the exact mean is 16.71875, issue 13).
WINDOW_MINUTES = [sec / 60 for sec in (1001, 1003, 999, 1005, 1002, 1004, 1000, 1011)]


def _history(n: int = 20_000) -> list[float]:
    return list(np.random.default_rng(0).integers(0, 48 * 60, n) / 60)


def _games(history: list[float], window: list[float]) -> pd.DataFrame:
    """Player "a" with `history`, then player "b" with `window` (8 games from 2022-10-20)."""
    days = list(pd.date_range("2000-01-01", periods=len(history))) + list(pd.date_range("2022-10-20", periods=len(window)))
    return pd.DataFrame({"p": ["a"] * len(history) + ["b"] * len(window), "game_date": days,
                         "game_id": [f"{i:010d}" for i in range(len(days))], "m": history + window})


def _query(day="2022-11-02"):
    return pd.DataFrame({"p": ["b"], "analysis_date": [pd.Timestamp(day)]})


def _exact_mean(values) -> float:
    return float(sum(map(Fraction, values)) / len(values))


def test_the_issue_mean_is_exactly_rounded_after_twenty_thousand_other_games():
    w = GameIndex(_games(_history(), WINDOW_MINUTES), "p").locate(_query())
    assert w.mean("m", 10)[0] == _exact_mean(WINDOW_MINUTES)
    assert w.mean("m", 10)[0] == GameIndex(_games([], WINDOW_MINUTES), "p").locate(_query()).mean("m", 10)[0]
    assert round_half_away(w.mean("m", 10), 4)[0] == 16.7188


def test_a_float_prefix_sum_would_have_missed_it():
    """The premise: cumulative float sums over the same games give another mean."""
    values = np.array(_history() + WINDOW_MINUTES)
    csum = np.concatenate([[0.0], np.cumsum(values)])
    assert (csum[-1] - csum[-9]) / 8 != _exact_mean(WINDOW_MINUTES)


minutes = st.floats(0, 70, allow_nan=False).map(lambda x: round(x * 60) / 60)  # whole seconds


@settings(max_examples=60, deadline=None)
@given(history=st.lists(minutes, max_size=300), window=st.lists(minutes, min_size=1, max_size=12),
       n=st.integers(1, 12), nulls=st.lists(st.booleans(), min_size=12, max_size=12))
def test_mean_sum_and_std_are_exactly_rounded_and_independent_of_other_games(history, window, n, nulls):
    window = [None if nulls[i] and i % 3 == 0 else v for i, v in enumerate(window)]
    alone = GameIndex(_games([], window), "p").locate(_query("2022-12-31"))
    crowded = GameIndex(_games(history, window), "p").locate(_query("2022-12-31"))
    last = [v for v in window[-n:] if v is not None]
    for w in (alone, crowded):
        mean, total, std = w.mean("m", n)[0], w.sum("m", n, strict=False)[0], w.std("m", n)[0]
        if last:
            assert mean == float(sum(map(Fraction, last)) / len(last))
        else:
            assert np.isnan(mean)
        assert total == float(sum(map(Fraction, last), Fraction(0)))
        if len(last) >= 2:
            k, s = len(last), sum(map(Fraction, last))
            var = (k * sum(Fraction(v) ** 2 for v in last) - s * s) / (k * (k - 1))
            assert std == np.sqrt(float(var))
        else:
            assert np.isnan(std)
    for name in ("mean", "std"):
        a, b = getattr(alone, name)("m", n)[0], getattr(crowded, name)("m", n)[0]
        assert np.asarray(a).tobytes() == np.asarray(b).tobytes()


def test_integer_columns_keep_the_fast_exact_path_and_an_all_null_window_is_nan():
    games = _games([], [10.0, 20.0, 35.0])
    games.loc[0, "m"] = np.nan
    w = GameIndex(games, "p").locate(_query())
    assert w.mean("m", 3)[0] == 27.5 and w.sum("m", 3, strict=False)[0] == 55.0
    assert np.isnan(w.sum("m", 3)[0])  # strict: a NULL in the window
    only_null = GameIndex(_games([], [np.nan]), "p").locate(_query())
    assert np.isnan(only_null.mean("m", 1)[0]) and np.isnan(only_null.std("m", 1)[0])
