"""`nba-precompute check` over a hand-built DuckDB warehouse: stored tables only, no recompute;
plus the candidates an audit derives from Phase 3."""

from __future__ import annotations

import argparse
import datetime as dt
import json

import pandas as pd
import pytest

from nba_precompute.checks.audit import audit, format_report, run_check
from nba_precompute.checks.candidates import candidates_for, slate_sizes_for
from nba_precompute.checks.config import ENV_VAR
from nba_precompute.checks.evaluate import failed
from nba_precompute.phase3.contract import (
    PLAYER_GAME_SUMMARY as PGS,
    SCHEDULE,
    TEAM_DEFENSE_GAME_SUMMARY as TDGS,
    UPCOMING_PLAYER_GAME_CONTEXT as UPCG,
)
from nba_precompute.season import SeasonCalendar
from nba_precompute.registry import ASSET_NAMES as ASSETS
from nba_precompute.warehouse import WarehouseError
from nba_precompute.warehouse.duckdb import DuckDBWarehouse
from nba_precompute_tests.checks.builders import (
    date_failure,
    entity_failures,
    failures,
    pcf_rows,
    psza_rows,
    tdza_rows,
    typed,
)

OPENER, LAST = dt.date(2022, 10, 18), dt.date(2023, 4, 9)
D0, D1, D2 = pd.Timestamp("2022-11-14"), pd.Timestamp("2022-11-15"), pd.Timestamp("2022-11-16")
T = pd.Timestamp("2022-11-14 12:00", tz="UTC")


@pytest.fixture(autouse=True)
def _default_config(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)


def sched_row(gid, date, home, away):
    return dict(game_id=gid, game_date=date, season_year=2022, home_team_abbr=home, away_team_abbr=away,
                game_status=3, is_regular_season=True, is_playoffs=False)


def pgs_row(player, team, gid, date, played=True, season=2022):
    return dict(player_lookup=player, universal_player_id=None, player_name=player, game_id=gid, game_date=date,
                season_year=season, team_abbr=team, opponent_team_abbr="BBB" if team == "AAA" else "AAA",
                home_game=True, starter=True, is_active=played, is_dnp=not played,
                minutes_played=30.0 if played else None, points=12 if played else None,
                fg_attempts=10 if played else None, ft_attempts=2 if played else None, processed_at=T)


def tdgs_row(team, opp, gid, date):
    return dict(game_id=gid, game_date=date, season_year=2022, defending_team_abbr=team, opponent_team_abbr=opp,
                points_allowed=100, defensive_rating=110.0, opponent_pace=100.0, processed_at=T)


def upcg_row(player, team, opp, gid, date, processed_at=T):
    return dict(player_lookup=player, game_id=gid, game_date=date, team_abbr=team, opponent_team_abbr=opp,
                processed_at=processed_at)


def phase3_frames():
    d = dt.date.fromisoformat
    schedule = typed(SCHEDULE, [
        sched_row("g0", OPENER, "AAA", "BBB"), sched_row("g1", d("2022-11-01"), "AAA", "BBB"),
        sched_row("g2", d("2022-11-15"), "AAA", "BBB"), sched_row("g3", d("2022-11-16"), "CCC", "DDD"),
        sched_row("g4", LAST, "AAA", "CCC"),
    ])
    pgs = typed(PGS, [
        pgs_row("a1", "AAA", "g1", d("2022-11-01")), pgs_row("a2", "AAA", "g1", d("2022-11-01")),
        pgs_row("a3", "AAA", "g1", d("2022-11-01")),
        pgs_row("b1", "BBB", "g1", d("2022-11-01"), played=False),  # a DNP row: never a candidate
        pgs_row("z9", "AAA", "g2", d("2022-11-15")),  # a candidate from 11-16 on
    ])
    tdgs = typed(TDGS, [tdgs_row("AAA", "BBB", "g1", d("2022-11-01")), tdgs_row("BBB", "AAA", "g1", d("2022-11-01"))])
    upcg = typed(UPCG, [
        upcg_row("a1", "AAA", "BBB", "g2", d("2022-11-15")), upcg_row("a2", "AAA", "BBB", "g2", d("2022-11-15")),
        upcg_row("a1", "AAA", "BBB", "g2", d("2022-11-15"), processed_at=T - pd.Timedelta(days=1)),  # older snapshot
        upcg_row("c1", "CCC", "DDD", "g3", d("2022-11-16")),
    ])
    return {SCHEDULE: schedule, PGS: pgs, TDGS: tdgs, UPCG: upcg}


