"""The heatmap files: the PNG is read back (size, one cell per (asset, date), each cell's colour,
the disagreement marker) and the HTML is self-contained with the same colours."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest
from PIL import Image

from nba_precompute.coverage import heatmap
from nba_precompute.coverage.load import load_coverage
from nba_precompute.registry import ASSET_NAMES as ASSETS

from .conftest import START, d

PALETTE = {heatmap.hex_to_rgb(c) for _, c in heatmap.LEGEND} | {heatmap.hex_to_rgb(heatmap.OTHER_FAILURE_COLOUR)}


def runs(pixels: list[tuple[int, int, int]]) -> int:
    """Runs of consecutive palette-coloured pixels (cells), split by anything else (gaps, lines)."""
    count, inside = 0, False
    for p in pixels:
        if p in PALETTE:
            if not inside:
                count += 1
            inside = True
        else:
            inside = False
    return count


@pytest.fixture(scope="module")
def png(coverage, tmp_path_factory):
    path = tmp_path_factory.mktemp("heatmap") / "coverage.png"
    info = heatmap.render_png(coverage.frame, path, coverage.report, coverage.calendar)
    return info, Image.open(path).convert("RGB")


def test_png_size_and_grid(png):
    info, image = png
    assert image.size == (info.width, info.height)
    assert info.assets == list(ASSETS) and len(info.dates) == 22
    assert info.dates[0] == "2021-10-18" and info.dates[-1] == "2021-11-08"
    assert len(info.centres) == 5 * 22
    # one row of 22 cells per asset and one column of 5 cells per date, read off the pixels
    for asset in ASSETS:
        x0 = info.centres[(asset, info.dates[0])][0] - 12
        x1 = info.centres[(asset, info.dates[-1])][0] + 12
        y = info.centres[(asset, info.dates[0])][1]
        assert runs([image.getpixel((x, y)) for x in range(x0, x1 + 1)]) == 22, asset
    for day in info.dates:
        x = info.centres[("psza", day)][0]
        y0, y1 = info.centres[("psza", day)][1] - 20, info.centres[("mlfs", day)][1] + 20
        assert runs([image.getpixel((x, y)) for y in range(y0, y1 + 1)]) == 5, day
    # rows go down in dependency order, dates left to right
    assert info.centres[("psza", "2021-11-02")][1] < info.centres[("mlfs", "2021-11-02")][1]
    assert info.centres[("psza", "2021-11-01")][0] < info.centres[("psza", "2021-11-02")][0]


def test_png_cell_colours(png, coverage):
    info, image = png
    for asset, date, status, category in zip(coverage.frame["asset"], coverage.frame["date"],
                                              coverage.frame["status"], coverage.frame["category"]):
        key = (asset, date.strftime("%Y-%m-%d"))
        assert image.getpixel(info.centres[key]) == heatmap.hex_to_rgb(heatmap.cell_colour(status, category)), key

    def at(asset, day):
        return image.getpixel(info.centres[(asset, day.isoformat())])

    assert at("psza", START) == heatmap.hex_to_rgb("#EDEDED")  # OFF_SEASON
    assert at("psza", dt.date(2021, 10, 19)) == heatmap.hex_to_rgb("#56B4E9")  # BOOTSTRAP_PERIOD
    assert at("psza", d(2)) == heatmap.hex_to_rgb("#009E73")  # OK
    assert at("pdc", d(3)) == heatmap.hex_to_rgb("#C8C8C8")  # NO_GAMES
    assert at("pcf", d(4)) == heatmap.hex_to_rgb("#E69F00")  # MISSING_DEPENDENCY
    assert at("psza", d(7)) == heatmap.hex_to_rgb("#D55E00")  # PROCESSING_ERROR
    assert at("pdc", d(6)) == heatmap.hex_to_rgb("#1A1A1A")  # MISSING


def test_palette_is_distinct_and_fixed():
    colours = [c for _, c in heatmap.LEGEND]
    assert len(set(colours)) == len(colours) == 7
    assert heatmap.cell_colour("DATE_FAILED", "SOMETHING_NEW") == heatmap.OTHER_FAILURE_COLOUR


def test_disagreement_marker(coverage, tmp_path):
    frame = coverage.frame.copy()
    frame["dagster_agrees"] = pd.array([True] * len(frame), dtype="boolean")
    hit = (frame["asset"] == "tdza") & (frame["date"] == pd.Timestamp(d(2)))
    frame.loc[hit, "dagster_agrees"] = False
    info = heatmap.render_png(frame, tmp_path / "h.png", calendar=coverage.calendar)
    image = Image.open(tmp_path / "h.png").convert("RGB")
    assert image.getpixel(info.centres[("tdza", "2021-11-02")]) == (255, 255, 255)
    assert image.getpixel(info.centres[("psza", "2021-11-02")]) == heatmap.hex_to_rgb(heatmap.OK_COLOUR)
    title, counts = heatmap.title_lines(frame)
    assert title == "Phase 4 coverage  2021-10-18 to 2021-11-08  (22 dates x 5 assets)"
    assert counts.split("   ") == [
        "OK 20", "DATE_FAILED 80 (BOOTSTRAP_PERIOD 70, MISSING_DEPENDENCY 9, PROCESSING_ERROR 1)", "NO_GAMES 3",
        "OFF_SEASON 5", "MISSING 2", "Dagster disagreements 1",
    ]


def test_long_range_png(warehouse, tmp_path):
    cov = load_coverage(warehouse, START, dt.date(2022, 1, 31))
    info = heatmap.render_png(cov.frame, tmp_path / "long.png", cov.report, cov.calendar)
    image = Image.open(tmp_path / "long.png").convert("RGB")
    assert len(info.dates) == 106 and image.size == (info.width, info.height)
    assert image.getpixel(info.centres[("psza", "2021-12-10")]) == heatmap.hex_to_rgb(heatmap.MISSING_COLOUR)
    assert image.getpixel(info.centres[("psza", "2022-01-31")]) == heatmap.hex_to_rgb(heatmap.OFF_SEASON_COLOUR)
    assert image.getpixel(info.centres[("pcf", "2021-11-04")]) == heatmap.hex_to_rgb("#E69F00")


def test_html_is_self_contained_with_the_same_colours(coverage, tmp_path):
    path = heatmap.render(coverage.frame, tmp_path / "coverage.html", coverage.report, coverage.calendar)
    text = path.read_text()
    assert "<script" not in text and "http" not in text and "<link" not in text
    cells = re.findall(r"<td class='c[^']*' style='background:(#[0-9A-F]{6})' title='([^']*)'", text)
    assert len(cells) == 5 * 22
    by_title = {t.split("&#x27;")[0].split(" (")[0]: c for c, t in cells}
    assert by_title["pdc 2021-11-06"] == heatmap.MISSING_COLOUR
    assert by_title["psza 2021-11-07"] == "#D55E00"
    assert "Phase 4 coverage  2021-10-18 to 2021-11-08" in text
    assert text.count("class='we'") == 2 * 6  # weekend dates, in the day and weekday header rows


def test_render_rejects_other_extensions(coverage, tmp_path):
    with pytest.raises(ValueError, match=r"\.png or \.html"):
        heatmap.render(coverage.frame, tmp_path / "x.jpg")
