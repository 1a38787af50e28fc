"""A run does not load again the records it re-reads unchanged (column record_hash)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from dcs_restores import extract
from dcs_restores.columns import BACKUP_COLUMNS, INSTANCE_COLUMNS, RESTORE_COLUMNS
from dcs_restores_pipeline.bookkeeping import read_before
from dcs_restores_pipeline.runner import make_pipeline
from dcs_simulator import DcsSimulator, World

from tests.conftest import Runner, expected_restores
from tests.support.backups import expected_backups, table_backups

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
A = "aaaaaaaa-0000-4000-8000-00000000000a"
B = "bbbbbbbb-0000-4000-8000-00000000000b"
C = "cccccccc-0000-4000-8000-00000000000c"
TABLES = {"restores": "restore_id", "backups": "backup_id", "instances": "instance_id"}


class Changes:
    """The ids of the records of `world()` that change between T0 and T0 + 2 h."""

    restore = "r-open"
    backup = "b-expiring"


def world() -> World:
    """A: a restore older than any re-read window, two finished restores and one running at
    T0 (succeeded by T0 + 2 h), three backups, one of which expires at T0 + 1 h; B: one
    finished restore, one backup; C: nothing at all (204 for restores and backups)."""
    w = World.empty(seed=5)
    w.add_instance(A, name="a", created_at=T0 - 90 * DAY)
    w.add_instance(B, name="b", created_at=T0 - 90 * DAY)
    w.add_instance(C, name="c", created_at=T0 - 90 * DAY)
    w.add_restore(A, T0 - 30 * DAY, restore_id="r-ancient")
    w.add_restore(A, T0 - 10 * HOUR, restore_id="r-old")
    w.add_restore(A, T0 - 5 * HOUR, restore_id="r-done", outcome="failed")
    w.add_restore(A, T0 - HOUR, wait_s=60, duration_s=3600, restore_id=Changes.restore)
    w.add_restore(B, T0 - 6 * HOUR, restore_id="r-b")
    w.add_backup(A, T0 - 3 * DAY, backup_id="b-kept")
    w.add_backup(A, T0 - 2 * DAY, backup_id=Changes.backup, expires_at=T0 + HOUR)
    w.add_backup(A, T0 - DAY, backup_id="b-new", backup_type="manual")
    w.add_backup(B, T0 - DAY, backup_id="b-b")
    return w


def rename(w: World, instance_id: str, name: str) -> None:
    # the simulator has no rename: its listing renders this dict
    w._by_id[instance_id].info["name"] = name


def snapshot(runner: Runner) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the three tables, dlt's own columns included."""
    return {
        table: runner.query(f"select * from dcs.{table} order by {key}")
        for table, key in TABLES.items()
    }


def load_ids(runner: Runner, table: str) -> dict[str, str]:
    """id -> _dlt_load_id of every row of `table`."""
    rows = runner.query(f"select {TABLES[table]}, _dlt_load_id from dcs.{table}")
    return {str(record_id): str(load_id) for record_id, load_id in rows}


def loads(runner: Runner) -> int:
    return int(runner.query("select count(*) from dcs._dlt_loads")[0][0])


def assert_truth(runner: Runner, sim: DcsSimulator) -> None:
    assert runner.restores() == expected_restores(sim.world, sim.now)
    assert table_backups(runner.query) == expected_backups(sim.world, sim.now)


@pytest.fixture
def sim(serve: Any) -> Iterator[DcsSimulator]:
    yield serve(world(), now=T0)


def test_a_run_where_nothing_changed_loads_nothing(sim: DcsSimulator, runner: Runner) -> None:
    first = runner.run(sim)
    assert first.restores_new == 5 and first.backups_new == 4
    assert (first.restores_unchanged, first.backups_unchanged, first.instances_unchanged) == (
        0,
        0,
        0,
    )
    assert runner.query("select count(*) from dcs.restores where record_hash is null") == [(0,)]
    tables, count = snapshot(runner), loads(runner)

    second = runner.run(sim)
    # no load package at all: no row, no state, no views step
    assert second.load_ids == [] and second.views == []
    assert loads(runner) == count
    assert snapshot(runner) == tables
    assert_truth(runner, sim)
    # every row of the re-read windows was read, and counted as unchanged
    assert second.rows_extracted == second.restores_unchanged == 4
    assert second.backups_rows_extracted == second.backups_unchanged == 4
    assert second.instances_unchanged == 3
    assert (second.restores_new, second.restores_updated, second.backups_updated) == (0, 0, 0)
    assert "4 rows read (4 unchanged, not loaded again)" in second.text()
    assert second.as_dict()["restores_unchanged"] == 4