def write(wh, asset, dates, rows, fails):
    wh.write_partitions(asset, [d.date() for d in dates], rows, fails, run_id="test-run")


def build_warehouse(path, broken: bool) -> DuckDBWarehouse:
    wh = DuckDBWarehouse(database=str(path))
    wh.ensure_tables()
    wh.replace_date_range(phase3_frames(), OPENER, LAST)
    # psza: a3 has too few games on 11-14; on 11-16 z9 is a new candidate
    write(wh, "psza", [D0], psza_rows(D0, names=["a1", "a2"]), entity_failures("psza", D0, ["a3"]))
    write(wh, "psza", [D1], psza_rows(D1, names=["a1", "a2", "a3"]), failures())
    if broken:  # a3 dropped without a failure row, a1 with 12 games in a 10-game sample
        write(wh, "psza", [D2], psza_rows(D2, names=["a1", "a2", "z9"], games_in_sample_10=[12, 10, 10]), failures())
    else:
        write(wh, "psza", [D2], psza_rows(D2, names=["a1", "a2", "a3", "z9"]), failures())
    write(wh, "tdza", [D0, D2], tdza_rows(D0, names=["AAA", "BBB"]).pipe(
        lambda r: pd.concat([r, tdza_rows(D2, names=["AAA", "BBB"])], ignore_index=True)), failures())
    if broken:  # a row beside a date-level failure
        write(wh, "tdza", [D1], tdza_rows(D1, names=["AAA"]), date_failure("tdza", D1))
    else:
        write(wh, "tdza", [D1], tdza_rows(D1, names=[]), date_failure("tdza", D1))
    write(wh, "pcf", [D1], pcf_rows(D1, names=["a1", "a2"]), failures())
    write(wh, "pcf", [D2], pcf_rows(D2, names=["c1", "c1"] if broken else ["c1"]), failures())
    return wh


def args(start=D0, end=D2, assets=ASSETS, json_path=None):
    return argparse.Namespace(start=start.date(), end=end.date(), assets=list(assets), json=json_path)


# --- candidates -------------------------------------------------------------------------------
def test_candidates_from_phase3():
    frames = phase3_frames()
    cal = SeasonCalendar(frames[SCHEDULE])
    inputs = {t.fqn: f for t, f in frames.items()}
    dates = [D0, D1, D2]
    psza = candidates_for("psza", inputs, cal, dates)
    assert psza.groupby("analysis_date")["player_lookup"].apply(list).to_dict() == {
        D0: ["a1", "a2", "a3"], D1: ["a1", "a2", "a3"], D2: ["a1", "a2", "a3", "z9"]}
    tdza = candidates_for("tdza", inputs, cal, dates)
    assert tdza.groupby("analysis_date")["team_abbr"].apply(list).to_dict() == {
        D0: ["AAA", "BBB"], D1: ["AAA", "BBB"], D2: ["AAA", "BBB"]}
    slate = candidates_for("pcf", inputs, cal, dates)  # no games on 11-14; one row per player
    assert slate.groupby("analysis_date")["player_lookup"].apply(list).to_dict() == {D1: ["a1", "a2"], D2: ["c1"]}
    assert slate_sizes_for(frames[UPCG], dates).tolist() == [0, 2, 1]
    # off-season dates have no candidates; nor has the opener (no game before it)
    assert candidates_for("psza", inputs, cal, [pd.Timestamp("2022-07-01"), pd.Timestamp(OPENER)]).empty


