"""Output formats and the two commands: the documented JSON shape, the aligned table, CSV, Markdown,
`nba-precompute coverage` (with --dates, --explain, --heatmap) and `nba-precompute explain`."""

from __future__ import annotations

import argparse
import csv
import io
import json

import pytest

from nba_precompute.coverage import cli as coverage_cli
from nba_precompute.coverage import report
from nba_precompute.coverage.explain import RESOLVED
from nba_precompute.coverage.load import load_coverage
from nba_precompute.registry import ASSET_NAMES as ASSETS

from .conftest import END, START, d

ASSET_KEYS = {"expected", "data_dates", "date_level_failures", "total", "status", "missing_dates", "entity_failures",
              "no_games", "off_season", "dagster"}
DATE_KEYS = {"asset", "date", "status", "category", "reason", "rows", "entity_failures", "expected", "dagster_status",
             "dagster_agrees", "dagster_note", "chains"}


@pytest.fixture(autouse=True)
def no_instance(monkeypatch):
    """The commands must not pick up a developer's or CI's DAGSTER_HOME here."""
    monkeypatch.setattr(coverage_cli, "open_instance", lambda: None)


def args(**kw) -> argparse.Namespace:
    base = dict(start=START, end=END, assets=list(ASSETS), format="table", dates=False, explain=False, heatmap=None)
    base.update(kw)
    return argparse.Namespace(**base)


def test_json_shape_and_values(warehouse, capsys):
    assert coverage_cli.run_coverage(args(format="json"), warehouse) == 0
    out = capsys.readouterr()
    doc = json.loads(out.out)
    assert set(doc) == {"start", "end", "dagster_source", "assets", "dates"}
    assert (doc["start"], doc["end"], doc["dagster_source"]) == ("2021-10-18", "2021-11-08", "none")
    assert list(doc["assets"]) == list(ASSETS)
    for body in doc["assets"].values():
        assert set(body) == ASSET_KEYS
        assert set(body["date_level_failures"]) == {"total", "by_category"}
        assert set(body["entity_failures"]) == {"total", "by_category"}
        assert set(body["dagster"]) == {"checked", "disagreements", "disagreement_dates"}
    assert doc["assets"]["pdc"] == {
        "expected": 20, "data_dates": 4,
        "date_level_failures": {"total": 15, "by_category": {"BOOTSTRAP_PERIOD": 14, "MISSING_DEPENDENCY": 1}},
        "total": 19, "status": "INCOMPLETE", "missing_dates": ["2021-11-06"],
        "entity_failures": {"total": 1, "by_category": {"STALE_DATA": 1}},
        "no_games": 1, "off_season": 1,
        "dagster": {"checked": 0, "disagreements": 0, "disagreement_dates": []},
    }
    assert len(doc["dates"]) == 5 * 22
    assert all(set(r) == DATE_KEYS for r in doc["dates"])
    pcf = next(r for r in doc["dates"] if r["asset"] == "pcf" and r["date"] == "2021-11-05")
    assert pcf == {
        "asset": "pcf", "date": "2021-11-05", "status": "DATE_FAILED", "category": "MISSING_DEPENDENCY",
        "reason": "Missing nba_precompute.team_defense_zone_analysis for 2021-11-05 (20 rows, need 25)",
        "rows": 0, "entity_failures": {}, "expected": True, "dagster_status": "unknown",
        "dagster_agrees": None, "dagster_note": None, "chains": None,
    }
    ok = next(r for r in doc["dates"] if r["asset"] == "tdza" and r["date"] == "2021-11-05")
    assert (ok["status"], ok["rows"], ok["entity_failures"], ok["category"]) == ("OK", 20, {"INSUFFICIENT_DATA": 5}, None)
    assert out.err == ""


def test_json_with_explain_carries_the_chains(warehouse, capsys):
    coverage_cli.run_coverage(args(format="json", explain=True, assets=["mlfs"]), warehouse)
    doc = json.loads(capsys.readouterr().out)
    assert list(doc["assets"]) == ["mlfs"]
    by_date = {r["date"]: r for r in doc["dates"]}
    assert by_date["2021-11-08"]["chains"][0].endswith(RESOLVED)
    assert len(by_date["2021-11-07"]["chains"]) == 3
    assert by_date["2021-11-02"]["chains"] is None  # OK: no chain
    assert by_date["2021-10-19"]["chains"] == [
        "mlfs 2021-10-19 (DATE_FAILED: BOOTSTRAP_PERIOD) Bootstrap period: day 0 of 14 after opener 2021-10-19"
    ]


def test_table_is_aligned_like_the_spec(warehouse, capsys):
    coverage_cli.run_coverage(args(), warehouse)
    out = capsys.readouterr().out
    lines = out.splitlines()
    header = lines[2]
    assert header.startswith("asset | Expected | Data Dates | Date-Level Failures")
    table = lines[2:8]
    bars = [[i for i, ch in enumerate(line) if ch == "|"] for line in table]
    assert all(b == bars[0] for b in bars)  # every column lines up
    rows = {line.split("|")[0].strip(): [c.strip() for c in line.split("|")] for line in table[1:]}
    assert rows["pdc"][1:6] == ["20", "4", "15 (BOOTSTRAP_PERIOD 14, MISSING_DEPENDENCY 1)", "19", "INCOMPLETE"]
    assert rows["psza"][1:6] == ["21", "6", "15 (BOOTSTRAP_PERIOD 14, PROCESSING_ERROR 1)", "21", "EXPLAINED"]
    assert rows["pcf"][6:] == ["0", "unknown"]
    assert "  pdc missing 1: 2021-11-06" in lines and "  mlfs missing 1: 2021-11-06" in lines
    assert "Dagster: no instance read (dagster_status unknown)" in lines


