"""Rows of known fields go to dlt as Arrow tables; rows with a new API field take the dict path.
Either way table `restores` keeps one shape, and a database written by the dict path alone
(an earlier version) goes on loading."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from dcs_restores import RESTORE_COLUMNS
from dcs_restores.batches import DLT_COLUMNS, ArrowBatcher
from dcs_simulator import FaultPlan, FaultRule
from dcs_simulator.faults import NEW_FIELDS

from tests.conftest import Runner, expected_restores
from tests.support.truth import assert_matches_truth
from tests.support.worlds import early, small_world

TABLE_SHAPE_SQL = (
    "select column_name, data_type, is_nullable from information_schema.columns "
    "where table_schema = 'dcs' and table_name = 'restores' order by ordinal_position"
)


def shaped_row(n: int) -> dict[str, Any]:
    return {
        "restore_id": f"r-{n}",
        "instance_id": "i",
        "project_id": "p",
        "status": "succeed",
        "progress": 100.0,
        "created_at": datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=n),
        "updated_at": None,
    }


def test_batcher_hands_out_full_tables_and_a_last_one(monkeypatch: pytest.MonkeyPatch) -> None:
    import dlt

    monkeypatch.setattr(dlt.current, "load_package_state", lambda: {"load_id": "1700000000.1"})
    batcher = ArrowBatcher(RESTORE_COLUMNS, batch_rows=4)
    tables = [table for n in range(10) for table in batcher.add(shaped_row(n))]
    tables += list(batcher.flush())
    assert [t.num_rows for t in tables] == [4, 4, 2]
    first = tables[0]
    assert first.column_names == [*RESTORE_COLUMNS, *DLT_COLUMNS]
    assert first.column("restore_id").to_pylist() == ["r-0", "r-1", "r-2", "r-3"]
    assert first.column("created_at").type.tz == "UTC"
    assert first.column("backup_name").null_count == 4
    assert set(first.column("_dlt_load_id").to_pylist()) == {"1700000000.1"}
    ids = [i for t in tables for i in t.column("_dlt_id").to_pylist()]
    assert len(set(ids)) == 10 and all(ids)
    assert list(batcher.flush()) == []


def test_a_page_of_rows_fills_tables_and_hands_back_what_does_not_fit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import dlt

    monkeypatch.setattr(dlt.current, "load_package_state", lambda: {"load_id": "1700000000.2"})
    batcher = ArrowBatcher(RESTORE_COLUMNS, batch_rows=5)
    odd = shaped_row(99) | {"restore_type": "full"}
    tables, unusual = batcher.add_page([shaped_row(0), odd, shaped_row(1), shaped_row(2)])
    assert tables == [] and unusual == [odd]
    tables, unusual = batcher.add_page([shaped_row(n) for n in range(3, 7)])
    assert unusual == [] and [t.num_rows for t in tables] == [7]
    assert tables[0].column("restore_id").to_pylist() == [f"r-{n}" for n in range(7)]
    assert list(batcher.flush()) == []


def test_a_row_with_a_field_the_source_does_not_know_does_not_fit() -> None:
    batcher = ArrowBatcher(RESTORE_COLUMNS)
    assert batcher.fits(shaped_row(1))
    assert not batcher.fits(shaped_row(1) | {"restore_type": "full"})


def test_a_new_api_field_becomes_a_column_beside_the_arrow_rows(serve: Any, runner: Runner) -> None:
    world = small_world(seed=4, instances=3, restores=25, empty=0)
    # one in three pages carries the new fields on half its records
    plan = FaultPlan([FaultRule("new_field", probability=0.34)], seed=2)
    simulator = serve(world, now=world.default_now, faults=plan)
    runner.run(simulator)
    assert_matches_truth(runner, simulator)
    typed = dict(
        runner.query(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'dcs' and table_name = 'restores'"
        )
    )
    assert typed["restore_type"] == "VARCHAR" and typed["data_size_mb"] == "BIGINT"
    counts = runner.query(
        "select count(*) filter (where restore_type is not null), "
        "count(*) filter (where restore_type is null), "
        "count(*) filter (where data_size_mb = 512) from dcs.restores"
    )[0]
    with_field, without, sized = counts
    assert with_field > 0 and without > with_field and sized == with_field
    assert (
        NEW_FIELDS["restore_type"]
        == runner.query(
            "select distinct restore_type from dcs.restores where restore_type is not null"
        )[0][0]
    )


def test_a_database_loaded_by_the_dict_path_goes_on_loading(
    serve: Any, runner: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = small_world(seed=6, instances=4, restores=30)
    simulator = serve(world, now=early(world))
    # an earlier version: every row through dlt's dict normaliser
    with monkeypatch.context() as patch:
        patch.setattr(ArrowBatcher, "fits", lambda self, row: False)
        runner.run(simulator)
    shape_before = runner.query(TABLE_SHAPE_SQL)
    assert runner.restores() == expected_restores(world, simulator.now)

    assert world.default_now is not None
    simulator.set_now(world.default_now)
    summary = runner.run(simulator)
    assert summary.restores_new > 0
    assert_matches_truth(runner, simulator)
    assert runner.query(TABLE_SHAPE_SQL) == shape_before
    loads = runner.query("select count(distinct _dlt_load_id), count(_dlt_id) from dcs.restores")
    assert loads[0][0] == 2 and loads[0][1] == summary.restores_total