def test_a_run_that_loads_nothing_still_makes_a_missing_view(
    sim: DcsSimulator, runner: Runner
) -> None:
    import duckdb

    first = runner.run(sim)
    assert "instance_readiness" in first.views
    with duckdb.connect(str(runner.database)) as con:
        con.execute("drop view dcs.instance_readiness")
    second = runner.run(sim)
    assert second.load_ids == [] and "instance_readiness" in second.views
    assert runner.query(
        "select count(*) from information_schema.views where table_name = 'instance_readiness'"
    ) == [(1,)]
    # all there: the next idle run leaves the views alone
    assert runner.run(sim).views == []


def test_only_the_rows_that_changed_are_loaded_again(sim: DcsSimulator, runner: Runner) -> None:
    runner.run(sim)
    before = {table: load_ids(runner, table) for table in TABLES}
    sim.set_now(T0 + 2 * HOUR)
    rename(sim.world, B, "b-renamed")

    second = runner.run(sim)
    assert len(second.load_ids) == 1
    new_load = second.load_ids[0]
    expected = {"restores": Changes.restore, "backups": Changes.backup, "instances": B}
    for table, changed in expected.items():
        after = load_ids(runner, table)
        assert after.keys() == before[table].keys()
        assert {key for key, load in after.items() if load == new_load} == {changed}
        assert {k: v for k, v in after.items() if k != changed} == {
            k: v for k, v in before[table].items() if k != changed
        }
    assert_truth(runner, sim)
    statuses = dict(runner.query("select backup_id, status from dcs.backups"))
    assert statuses[Changes.backup] == "expired"
    assert runner.query(f"select name from dcs.instances where instance_id = '{B}'") == [
        ("b-renamed",)
    ]
    assert (second.restores_updated, second.backups_updated) == (1, 1)
    assert (second.restores_unchanged, second.backups_unchanged) == (3, 3)
    assert second.instances_unchanged == 2


def test_another_endpoint_loads_every_row_again(sim: DcsSimulator, runner: Runner) -> None:
    runner.run(sim)
    same_server = sim.base_url.replace("127.0.0.1", "localhost")
    assert same_server != sim.base_url

    second = runner.run(sim, endpoint=same_server)
    assert second.restores_unchanged == second.backups_unchanged == 0
    assert second.instances_unchanged == 0
    rows = runner.query(
        "select endpoint, count(*) from dcs.restores group by endpoint "
        "union all select endpoint, count(*) from dcs.instances group by endpoint"
    )
    # the restore outside the window is not read again: it keeps the old endpoint
    assert sorted(rows) == [(sim.base_url, 1), (same_server, 3), (same_server, 4)]
    # and once written with the new endpoint, they are unchanged again
    third = runner.run(sim, endpoint=same_server)
    assert third.load_ids == [] and third.restores_unchanged == 4


def test_an_older_database_gains_the_column_and_each_row_is_written_once_more(
    sim: DcsSimulator, runner: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    # version 0.4.0: no column record_hash, and every row read is loaded
    with monkeypatch.context() as old:
        for columns in (RESTORE_COLUMNS, BACKUP_COLUMNS, INSTANCE_COLUMNS):
            old.delitem(columns, "record_hash")
        old.setattr(extract, "already_stored", lambda *args: False)
        runner.run(sim)
    columns = runner.query(
        "select table_name from information_schema.columns "
        "where table_schema = 'dcs' and column_name = 'record_hash'"
    )
    assert {table for (table,) in columns} & set(TABLES) == set()

    upgraded = runner.run(sim)
    assert upgraded.restores_unchanged == upgraded.backups_unchanged == 0
    assert upgraded.restores_new == upgraded.backups_new == 0
    # the rows read again gain their hash; the one outside every window stays NULL
    hashed = {
        table: runner.query(f"select count(*), count(record_hash) from dcs.{table}")[0]
        for table in TABLES
    }
    assert hashed == {"restores": (5, 4), "backups": (4, 4), "instances": (3, 3)}
    assert_truth(runner, sim)

    count = loads(runner)
    after = runner.run(sim)
    assert after.load_ids == [] and loads(runner) == count
    assert after.restores_unchanged == after.backups_unchanged == 4


def test_the_known_hashes_are_those_of_the_rows_a_run_may_read_again(
    sim: DcsSimulator, runner: Runner
) -> None:
    runner.run(sim)
    pipeline = make_pipeline(runner.database, runner.pipelines_dir)
    known = read_before(pipeline, timedelta(hours=24)).known
    assert set(known) == {sim.world.project_id}
    rows = known[sim.world.project_id]
    stored = dict(runner.query("select restore_id, record_hash from dcs.restores"))
    # r-ancient is final and 30 days before its instance's newest restore: never re-read
    assert dict(rows.restores) == {k: v for k, v in stored.items() if k != "r-ancient"}
    assert dict(rows.backups) == dict(
        runner.query("select backup_id, record_hash from dcs.backups")
    )
    assert set(rows.instances) == {A, B, C}
    # without a look-back, nothing is skipped (dcs_restores() used alone)
    assert read_before(pipeline).known == {}
