"""The real 2022-23 season: a month of the five assets, materialized and stored in DuckDB,
passes every ERROR check of the audit; breaking the stored tables by hand is caught."""

from __future__ import annotations

import datetime as dt
import shutil

import duckdb
import pandas as pd
import pytest

from nba_precompute.checks.audit import audit
from nba_precompute.checks.candidates import candidates_for, read_candidate_inputs
from nba_precompute.checks.config import ENV_VAR
from nba_precompute.checks.evaluate import evaluate_range_result, failed
from nba_precompute.checks.registry import CHECK_NAMES
from nba_precompute.features.shot_zones import compute_psza
from nba_precompute.features.team_defense import compute_tdza
from nba_precompute.phase3.contract import PLAYER_GAME_SUMMARY as PGS, TEAM_DEFENSE_GAME_SUMMARY as TDGS
from nba_precompute.phase3.loader import load_phase3
from nba_precompute.pipeline import COMPUTED, materialize_range, schedule_reader
from nba_precompute.registry import ASSET_NAMES as ASSETS
from nba_precompute.warehouse.duckdb import DuckDBWarehouse

START, END = dt.date(2022, 11, 15), dt.date(2022, 12, 14)
pytestmark = pytest.mark.shared_data


@pytest.fixture(autouse=True)
def _default_config(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)


@pytest.fixture(scope="module")
def real_month(shared_data_dir, tmp_path_factory):
    """A DuckDB warehouse with the real season loaded and the month materialized, in dependency order."""
    path = tmp_path_factory.mktemp("real-month") / "warehouse.duckdb"
    wh = DuckDBWarehouse(database=str(path))
    wh.ensure_tables()
    load_phase3(shared_data_dir / "nba-2022-23", wh)
    calendar = schedule_reader(wh.read_required)
    dates = pd.date_range(START, END)
    results = {}
    for asset in ASSETS:
        result = materialize_range(asset, calendar, dates, wh.read_required)
        assert result.error is None, f"{asset}: {result.error}"
        wh.write_partitions(asset, [d.date() for d in dates], result.rows, result.failures, run_id="real-month")
        results[asset] = result
    return path, results


def test_every_error_check_passes_on_the_real_month(real_month):
    path, results = real_month
    res = audit(DuckDBWarehouse(database=str(path)), START, END, ASSETS)
    errors = failed(res, "ERROR")
    assert errors.empty, errors[["asset", "analysis_date", "check", "detail"]].to_string()
    # every check was evaluated on every computed date (30 season dates; 29 game dates)
    for asset in ASSETS:
        mine = res[res["asset"] == asset]
        computed = (results[asset].days["outcome"] == COMPUTED).sum()
        assert mine["analysis_date"].nunique() == computed == (30 if asset in ("psza", "tdza") else 29)
        for check in ("primary_key_unique", "keys_not_null", "outcome_consistent", "entity_accounting",
                      "value_ranges"):
            assert mine.loc[mine["check"] == check, "applicable"].all(), (asset, check)
        assert set(mine["check"]) == set(CHECK_NAMES[asset])


def test_audit_candidates_agree_with_the_feature_modules(real_month):
    path, results = real_month
    wh = DuckDBWarehouse(database=str(path))
    calendar = schedule_reader(wh.read_required)
    dates = pd.date_range(START, END)
    inputs = read_candidate_inputs(["psza", "tdza", "pcf"], calendar, dates, wh.read_required)
    pgs = wh.read_required(PGS, dt.date(2022, 10, 18), END)
    tdgs = wh.read_required(TDGS, dt.date(2022, 10, 18), END)
    computed_by_asset = {"psza": compute_psza(pgs, calendar, dates), "tdza": compute_tdza(tdgs, calendar, dates)}
    for asset, computed in computed_by_asset.items():
        mine = candidates_for(asset, inputs, calendar, dates)
        theirs = computed.candidates.assign(analysis_date=pd.to_datetime(computed.candidates["analysis_date"]))
        pd.testing.assert_frame_equal(mine, theirs.astype(mine.dtypes.to_dict()).reset_index(drop=True))
    # slate assets: rows + entity failures of the stored month = the slate
    slate = candidates_for("pcf", inputs, calendar, dates)
    pcf = results["pcf"]
    fails = pcf.failures.rename(columns={"entity_id": "player_lookup"})
    accounted = pd.concat([pcf.rows[["analysis_date", "player_lookup"]], fails[["analysis_date", "player_lookup"]]])
    assert len(slate) == len(accounted) > 29 * 100


