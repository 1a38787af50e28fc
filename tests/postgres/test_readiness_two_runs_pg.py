"""The real pipeline against the simulator, two runs into PostgreSQL: dcs.backups and every
readiness view equal the truth computed in Python from the simulator's world at each run."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from dcs_restores_pipeline.runner import run
from dcs_restores_pipeline.views import pin_clock_sql
from dcs_simulator import DcsSimulator

from tests.conftest import Runner
from tests.support.readiness_truth import DAY, assert_matches_world, readiness_world


def _pin_and_compare(url: str, world: Any, now: datetime) -> dict[str, Any]:
    import psycopg2

    con = psycopg2.connect(url)
    try:
        # a session zone far from UTC: UTC days and ages must not follow it
        with con, con.cursor() as cur:
            cur.execute("set time zone 'America/Los_Angeles'")
            cur.execute(pin_clock_sql("dcs", now))

        def query(sql: str) -> list[tuple[Any, ...]]:
            with con, con.cursor() as cur:
                cur.execute(sql)
                return [tuple(row) for row in cur.fetchall()]

        return assert_matches_world(query, world, now)
    finally:
        con.close()


def test_two_runs_give_the_worlds_readiness_on_postgres(
    serve: Callable[..., DcsSimulator],
    tmp_path: Path,
    postgres_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DESTINATION_TYPE", "postgres")
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", postgres_url)
    cases = readiness_world()
    sim = serve(cases.world, now=cases.t1)
    pg = Runner(tmp_path)

    run(pg.settings(sim, page_size=7), pipelines_dir=pg.pipelines_dir)
    first = _pin_and_compare(postgres_url, cases.world, sim.now)
    readiness, running = first["instance_readiness"], first["restores_in_progress"]
    assert readiness[cases.never][2:4] == (0, None)
    assert readiness[cases.streak][7] == 3
    assert running[cases.overdue][7] is True and running[cases.within][7] is False

    sim.set_now(cases.t2)
    run(pg.settings(sim, page_size=7), pipelines_dir=pg.pipelines_dir)
    second = _pin_and_compare(postgres_url, cases.world, sim.now)
    readiness, running = second["instance_readiness"], second["restores_in_progress"]
    assert readiness[cases.streak][7] == 4
    assert readiness[cases.old][9] == cases.t1 - 40 * DAY
    assert set(running) == {cases.sized, cases.appears}