def test_candidates_ignore_other_seasons_and_games_before_the_opener():
    frames = phase3_frames()
    cal = SeasonCalendar(frames[SCHEDULE])
    pgs = pd.concat([frames[PGS], typed(PGS, [
        pgs_row("old", "AAA", "x1", dt.date(2022, 3, 1), season=2021),
        pgs_row("pre", "AAA", "x2", dt.date(2022, 10, 1)),  # season 2022, before its opener
    ])], ignore_index=True)
    psza = candidates_for("psza", {PGS.fqn: pgs}, cal, [D1])
    assert list(psza["player_lookup"]) == ["a1", "a2", "a3"]


# --- the audit --------------------------------------------------------------------------------
def test_audit_finds_the_broken_partitions(tmp_path):
    wh = build_warehouse(tmp_path / "wh.duckdb", broken=True)
    res = audit(wh, D0.date(), D2.date(), ASSETS)
    # psza and tdza: every season date; pdc, pcf, mlfs: game dates only
    assert res.groupby("asset")["analysis_date"].nunique().to_dict() == {
        "psza": 3, "tdza": 3, "pdc": 2, "pcf": 2, "mlfs": 2}
    errors = failed(res, "ERROR")
    got = {(r.asset, r.analysis_date.strftime("%Y-%m-%d"), r.check): r.detail for r in errors.itertuples()}
    assert got == {
        ("psza", "2022-11-16", "entity_accounting"): "1 of 4 candidates without a row or a failure: a3",
        ("psza", "2022-11-16", "value_ranges"): "games_in_sample_10 12 outside [0, 10] for a1",
        ("tdza", "2022-11-15", "outcome_consistent"):
            "DATE_LEVEL failure (MISSING_DEPENDENCY) beside 1 row and 0 entity failures",
        ("pcf", "2022-11-16", "primary_key_unique"): "1 duplicate row key (2 rows): (2022-11-16, c1) x2",
    }
    # the small hand-built partitions are below ROW_MIN: warnings only
    warns = failed(res, "WARN")
    assert set(warns["check"]) == {"row_minimum"}
    row_min = res[res["check"] == "row_minimum"].set_index(["asset", "analysis_date"])["detail"]
    assert row_min[("pcf", D1)] == "2 rows >= 2 (max(1, ceil(0.8 x 2)))"  # N = 2 slate players
    assert row_min[("psza", D1)] == "3 rows < 100 required"
    ea = res[(res["check"] == "entity_accounting")].set_index(["asset", "analysis_date"])["detail"]
    assert ea[("psza", D0)] == "3 candidates = 2 rows + 1 entity failure"
    assert ea[("pcf", D1)] == "2 candidates = 2 rows + 0 entity failures"
    assert ea[("tdza", D1)] == "not applicable: date-level failure (MISSING_DEPENDENCY)"
    # nothing was ever stored for pdc and mlfs: not applicable, not a failure of this check
    assert ea[("pdc", D1)] == "not applicable: compute step not reached (0 rows, no failure)"


