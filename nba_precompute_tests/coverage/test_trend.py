"""The volume trend of the coverage report: the rows per date against the volume check's band,
its references read from before the window, the PNG written by `nba-precompute coverage --trend`."""

from __future__ import annotations

import argparse
import datetime as dt

import pandas as pd
import pytest
from PIL import Image

from nba_precompute.coverage import cli as coverage_cli
from nba_precompute.coverage import trend
from nba_precompute.coverage.load import read_calendar
from nba_precompute.failures import FAILURE_COLUMNS, failure_frame
from nba_precompute.phase3.contract import PHASE3_TABLES, SCHEDULE
from nba_precompute.warehouse.duckdb import DuckDBWarehouse

from .conftest import d, rows, schedule_frame

# pcf: 16 rows (8 per scheduled team) on every date 11-02..11-20 but 11-15, which has 12 (-25%)
DATES = pd.date_range("2021-11-02", "2021-11-20", freq="D").date
SHORT = d(15)
WINDOW = (d(10), d(20))


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> DuckDBWarehouse:
    wh = DuckDBWarehouse(database=str(tmp_path_factory.mktemp("trend") / "w.duckdb"))
    wh.ensure_tables()
    phase3 = {t: pd.DataFrame(columns=t.column_names) for t in PHASE3_TABLES}
    phase3[SCHEDULE] = schedule_frame()  # one game a day (2 teams) but 2021-11-03
    wh.replace_date_range(phase3, dt.date(2021, 1, 1), dt.date(2022, 12, 31))
    game_dates = [day for day in DATES if day != d(3)]
    counts = {day: 12 if day == SHORT else 16 for day in game_dates}
    fails = failure_frame(processor_name="pcf", analysis_date=[d(4)], entity_id=["x"], category="INSUFFICIENT_DATA",
                          reason="hand-built")[FAILURE_COLUMNS]
    wh.write_partitions("pcf", list(DATES), rows("pcf", counts), fails, run_id="hand-built")
    return wh


def test_trend_takes_its_references_from_before_the_window_and_flags_the_short_date(warehouse):
    results = trend.volume_trend(warehouse, *WINDOW, read_calendar(warehouse), ["pcf"])
    assert [str(x.date()) for x in results["date"]] == [str(x) for x in pd.date_range(*WINDOW).date]
    first = results.iloc[0]
    assert first["evaluated"] and first["reference_dates"] == 7  # the 7 game dates 11-02..11-09 but 11-03
    assert [str(x.date()) for x in results.loc[results["anomaly"], "date"]] == [str(SHORT)]


def test_trend_png_is_an_image_whose_series_dips_below_the_band_on_the_short_date(warehouse, tmp_path):
    results = trend.volume_trend(warehouse, *WINDOW, read_calendar(warehouse), ["pcf"])
    info = trend.write_trend(results, tmp_path / "trend.png")
    image = Image.open(info.path)
    assert image.format == "PNG" and image.size == (info.width, info.height)
    series = info.series["pcf"].set_index("date")
    short = series.loc[pd.Timestamp(SHORT)]
    assert short["rate"] == 6.0 and short["anomaly"] and short["rate"] < short["band_low"]
    others = series.drop(pd.Timestamp(SHORT))
    assert (others["rate"] == 8.0).all() and (others["band_low"] < others["rate"]).all()
    assert not others["anomaly"].any()
    assert list(info.anomaly_centres) == [("pcf", str(SHORT))]
    assert trend.trend_png_bytes(results)[:8] == b"\x89PNG\r\n\x1a\n"


def test_coverage_command_writes_the_trend(warehouse, tmp_path, capsys):
    path = tmp_path / "out" / "trend.png"
    args = argparse.Namespace(start=WINDOW[0], end=WINDOW[1], assets=["pcf"], format="json", dates=False,
                              explain=False, heatmap=None, trend=path)
    assert coverage_cli.run_coverage(args, warehouse) == 0
    err = capsys.readouterr().err
    assert f"volume trend written to {path} (1 anomaly)" in err
    assert Image.open(path).format == "PNG"


def test_no_rows_in_the_window_writes_no_trend(warehouse, tmp_path):
    results = trend.volume_trend(warehouse, d(1, 12), d(5, 12), read_calendar(warehouse), ["pcf"])
    assert results.empty and trend.write_trend(results, tmp_path / "none.png") is None
    assert not (tmp_path / "none.png").exists()
