"""DuckDBWarehouse.write_partitions on a real DuckDB file: exact partition replacement, stamping,
idempotent rewrites and all-or-nothing writes across the asset table and the failure table."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from nba_precompute.failures import FAILURE_COLUMNS
from nba_precompute.phase3.contract import SCHEDULE, Table
from nba_precompute.tables import FAILURES, PSZA, TDZA
from nba_precompute.registry import ASSET_TABLES, ENTITY_COLUMN, output_columns
from nba_precompute.warehouse import WarehouseError
from nba_precompute.warehouse.base import OUTPUT_TABLES
from nba_precompute.warehouse.duckdb import DuckDBWarehouse

D1, D2, D3 = dt.date(2021, 11, 1), dt.date(2021, 11, 2), dt.date(2021, 11, 3)


def rows(asset: str, entries: list[tuple[dt.date, str]], **values) -> pd.DataFrame:
    """A rows frame with the asset's real output columns: date and entity set, `values` for
    every row, every other column NULL."""
    columns = output_columns(asset)
    records = []
    for date, entity in entries:
        record = dict.fromkeys(columns)
        record.update(values, analysis_date=date, **{ENTITY_COLUMN[asset]: entity})
        records.append(record)
    return pd.DataFrame(records, columns=columns, dtype=object)


def failures(asset: str, entries: list[tuple[dt.date, str]], **values) -> pd.DataFrame:
    records = [
        {"processor_name": asset, "analysis_date": date, "entity_id": entity,
         "failure_category": "INSUFFICIENT_DATA", "failure_reason": f"{entity} has too few games",
         "can_retry": False, "expected_game_count": 10, "actual_game_count": 2, **values}
        for date, entity in entries
    ]
    return pd.DataFrame(records, columns=FAILURE_COLUMNS, dtype=object)


def contents(wh: DuckDBWarehouse, table: Table) -> pd.DataFrame:
    return wh.read(table).sort_values(list(table.key)).reset_index(drop=True)


def entities(wh: DuckDBWarehouse, table: Table, entity_column: str, **where) -> set[tuple[dt.date, str]]:
    frame = wh.read(table)
    for column, value in where.items():
        frame = frame[frame[column] == value]
    return {(pd.Timestamp(d).date(), e) for d, e in zip(frame["analysis_date"], frame[entity_column])}


def everything(wh: DuckDBWarehouse) -> dict[str, pd.DataFrame]:
    return {t.fqn: contents(wh, t) for t in OUTPUT_TABLES}


def assert_same(before: dict[str, pd.DataFrame], after: dict[str, pd.DataFrame]) -> None:
    for fqn in before:
        pd.testing.assert_frame_equal(before[fqn], after[fqn], obj=fqn)


@pytest.fixture
def wh(tmp_path) -> DuckDBWarehouse:
    warehouse = DuckDBWarehouse(database=str(tmp_path / "warehouse.duckdb"))
    warehouse.ensure_tables()
    return warehouse


@pytest.fixture
def seeded(wh) -> DuckDBWarehouse:
    """psza and tdza written for D1..D3, each with failure records of its own."""
    wh.write_partitions("psza", [D1, D2, D3],
                        rows("psza", [(d, p) for d in (D1, D2, D3) for p in ("alpha", "bravo")],
                             games_in_sample_10=10, sample_quality_10="high"),
                        failures("psza", [(D1, "charlie"), (D2, "delta")]), "run-1")
    wh.write_partitions("tdza", [D1, D2, D3],
                        rows("tdza", [(d, t) for d in (D1, D2, D3) for t in ("BOS", "NYK")],
                             games_in_sample=15),
                        failures("tdza", [(D2, "PHI"), (D3, "PHI")]), "run-2")
    return wh


def test_ensure_tables_creates_every_output_table_with_its_columns_in_order(wh):
    for table in OUTPUT_TABLES:
        assert wh.table_exists(table), table.fqn
        assert list(wh.read(table).columns) == table.column_names
    assert not wh.table_exists(SCHEDULE)


def test_read_required_of_a_missing_phase3_table_names_it_and_says_what_to_do(wh):
    with pytest.raises(WarehouseError) as err:
        wh.read_required(SCHEDULE)

    assert str(err.value) == (
        "table nba_reference.schedule does not exist in the warehouse; load Phase 3 data first "
        "(nba-precompute load-phase3 DIR)"
    )


def test_write_partitions_replaces_exactly_the_given_dates_of_the_asset_table_and_its_failures(seeded):
    tdza_before = contents(seeded, TDZA)

    seeded.write_partitions("psza", [D2], rows("psza", [(D2, "echo")]), failures("psza", [(D2, "foxtrot")]),
                            "run-3")

    assert entities(seeded, PSZA, "player_lookup") == {
        (D1, "alpha"), (D1, "bravo"), (D2, "echo"), (D3, "alpha"), (D3, "bravo"),
    }
    assert entities(seeded, FAILURES, "entity_id", processor_name="psza") == {
        (D1, "charlie"), (D2, "foxtrot"),
    }
    # Another asset's failure rows on the same date, and its table, are untouched.
    assert entities(seeded, FAILURES, "entity_id", processor_name="tdza") == {(D2, "PHI"), (D3, "PHI")}
    pd.testing.assert_frame_equal(contents(seeded, TDZA), tdza_before)


def test_write_partitions_with_no_rows_empties_those_dates_only(seeded):
    seeded.write_partitions("psza", [D1, D3], rows("psza", []), failures("psza", []), "run-3")

    assert entities(seeded, PSZA, "player_lookup") == {(D2, "alpha"), (D2, "bravo")}
    assert entities(seeded, FAILURES, "entity_id", processor_name="psza") == {(D2, "delta")}
    assert entities(seeded, FAILURES, "entity_id", processor_name="tdza") == {(D2, "PHI"), (D3, "PHI")}


def test_write_partitions_keeps_the_untouched_dates_rows_byte_for_byte(seeded):
    before = contents(seeded, PSZA)

    seeded.write_partitions("psza", [D2], rows("psza", [(D2, "echo")]), failures("psza", []), "run-3")

    after = contents(seeded, PSZA)
    def keep(frame):
        return frame[frame.analysis_date.map(lambda d: pd.Timestamp(d).date()) != D2].reset_index(drop=True)

    # NULLs in the new D2 row make the integer columns nullable on read: compare values, not dtypes.
    pd.testing.assert_frame_equal(keep(after), keep(before), check_dtype=False)
    assert len(keep(after)) == 4


def test_write_partitions_adds_created_at_to_rows_and_failures_and_run_id_to_failures(wh):
    start = pd.Timestamp.now(tz="UTC")

    wh.write_partitions("pdc", [D1], rows("pdc", [(D1, "alpha"), (D1, "bravo")], game_id="0022100100"),
                        failures("pdc", [(D1, "charlie")]), "run-42")

    end = pd.Timestamp.now(tz="UTC")
    pdc = contents(wh, ASSET_TABLES["pdc"])
    fails = contents(wh, FAILURES)
    assert pdc.player_lookup.tolist() == ["alpha", "bravo"]
    assert pdc.game_id.tolist() == ["0022100100", "0022100100"]
    assert pdc.created_at.notna().all() and fails.created_at.notna().all()
    created = set(pdc.created_at) | set(fails.created_at)
    assert len(created) == 1  # one write, one timestamp
    stamp = pd.Timestamp(created.pop())
    assert stamp.tzinfo is not None
    assert start <= stamp <= end
    assert fails.run_id.tolist() == ["run-42"]
    assert fails.processor_name.tolist() == ["pdc"]
    assert fails.failure_reason.tolist() == ["charlie has too few games"]
    assert fails.can_retry.tolist() == [False]


def test_failures_of_dates_not_rewritten_keep_their_original_run_id(seeded):
    seeded.write_partitions("psza", [D2], rows("psza", []), failures("psza", [(D2, "delta")]), "run-3")

    fails = contents(seeded, FAILURES)
    by_key = {(r.processor_name, pd.Timestamp(r.analysis_date).date(), r.entity_id): r.run_id
              for r in fails.itertuples()}
    assert by_key == {
        ("psza", D1, "charlie"): "run-1",
        ("psza", D2, "delta"): "run-3",
        ("tdza", D2, "PHI"): "run-2",
        ("tdza", D3, "PHI"): "run-2",
    }


@pytest.mark.parametrize("asset", list(ASSET_TABLES))
def test_writing_the_same_dates_twice_leaves_no_duplicates(wh, asset):
    entity = ENTITY_COLUMN[asset]
    frame = rows(asset, [(d, e) for d in (D1, D2) for e in ("BOS", "NYK", "PHI")])
    fails = failures(asset, [(D1, "MIA")])

    wh.write_partitions(asset, [D1, D2], frame, fails, "run-1")
    first = {t: contents(wh, t).drop(columns=["created_at"]) for t in (ASSET_TABLES[asset], FAILURES)}
    wh.write_partitions(asset, [D1, D2], frame, fails, "run-1")
    second = {t: contents(wh, t).drop(columns=["created_at"]) for t in (ASSET_TABLES[asset], FAILURES)}

    table = ASSET_TABLES[asset]
    assert len(second[table]) == 6
    assert not second[table].duplicated(["analysis_date", entity]).any()
    assert len(second[FAILURES]) == 1
    for t in first:
        pd.testing.assert_frame_equal(first[t], second[t], obj=t.fqn)


@pytest.mark.parametrize(
    "broken",
    [
        pytest.param(lambda: (rows("psza", [(D1, "alpha")], games_in_sample_10="ten"), failures("psza", [])),
                     id="string-in-INT64-rows-column"),
        pytest.param(lambda: (rows("psza", [(D1, "alpha")], games_in_sample_10=10),
                              failures("psza", [(D1, "charlie")], expected_game_count="many")),
                     id="string-in-INT64-failures-column-after-the-rows-were-replaced"),
    ],
)
def test_a_write_that_fails_midway_raises_naming_the_table_and_changes_nothing(seeded, broken):
    before = everything(seeded)
    new_rows, new_failures = broken()

    with pytest.raises(WarehouseError) as err:
        seeded.write_partitions("psza", [D1, D2], new_rows, new_failures, "run-bad")

    message = str(err.value)
    assert message.startswith(
        "writing nba_precompute.player_shot_zone_analysis for 2021-11-01..2021-11-02 failed: "
    )
    assert "Conversion Error" in message
    assert_same(before, everything(seeded))


def test_the_warehouse_accepts_writes_again_after_a_failed_one(seeded):
    with pytest.raises(WarehouseError):
        seeded.write_partitions("psza", [D1], rows("psza", [(D1, "alpha")], total_shots_last_10="x"),
                                failures("psza", []), "run-bad")

    seeded.write_partitions("psza", [D1], rows("psza", [(D1, "golf")]), failures("psza", []), "run-4")

    assert {e for e in entities(seeded, PSZA, "player_lookup") if e[0] == D1} == {(D1, "golf")}


def test_stamp_rejects_a_frame_missing_a_column_naming_the_table(wh):
    frame = rows("tdza", [(D1, "BOS")]).drop(columns=["weakest_zone"])

    with pytest.raises(WarehouseError) as err:
        wh.write_partitions("tdza", [D1], frame, failures("tdza", []), "run-1")

    assert str(err.value) == (
        "frame for nba_precompute.team_defense_zone_analysis lacks columns ['weakest_zone']"
    )
