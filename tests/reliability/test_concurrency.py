"""Two runs of the same pipeline at once: the second refuses on one line (exit 4) and the
data stays exactly the API's."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from dcs_restores_pipeline import cli
from dcs_restores_pipeline.runlock import RunLocked, exclusive_run, lock_paths

from tests.conftest import Runner
from tests.support.cli import cli_env, run_cli, start_cli
from tests.support.truth import assert_matches_truth
from tests.support.worlds import quick_run, small_world


def test_second_run_refuses_while_the_first_runs(serve, runner: Runner, tmp_path: Path) -> None:
    world = small_world(seed=81, instances=3)
    # slow enough that the first run is still reading when the second one starts
    simulator = serve(world, latency_s=0.15)
    env = cli_env(simulator, runner, SOURCES__DCS_RESTORES__CONCURRENCY="1")
    first = start_cli(["run", "--quiet"], env, tmp_path)
    deadline = time.monotonic() + 30
    while not simulator.requests:
        assert first.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)

    second = run_cli(["run", "--quiet"], env, tmp_path)
    assert first.poll() is None, "the first run ended too early for this test"
    assert second.returncode == cli.EXIT_BUSY
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1, second.stderr
    assert lines[0].startswith("dcs-restores: error: another dcs-restores run is in progress")
    assert f"pid {first.pid}" in lines[0] and "wait for it to finish" in lines[0]
    with pytest.raises(RunLocked):
        quick_run(runner, simulator)

    _, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    assert_matches_truth(runner, simulator)
    # once the first run is over, the next one goes ahead
    assert quick_run(runner, simulator).restores_new == 0


def test_one_lock_per_pipeline_and_one_per_database(tmp_path: Path) -> None:
    database = tmp_path / "restores.duckdb"
    mine = lock_paths(str(tmp_path / "a"), database)
    # another pipelines dir (e.g. cron's HOME) writing to the same database
    theirs = lock_paths(str(tmp_path / "b"), database)
    # the same pipelines dir with another database
    sibling = lock_paths(str(tmp_path / "a"), tmp_path / "other.duckdb")
    with exclusive_run(mine):
        for paths in (mine, theirs, sibling):
            with (
                pytest.raises(RunLocked, match="another dcs-restores run is in progress"),
                exclusive_run(paths),
            ):
                pass
        assert "pid " in mine[0].read_text()
    with exclusive_run(theirs), exclusive_run(lock_paths(str(tmp_path / "c"), None)):
        pass