def test_checks_of_a_materialization_before_it_is_written(real_month):
    """The Dagster path: RangeResult + the feature function's candidates."""
    path, results = real_month
    wh = DuckDBWarehouse(database=str(path))
    calendar = schedule_reader(wh.read_required)
    dates = pd.date_range(START, END)
    pgs = wh.read_required(PGS, dt.date(2022, 10, 18), END)
    res = evaluate_range_result(results["psza"], candidates=compute_psza(pgs, calendar, dates).candidates)
    assert failed(res, "ERROR").empty
    assert res.loc[res["check"] == "entity_accounting", "applicable"].all()


def test_hand_broken_real_tables_are_caught(real_month, tmp_path):
    path, _ = real_month
    broken = tmp_path / "broken.duckdb"
    shutil.copy(path, broken)
    con = duckdb.connect(str(broken))
    dropped = con.execute(
        "SELECT min(player_lookup) FROM nba_precompute.player_shot_zone_analysis WHERE analysis_date = '2022-12-01'"
    ).fetchone()[0]
    con.execute("DELETE FROM nba_precompute.player_shot_zone_analysis "
                "WHERE analysis_date = '2022-12-01' AND player_lookup = ?", [dropped])
    tired = con.execute(
        "SELECT min(player_lookup) FROM nba_precompute.player_composite_factors WHERE analysis_date = '2022-12-02'"
    ).fetchone()[0]
    con.execute("UPDATE nba_precompute.player_composite_factors SET fatigue_score = 130 "
                "WHERE analysis_date = '2022-12-02' AND player_lookup = ?", [tired])
    con.execute("INSERT INTO nba_processing.precompute_failures VALUES ('mlfs', 'manual', DATE '2022-12-03', "
                "'DATE_LEVEL', 'MISSING_DEPENDENCY', 'Missing x for 2022-12-03 (0 rows, need 1)', TRUE, NULL, NULL, "
                "now())")
    con.execute("INSERT INTO nba_precompute.team_defense_zone_analysis SELECT * FROM "
                "nba_precompute.team_defense_zone_analysis WHERE analysis_date = '2022-12-04' AND team_abbr = 'BOS'")
    n_mlfs = con.execute("SELECT count(*) FROM nba_predictions.ml_feature_store_v2 "
                         "WHERE analysis_date = '2022-12-03'").fetchone()[0]
    con.close()

    res = audit(DuckDBWarehouse(database=str(broken)), START, END, ASSETS)
    errors = failed(res, "ERROR")
    got = {(r.asset, r.analysis_date.strftime("%Y-%m-%d"), r.check): r.detail for r in errors.itertuples()}
    assert set(got) == {
        ("psza", "2022-12-01", "entity_accounting"),
        ("pcf", "2022-12-02", "value_ranges"),
        ("mlfs", "2022-12-03", "outcome_consistent"),
        ("tdza", "2022-12-04", "primary_key_unique"),
    }, got
    assert got[("psza", "2022-12-01", "entity_accounting")].endswith(
        f"candidates without a row or a failure: {dropped}")
    assert got[("pcf", "2022-12-02", "value_ranges")] == f"fatigue_score 130 outside [0, 100] for {tired}"
    assert got[("mlfs", "2022-12-03", "outcome_consistent")] == (
        f"DATE_LEVEL failure (MISSING_DEPENDENCY) beside {n_mlfs} rows and 0 entity failures")
    assert got[("tdza", "2022-12-04", "primary_key_unique")] == "1 duplicate row key (2 rows): (2022-12-04, BOS) x2"
