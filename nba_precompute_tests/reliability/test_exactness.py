"""Results never depend on how the work was cut: on the two real seasons, one long range crossing
the season boundary gives, for every sampled date, byte-identical rows and failure records to
computing that date alone (every column of the five assets)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nba_precompute.phase3.loader import read_folder
from nba_precompute.registry import ASSET_NAMES as ASSETS

from .helpers import run_chain

pytestmark = pytest.mark.shared_data

LONG_RANGE = ("2022-01-03", "2022-12-20")  # 2021-22 from January, the off-season, 2022-23 to December
SAMPLE = [
    # 2021-22: January to the last day, and a game-free day
    "2022-01-03", "2022-01-15", "2022-01-31", "2022-02-14", "2022-02-28", "2022-03-10", "2022-03-25",
    "2022-04-01", "2022-04-09", "2022-04-10", "2022-02-18",
    # off-season
    "2022-06-15",
    # 2022-23: opener, bootstrap, ramp, the issue's date, later
    "2022-10-18", "2022-10-25", "2022-10-31", "2022-11-01", "2022-11-02", "2022-11-08", "2022-11-14",
    "2022-11-20", "2022-11-30", "2022-12-01", "2022-12-10", "2022-12-20",
]


@pytest.fixture(scope="module")
def both_seasons(shared_data_dir) -> dict[str, pd.DataFrame]:
    frames: dict[str, list[pd.DataFrame]] = {}
    for season in ("nba-2021-22", "nba-2022-23"):
        for table, frame in read_folder(shared_data_dir / season).frames.items():
            frames.setdefault(table.fqn, []).append(frame)
    return {fqn: pd.concat(parts, ignore_index=True) for fqn, parts in frames.items()}


@pytest.fixture(scope="module")
def ranged(both_seasons):
    return run_chain(both_seasons, list(pd.date_range(*LONG_RANGE)))


def _on(frame: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    return frame[pd.to_datetime(frame["analysis_date"]) == day].reset_index(drop=True)


def _assert_byte_identical(got: pd.DataFrame, want: pd.DataFrame, what: str) -> None:
    if got.empty or want.empty:  # an empty frame's dtypes say nothing: the same columns, no rows
        assert got.empty and want.empty and list(got.columns) == list(want.columns), what
        return
    pd.testing.assert_frame_equal(got, want, check_exact=True, obj=what)
    for column in got.columns:
        if pd.api.types.is_float_dtype(got[column]):  # same bits, -0.0 and NaN included
            a = np.ascontiguousarray(got[column].to_numpy("float64"))
            b = np.ascontiguousarray(want[column].to_numpy("float64"))
            assert a.tobytes() == b.tobytes(), (what, column)


def test_the_sample_spans_both_seasons():
    assert len(SAMPLE) >= 20 and len(set(SAMPLE)) == len(SAMPLE)
    assert sum(d < "2022-06-01" for d in SAMPLE) >= 10 and sum(d > "2022-10-01" for d in SAMPLE) >= 10
    assert all(LONG_RANGE[0] <= d <= LONG_RANGE[1] for d in SAMPLE)


def test_a_long_range_across_the_season_boundary_equals_single_dates_byte_for_byte(both_seasons, ranged):
    rows_compared = 0
    for day in map(pd.Timestamp, SAMPLE):
        single = run_chain(both_seasons, [day])
        for asset in ASSETS:
            got, want = _on(ranged[asset].rows, day), single[asset].rows.reset_index(drop=True)
            _assert_byte_identical(got, want, f"{asset} rows {day:%Y-%m-%d}")
            _assert_byte_identical(_on(ranged[asset].failures, day), single[asset].failures.reset_index(drop=True),
                                   f"{asset} failures {day:%Y-%m-%d}")
            rows_compared += len(got)
    assert rows_compared > 10_000  # the sample computes real rows of every asset, not only empty dates


def test_the_issue_value_is_the_exactly_rounded_mean(ranged):
    """pdc minutes_avg_last_10 whose exact mean is 133.75 / 8 = 16.71875 (issue 13, case 6) is
    stored as 16.7188 (half away from zero) inside the long range too."""
    rows = _on(ranged["pdc"].rows, pd.Timestamp("2022-11-02"))
    assert (rows["minutes_avg_last_10"] == 16.7188).sum() >= 1
    assert (rows["minutes_avg_last_10"] == 16.7187).sum() == 0
