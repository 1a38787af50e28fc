"""Cursors follow the database: a database restored from a backup is read up again."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta

from dcs_simulator import World

from tests.conftest import Runner, expected_restores

T1 = datetime(2025, 1, 20, tzinfo=UTC)
T2 = T1 + timedelta(days=3)


def test_database_restored_from_backup_gets_the_gap_back(serve, runner: Runner) -> None:
    world = World.generate(seed=41, instances=3, restores_per_instance=80)
    sim = serve(world, now=T1)
    runner.run(sim, page_size=1000)
    backup = runner.database.with_suffix(".backup")
    shutil.copy(runner.database, backup)

    sim.set_now(T2)
    runner.run(sim, page_size=1000)
    assert runner.restores() == expected_restores(world, T2)

    # the database goes back to its state at T1; the local cursors are still at T2
    shutil.copy(backup, runner.database)
    gap = len(expected_restores(world, T2)) - len(runner.restores())
    assert gap > 0
    sim.reset_log()
    summary = runner.run(sim, page_size=1000)
    assert runner.restores() == expected_restores(world, T2)
    assert summary.restores_new == gap
    # the re-read starts from the backup's cursors, at T1 at the latest (the empty instance
    # has no cursor and is read whole)
    begins = {r.query.get("begin_time") for r in sim.restore_requests()} - {None}
    assert begins and all(b <= T1.strftime("%Y%m%d%H%M%S") for b in begins)


def test_unchanged_database_keeps_local_cursors(serve, runner: Runner) -> None:
    world = World.generate(seed=41, instances=2, restores_per_instance=30)
    sim = serve(world, now=T1)
    runner.run(sim, page_size=1000)
    sim.reset_log()
    again = runner.run(sim, page_size=1000)
    assert again.restores_new == 0
    assert len([r for r in sim.restore_requests() if r.query.get("begin_time")]) == 1