def test_dates_grid_and_explain_in_table(warehouse, capsys):
    coverage_cli.run_coverage(args(dates=True, explain=True), warehouse)
    lines = capsys.readouterr().out.splitlines()
    grid = {line.split(" | ")[0]: [c.strip() for c in line.split("|")] for line in lines if line.startswith("2021-")}
    assert grid["2021-11-05"] == ["2021-11-05", "Fri", "OK 40", "OK 20", "OK 16", "MISSING_DEP", "MISSING_DEP"]
    assert grid["2021-11-06"][4] == "MISSING" and grid["2021-11-03"][4] == "NO_GAMES"
    assert grid["2021-10-18"][2:] == ["OFF_SEASON"] * 5 and grid["2021-11-07"][2] == "PROC_ERROR"
    assert ("  psza 2021-10-19..2021-11-01 (14) (DATE_FAILED: BOOTSTRAP_PERIOD) the first 14 days after the "
            "season opener") in lines
    assert ("  pcf 2021-11-08 <- nba_analytics.upcoming_team_game_context 2021-11-08 (0 rows, need 2) "
            f"{RESOLVED}") in lines
    assert "  mlfs 2021-11-05 <- tdza 2021-11-05 (OK: 20 rows, need 25; INSUFFICIENT_DATA 5)" in lines


def test_csv_range_and_dates(warehouse, capsys):
    coverage_cli.run_coverage(args(format="csv"), warehouse)
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["asset"] for r in rows] == list(ASSETS)
    mlfs = rows[-1]
    assert (mlfs["expected"], mlfs["total"], mlfs["status"], mlfs["missing_dates"]) == ("20", "19", "INCOMPLETE",
                                                                                      "2021-11-06")
    coverage_cli.run_coverage(args(format="csv", dates=True), warehouse)
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 110
    r = next(r for r in rows if r["asset"] == "psza" and r["date"] == "2021-11-07")
    assert (r["status"], r["category"], r["reason"], r["rows"]) == (
        "DATE_FAILED", "PROCESSING_ERROR", "ValueError: boom", "0")


def test_markdown(warehouse):
    cov = load_coverage(warehouse, START, END).explain(warehouse)
    md = report.to_markdown(cov, dates=True, explain=True)
    assert "| pdc | 20 | 4 | 15 (BOOTSTRAP_PERIOD 14, MISSING_DEPENDENCY 1) | 19 | INCOMPLETE | 1 (STALE_DATA 1) |" in md
    assert "| 2021-11-06 | Sat | OK 40 | OK 30 | MISSING | OK 16 | MISSING |" in md
    assert "### Root causes" in md and RESOLVED in md


def test_compress_dates():
    assert report.compress_dates(["2021-11-01", "2021-11-02", "2021-11-03", "2021-11-09"]) == (
        "2021-11-01..2021-11-03 (3), 2021-11-09")
    assert report.compress_dates([]) == ""


def test_heatmap_option_writes_the_file(warehouse, tmp_path, capsys):
    path = tmp_path / "cov.png"
    coverage_cli.run_coverage(args(format="json", heatmap=path), warehouse)
    out = capsys.readouterr()
    json.loads(out.out)  # stdout stays pure JSON
    assert f"heatmap written to {path}" in out.err
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_explain_command(warehouse, capsys):
    assert coverage_cli.run_explain("mlfs", d(5), warehouse) == 0
    assert capsys.readouterr().out.splitlines() == [
        "mlfs 2021-11-05 <- pcf 2021-11-05 (DATE_FAILED: MISSING_DEPENDENCY) "
        "<- tdza 2021-11-05 (OK: 20 rows, need 25; INSUFFICIENT_DATA 5)",
        "mlfs 2021-11-05 <- tdza 2021-11-05 (OK: 20 rows, need 25; INSUFFICIENT_DATA 5)",
    ]
    coverage_cli.run_explain("mlfs", d(4), warehouse)
    assert capsys.readouterr().out.strip() == (
        "mlfs 2021-11-04 <- pcf 2021-11-04 (DATE_FAILED: MISSING_DEPENDENCY) <- "
        "nba_analytics.upcoming_team_game_context 2021-11-04 (0 rows, need 2)"
    )


def test_through_the_main_cli(warehouse, monkeypatch, capsys):
    from nba_precompute.cli import main

    monkeypatch.setenv("NBA_PRECOMPUTE_WAREHOUSE", warehouse.database)
    monkeypatch.setenv("NBA_PRECOMPUTE_TARGET", "duckdb")
    assert main(["--warehouse", warehouse.database, "coverage", "--start", "2021-11-01", "--end", "2021-11-08",
                 "--assets", "pcf,psza", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert list(doc["assets"]) == ["psza", "pcf"]  # dependency order
    assert doc["assets"]["pcf"]["date_level_failures"]["by_category"] == {
        "BOOTSTRAP_PERIOD": 1, "MISSING_DEPENDENCY": 4}
    assert main(["--warehouse", warehouse.database, "explain", "pcf", "2021-11-08"]) == 0
    assert capsys.readouterr().out.strip().endswith(RESOLVED)


def test_reversed_range_is_a_clear_error(warehouse, capsys):
    assert coverage_cli.run_coverage(args(start=END, end=START), warehouse) == 2
    assert capsys.readouterr().err.strip() == "error: --end 2021-10-18 is before --start 2021-11-08"