def test_run_check_exits_1_on_an_error_and_writes_json(tmp_path, capsys):
    wh = build_warehouse(tmp_path / "wh.duckdb", broken=True)
    out = tmp_path / "reports" / "checks.json"
    assert run_check(args(json_path=out), wh) == 1
    text = capsys.readouterr().out
    assert "nba-precompute check 2022-11-14..2022-11-16: psza, tdza, pdc, pcf, mlfs" in text
    assert "psza   2022-11-16  entity_accounting   ERROR     FAIL    1 of 4 candidates without a row or a failure: a3" \
        in text
    assert "Nothing stored (no row, no failure: not materialized?) on:" in text
    assert "  pdc: 2022-11-15..2022-11-16 (2 dates)" in text
    assert "Result: FAIL (4 ERROR check results failed)" in text
    report = json.loads(out.read_text())
    assert report["ok"] is False and report["error_failures"] == 4
    assert report["start"] == "2022-11-14" and report["assets"] == list(ASSETS)
    rec = next(r for r in report["results"] if r["asset"] == "pcf" and r["check"] == "primary_key_unique"
               and r["analysis_date"] == "2022-11-16")
    assert rec == {"asset": "pcf", "analysis_date": "2022-11-16", "check": "primary_key_unique",
                   "severity": "ERROR", "result": "FAIL", "passed": False, "applicable": True,
                   "detail": "1 duplicate row key (2 rows): (2022-11-16, c1) x2", "observed": 1}
    assert {r["result"] for r in report["results"]} == {"PASS", "FAIL", "N/A"}
    summary = {(s["asset"], s["check"]): s for s in report["summary"]}
    assert summary[("psza", "entity_accounting")] == {
        "asset": "psza", "check": "entity_accounting", "severity": "ERROR", "PASS": 2, "FAIL": 1, "NA": 0}


def test_run_check_exits_0_when_clean(tmp_path, capsys):
    wh = build_warehouse(tmp_path / "wh.duckdb", broken=False)
    out = tmp_path / "checks.json"
    assert run_check(args(json_path=out), wh) == 0
    text = capsys.readouterr().out
    assert "Result: OK (no ERROR check failed; " in text
    report = json.loads(out.read_text())
    assert report["ok"] is True and report["error_failures"] == 0 and report["warning_failures"] > 0


def test_json_to_stdout_moves_the_report_to_stderr(tmp_path, capsys):
    wh = build_warehouse(tmp_path / "wh.duckdb", broken=True)
    assert run_check(args(assets=["tdza"], json_path="-"), wh) == 1
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["assets"] == ["tdza"] and report["error_failures"] == 1
    assert "Result: FAIL (1 ERROR check result failed)" in captured.err


def test_assets_subset_and_off_season_range(tmp_path):
    wh = build_warehouse(tmp_path / "wh.duckdb", broken=True)
    res = audit(wh, D0.date(), D2.date(), ["pcf"])
    assert set(res["asset"]) == {"pcf"}
    off = audit(wh, dt.date(2022, 7, 1), dt.date(2022, 7, 31), ASSETS)
    assert off.empty
    assert "No check failed." in format_report(off, "2022-07-01", "2022-07-31", ASSETS)


def test_a_config_override_reaches_the_audit(tmp_path, monkeypatch):
    wh = build_warehouse(tmp_path / "wh.duckdb", broken=True)
    cfg = tmp_path / "deploy.yaml"
    cfg.write_text("checks:\n  primary_key_unique: {severity: WARN}\n  value_ranges: {severity: WARN}\n"
                   "  entity_accounting: {severity: WARN}\n  outcome_consistent: {severity: WARN}\n")
    monkeypatch.setenv(ENV_VAR, str(cfg))
    assert run_check(args(), wh) == 0


def test_phase3_must_be_loaded(tmp_path):
    wh = DuckDBWarehouse(database=str(tmp_path / "empty.duckdb"))
    wh.ensure_tables()
    with pytest.raises(WarehouseError, match="nba_reference.schedule does not exist"):
        audit(wh, D0.date(), D2.date(), ASSETS)


def test_the_cli_command(tmp_path, monkeypatch, capsys):
    from nba_precompute.cli import main

    db = tmp_path / "wh.duckdb"
    build_warehouse(db, broken=True)
    monkeypatch.setenv("NBA_PRECOMPUTE_WAREHOUSE", str(db))
    monkeypatch.setenv("NBA_PRECOMPUTE_TARGET", "duckdb")
    rc = main(["--warehouse", str(db), "check", "--start", "2022-11-14", "--end", "2022-11-16",
               "--assets", "psza,tdza", "--json", str(tmp_path / "out.json")])
    assert rc == 1
    assert json.loads((tmp_path / "out.json").read_text())["error_failures"] == 3
    assert "Result: FAIL (3 ERROR check results failed)" in capsys.readouterr().out
