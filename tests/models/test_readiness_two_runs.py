"""The real pipeline against the simulator, two runs on DuckDB (and a third a week later on the
real clock): dcs.backups and every readiness view equal the truth computed in Python from the
simulator's world at each run's moment."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Any

import duckdb
import pytest
from dcs_restores.backup_plan import FULL_REREAD
from dcs_restores_pipeline.views import pin_clock_sql
from dcs_simulator import DcsSimulator

from tests.conftest import Runner
from tests.support.readiness_truth import DAY, HOUR, Cases, assert_matches_world, readiness_world


def _check(runner: Runner, cases: Cases, now: Any) -> dict[str, Any]:
    # the run rebuilt the views, clock included: pin it to the simulator's moment of this run
    with duckdb.connect(str(runner.database)) as con:
        con.execute(pin_clock_sql("dcs", now))

    def query(sql: str) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(runner.database), read_only=True) as con:
            # a session zone far from UTC: UTC days and ages must not follow it
            con.execute("set TimeZone = 'Asia/Tokyo'")
            return con.execute(sql).fetchall()

    return assert_matches_world(query, cases.world, now)


class _WeekLater(datetime):
    """The source's real clock a week and a day on: its weekly full backups re-read is due."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> _WeekLater:
        moment = datetime.now(tz) + FULL_REREAD + DAY
        return cls.fromtimestamp(moment.timestamp(), tz)


def test_two_runs_give_the_worlds_readiness(
    serve: Callable[..., DcsSimulator], runner: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    cases = readiness_world()
    sim = serve(cases.world, now=cases.t1)

    runner.run(sim, page_size=7)
    first = _check(runner, cases, sim.now)
    readiness, running = first["instance_readiness"], first["restores_in_progress"]
    # the cases are really there at run 1 (columns after instance_id: see READINESS_SQL)
    assert readiness[cases.never][2:4] == (0, None)
    assert readiness[cases.never][9] == cases.t1 - 6 * HOUR
    assert readiness[cases.streak][7] == 3
    assert readiness[cases.old][9] == cases.t1 - 3 * DAY and cases.late not in readiness
    assert running[cases.overdue][7] is True and running[cases.within][7] is False
    assert running[cases.sized][2] == "restoring" and cases.failing_next in running
    context = first["restore_context"]
    assert any(row[4] is None for row in context.values())  # a backup not listed
    assert any(row[4] is not None and row[7] is None for row in context.values())  # newer
    assert sum(row[9] is not None for row in context.values()) > 10  # throughputs

    sim.set_now(cases.t2)
    runner.run(sim, page_size=7)
    second = _check(runner, cases, sim.now)
    readiness, running = second["instance_readiness"], second["restores_in_progress"]
    # between the runs: restores finished and failed, one appeared, a backup expired, one was
    # deleted, an instance got listed
    assert readiness[cases.streak][7] == 4
    assert readiness[cases.never][9] == cases.t1 - 5 * DAY
    assert readiness[cases.old][9] == cases.t1 - 40 * DAY
    assert readiness[cases.late][2] == 2
    assert set(running) == {cases.sized, cases.appears}
    assert first["restore_daily"] != second["restore_daily"]

    # a third run, a week later on the real clock: the whole backup history is read again, so
    # the deletion of a 40-day-old backup is seen (the 8-day window alone cannot see it)
    monkeypatch.setattr("dcs_restores.extract.datetime", _WeekLater)
    sim.set_now(cases.t3)
    runner.run(sim, page_size=7)
    third = _check(runner, cases, sim.now)
    assert third["instance_readiness"][cases.old][9:11] == (None, None)
