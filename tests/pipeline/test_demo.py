"""`dcs-restores demo` as a new user runs it: a DuckDB file in the working directory, twice."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
from dcs_restores_pipeline.demo import DemoClock, demo_world, read_clock

REPO = Path(__file__).resolve().parents[2]


def demo(cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "DESTINATION__"))}
    env.update(PYTHONPATH=str(REPO), DLT_DATA_DIR=str(cwd / "dlt"))
    return subprocess.run(
        [sys.executable, "-m", "dcs_restores_pipeline.cli", "demo"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_demo_twice_loads_then_shows_an_incremental_run(tmp_path: Path) -> None:
    first = demo(tmp_path)
    assert first.returncode == 0, first.stderr
    database = tmp_path / "dcs_restores.duckdb"
    clock = read_clock(database)
    assert clock.runs == 1 and clock.now == clock.anchor
    truth_first = demo_world(clock.anchor).ground_truth(clock.anchor)
    assert f"restores: {len(truth_first)} new, 0 updated" in first.stdout
    assert f"demo run 1: simulated DCS API at {clock.now:%Y-%m-%d %H:%M:%S} UTC" in first.stdout
    assert "Top error codes" in first.stdout

    second = demo(tmp_path)
    assert second.returncode == 0, second.stderr
    assert "demo run 2" in second.stdout
    after = read_clock(database)
    # the second run serves the same world at its own (real, later) time
    assert after.anchor == clock.anchor and after.runs == 2 and after.now >= clock.now
    truth_second = demo_world(clock.anchor, after.now).ground_truth(after.now)
    new = len(truth_second) - len(truth_first)
    assert f"restores: {new} new," in second.stdout
    with duckdb.connect(str(database), read_only=True) as con:
        count, distinct = con.execute(
            "select count(*), count(distinct restore_id) from dcs.restores"
        ).fetchone()
        statuses = dict(con.execute("select restore_id, status from dcs.restores").fetchall())
    assert count == distinct == len(truth_second)
    assert statuses == {r["restore_id"]: r["status"] for r in truth_second}
    assert read_clock(database) == DemoClock(anchor=clock.anchor, runs=2, now=after.now)
