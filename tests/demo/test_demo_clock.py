"""Demo runs follow the real clock: a run minutes after the first loads what happened since."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from dcs_restores.configuration import ConfigError
from dcs_restores_pipeline.demo import CLOCK_TABLE, DemoClock, demo_world, read_clock, run_demo

T0 = datetime(2026, 5, 4, 13, 7, 21, tzinfo=UTC)


def _table(database: Path) -> dict[str, tuple[str, str]]:
    with duckdb.connect(str(database), read_only=True) as con:
        rows = con.execute("select restore_id, status, progress from dcs.restores").fetchall()
    return {r[0]: (r[1], f"{r[2]:.2f}") for r in rows}


def _truth(now: datetime) -> dict[str, tuple[str, str]]:
    return {
        r["restore_id"]: (r["status"], r["progress"])
        for r in demo_world(T0, now).ground_truth(now, canonical=True)
    }


def test_runs_minutes_apart_load_incrementally(tmp_path: Path) -> None:
    database = tmp_path / "dcs_restores.duckdb"
    pipelines = str(tmp_path / "pipelines")
    first, clock = run_demo(database, pipelines, clock=lambda: T0)
    assert clock == DemoClock(anchor=T0, runs=0, now=T0)
    at_first = _truth(T0)
    assert first.restores_new == len(at_first) > 1000
    running_then = {k for k, (status, _) in at_first.items() if status != "succeed"}
    assert _table(database) == at_first

    later = T0 + timedelta(minutes=20)
    second, clock = run_demo(database, pipelines, clock=lambda: later)
    assert clock == DemoClock(anchor=T0, runs=1, now=later)
    at_second = _truth(later)
    new = at_second.keys() - at_first.keys()
    # restores begun in those 20 minutes, and running ones that finished meanwhile
    assert second.restores_new == len(new) >= 4
    finished = {
        k
        for k in running_then
        if at_first[k][0] in ("waiting", "restoring") and at_second[k][0] in ("succeed", "failed")
    }
    assert len(finished) >= 2
    assert second.restores_updated >= len(finished)
    assert _table(database) == at_second
    assert read_clock(database) == DemoClock(anchor=T0, runs=2, now=later)

    # a clock set back does not take the demo back in time
    third, clock = run_demo(database, pipelines, clock=lambda: T0)
    assert clock.now == later and third.restores_new == 0 and third.restores_updated == 0
    assert _table(database) == at_second


def test_a_database_of_the_earlier_demo_is_refused(tmp_path: Path) -> None:
    database = tmp_path / "dcs_restores.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute("create schema dcs_demo")
        con.execute(f"create table {CLOCK_TABLE} (anchor timestamptz, runs integer)")
        con.execute(f"insert into {CLOCK_TABLE} values (?, 3)", [T0])
    with pytest.raises(ConfigError, match="earlier version of the demo") as caught:
        run_demo(database, str(tmp_path / "pipelines"), clock=lambda: T0)
    assert "delete it" in str(caught.value)
    with duckdb.connect(str(database), read_only=True) as con:
        assert con.execute(f"select runs from {CLOCK_TABLE}").fetchall() == [(3,)]
