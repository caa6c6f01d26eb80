"""Root-cause chains (PRECOMPUTE.md §9) on the hand-built warehouse: a Phase 3 end, an
OK-but-thin end, a non-dependency failure upstream, several branches, and clauses that today's
warehouse already satisfies ('[resolved upstream; rerun]')."""

from __future__ import annotations

import pandas as pd

from nba_precompute.coverage.explain import RESOLVED, Clause, Explainer, clauses_of
from nba_precompute.coverage.load import load_coverage
from nba_precompute.registry import ASSET_NAMES as ASSETS

from .conftest import END, START, build_warehouse, d

UTGC = "nba_analytics.upcoming_team_game_context"


def lines(explainer: Explainer, asset: str, day) -> list[str]:
    return [c.text for c in explainer.chains(asset, day)]


def make(warehouse, with_warehouse: bool = True) -> Explainer:
    cov = load_coverage(warehouse, START, END, ASSETS)
    return Explainer(cov.frame, cov.calendar, warehouse if with_warehouse else None)


def test_the_clauses_are_the_stored_failing_verdicts_of_the_cell(warehouse):
    cov = load_coverage(warehouse, START, END, ASSETS)
    cell = cov.frame[(cov.frame["asset"] == "mlfs") & (cov.frame["date"] == pd.Timestamp(d(5)))].iloc[0]
    clauses = clauses_of(cell.to_dict())
    assert [(c.table, c.date, c.found, c.required, c.asset) for c in clauses] == [
        ("nba_precompute.player_composite_factors", pd.Timestamp("2021-11-05"), 0, 13, "pcf"),
        ("nba_precompute.team_defense_zone_analysis", pd.Timestamp("2021-11-05"), 20, 25, "tdza"),
    ]
    bootstrap = cov.frame[(cov.frame["asset"] == "psza") & (cov.frame["date"] == pd.Timestamp(d(1)))].iloc[0]
    assert clauses_of(bootstrap.to_dict()) == []


def test_rewording_the_reason_changes_no_root_cause(warehouse, tmp_path):
    reworded = build_warehouse(tmp_path / "reworded.duckdb",
                               reason=lambda asset, day, clauses: f"{asset} could not run: inputs were late")
    for asset, day in [("pcf", 4), ("mlfs", 5), ("mlfs", 7), ("pcf", 8), ("mlfs", 8)]:
        assert lines(make(reworded), asset, d(day)) == lines(make(warehouse), asset, d(day)), (asset, day)
    assert "could not run" in make(reworded).cell("mlfs", d(5))["reason"]


def test_phase3_end(warehouse):
    ex = make(warehouse)
    assert lines(ex, "pcf", d(4)) == [f"pcf 2021-11-04 <- {UTGC} 2021-11-04 (0 rows, need 2)"]
    assert lines(ex, "mlfs", d(4)) == [
        f"mlfs 2021-11-04 <- pcf 2021-11-04 (DATE_FAILED: MISSING_DEPENDENCY) <- {UTGC} 2021-11-04 (0 rows, need 2)"
    ]


def test_ok_but_thin_end_and_one_line_per_branch(warehouse):
    ex = make(warehouse)
    assert lines(ex, "pcf", d(5)) == [
        "pcf 2021-11-05 <- tdza 2021-11-05 (OK: 20 rows, need 25; INSUFFICIENT_DATA 5)"
    ]
    assert lines(ex, "mlfs", d(5)) == [
        "mlfs 2021-11-05 <- pcf 2021-11-05 (DATE_FAILED: MISSING_DEPENDENCY) "
        "<- tdza 2021-11-05 (OK: 20 rows, need 25; INSUFFICIENT_DATA 5)",
        "mlfs 2021-11-05 <- tdza 2021-11-05 (OK: 20 rows, need 25; INSUFFICIENT_DATA 5)",
    ]


def test_upstream_failure_of_another_category_stops(warehouse):
    ex = make(warehouse)
    assert lines(ex, "mlfs", d(7)) == [
        "mlfs 2021-11-07 <- pdc 2021-11-07 (DATE_FAILED: MISSING_DEPENDENCY) <- psza 2021-11-07 (DATE_FAILED: PROCESSING_ERROR)",
        "mlfs 2021-11-07 <- pcf 2021-11-07 (DATE_FAILED: MISSING_DEPENDENCY) <- psza 2021-11-07 (DATE_FAILED: PROCESSING_ERROR)",
        "mlfs 2021-11-07 <- psza 2021-11-07 (DATE_FAILED: PROCESSING_ERROR)",
    ]


def test_resolved_upstream_when_todays_warehouse_meets_the_rule(warehouse):
    ex = make(warehouse)
    # UTGC now holds both teams of 2021-11-08: rule 8 of pcf re-evaluates to 2 >= 2
    assert lines(ex, "pcf", d(8)) == [f"pcf 2021-11-08 <- {UTGC} 2021-11-08 (0 rows, need 2) {RESOLVED}"]
    assert lines(ex, "mlfs", d(8)) == [
        f"mlfs 2021-11-08 <- pcf 2021-11-08 (DATE_FAILED: MISSING_DEPENDENCY) <- {UTGC} 2021-11-08 (0 rows, need 2) "
        f"{RESOLVED}"
    ]
    assert ex.met_today("pcf", Clause(UTGC, pd.Timestamp("2021-11-08"), 0, 2)) is True
    # still unmet today: no mark
    assert ex.met_today("pcf", Clause(UTGC, pd.Timestamp("2021-11-04"), 0, 2)) is False
    assert not any(RESOLVED in x for x in lines(ex, "mlfs", d(4)) + lines(ex, "mlfs", d(5)) + lines(ex, "mlfs", d(7)))


def test_without_a_warehouse_nothing_is_marked_resolved(warehouse):
    ex = make(warehouse, with_warehouse=False)
    assert lines(ex, "pcf", d(8)) == [f"pcf 2021-11-08 <- {UTGC} 2021-11-08 (0 rows, need 2)"]


def test_dates_that_are_not_dependency_failures_explain_themselves(warehouse):
    ex = make(warehouse)
    assert lines(ex, "psza", d(7)) == ["psza 2021-11-07 (DATE_FAILED: PROCESSING_ERROR) ValueError: boom"]
    assert lines(ex, "psza", d(1)) == [
        "psza 2021-11-01 (DATE_FAILED: BOOTSTRAP_PERIOD) Bootstrap period: day 13 of 14 after opener 2021-10-19"
    ]
    assert lines(ex, "pdc", d(6)) == ["pdc 2021-11-06 (MISSING)"]
    assert lines(ex, "pdc", d(3)) == ["pdc 2021-11-03 (NO_GAMES)"]
    assert lines(ex, "tdza", d(5)) == ["tdza 2021-11-05 (OK: 20 rows; INSUFFICIENT_DATA 5)"]
    assert lines(ex, "mlfs", d(2)) == ["mlfs 2021-11-02 (OK: 16 rows)"]


def test_explain_frame_covers_every_failed_date(warehouse):
    cov = load_coverage(warehouse, START, END, ASSETS).explain(warehouse)
    failed = cov.frame[cov.frame["status"] == "DATE_FAILED"]
    assert set(cov.chains) == {(a, pd.Timestamp(t)) for a, t in zip(failed["asset"], failed["date"])}
    assert [c.text for c in cov.chains[("mlfs", pd.Timestamp(d(8)))]][0].endswith(RESOLVED)
    assert len(cov.chains[("mlfs", pd.Timestamp(d(7)))]) == 3
