"""Crash safety: the run is SIGKILLed at several points; the next run ends with exactly the rows
the API holds (none lost, none twice) and with cursors that match them.

The crashing run is the real command in a child process (through the test-only harness
`crashrun.py`, which kills its own process at a named point); the runs after it use the same
pipelines dir and database from the test process. Between the crash and the next run the
simulated world moves on, so the next run must both finish the crashed run's work and read
what is new.
"""

from __future__ import annotations

import gzip
import signal
import time
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from dcs_restores_pipeline.recovery import PendingLoadFailed
from dcs_restores_pipeline.runner import RunSummary
from dcs_simulator import DcsSimulator

from tests.conftest import Runner
from tests.support.cli import cli_env, run_cli, start_cli
from tests.support.truth import assert_matches_truth, cursors, local_state
from tests.support.worlds import quick_run, small_world

DAY = timedelta(days=1)
KILLED = -signal.SIGKILL
# a short look-back, so that a lost row is not quietly fetched again by the next run's window
LOOKBACK = timedelta(hours=1)

# point of the kill -> whether the crashed run leaves a load package for the next run to finish
POINTS = {
    # extract: no package yet, the local cursors have not moved
    "mid-extract": ("request:5", False),
    # extract committed (package + cursors saved locally), nothing normalized
    "before-normalize": ("normalize", True),
    "before-load": ("load", True),
    # staging tables partly written
    "mid-load-staging": ('sql:INSERT INTO "dcs_staging"."restores":1', True),
    # the package's state row is in the destination, the restores are not merged yet
    "mid-load-before-merge": ('sql:DELETE FROM "dcs"."restores":1', True),
    # everything merged, the load not yet recorded in _dlt_loads
    "before-load-recorded": ('sql:INSERT INTO "dcs"."_dlt_loads":1', True),
    # loaded, the SQL views not rebuilt
    "before-views": ("models", False),
}


def run(runner: Runner, simulator: DcsSimulator) -> RunSummary:
    return quick_run(runner, simulator, lookback=LOOKBACK)


def env_for(simulator: DcsSimulator, runner: Runner, **extra: str) -> dict[str, str]:
    return cli_env(simulator, runner, SOURCES__DCS_RESTORES__LOOKBACK_HOURS="1", **extra)


def _three_times(serve, runner: Runner) -> DcsSimulator:  # type: ignore[no-untyped-def]
    """A simulator at end - 3 days of its world, after a first good run there, moved 1 day on."""
    world = small_world(seed=21)
    assert world.default_now is not None
    simulator = serve(world, now=world.default_now - 3 * DAY)
    run(runner, simulator)
    simulator.advance(DAY)
    return simulator


@pytest.mark.parametrize("name", list(POINTS))
def test_kill_then_next_run_has_exactly_the_api_rows(
    serve, runner: Runner, tmp_path: Path, name: str
) -> None:
    point, leaves_package = POINTS[name]
    simulator = _three_times(serve, runner)
    before = cursors(local_state(runner))

    crashed = run_cli(["run", "--quiet"], env_for(simulator, runner), tmp_path, crash_at=point)
    assert crashed.returncode == KILLED, crashed.stderr[-2000:]
    if point.startswith("request:"):
        # killed mid-extract: the cursors did not move
        assert cursors(local_state(runner)) == before

    simulator.advance(2 * DAY)
    # the kill left no lock behind: this run takes it
    summary = run(runner, simulator)
    assert bool(summary.pending_loaded) == leaves_package
    assert_matches_truth(runner, simulator)

    if leaves_package:
        again = run(runner, simulator)
        assert again.restores_new == 0 and not again.pending_loaded
        assert_matches_truth(runner, simulator)


def test_kill_before_the_first_load_ever(serve, runner: Runner, tmp_path: Path) -> None:
    """No dataset exists yet: the package of the killed first run still loads, first."""
    world = small_world(seed=23)
    simulator = serve(world, now=world.default_now - 2 * DAY)
    crashed = run_cli(["run", "--quiet"], env_for(simulator, runner), tmp_path, crash_at="load")
    assert crashed.returncode == KILLED
    no_dataset = "select count(*) from information_schema.schemata where schema_name = 'dcs'"
    assert runner.query(no_dataset) == [(0,)]
    simulator.advance(2 * DAY)
    assert run(runner, simulator).pending_loaded
    assert_matches_truth(runner, simulator)


def test_external_sigkill_mid_extract(serve, runner: Runner, tmp_path: Path) -> None:
    """Black box: the parent kills the real command once the API has seen a few requests."""
    world = small_world(seed=22)
    simulator = serve(world, now=world.default_now, latency_s=0.05)
    env = env_for(simulator, runner, SOURCES__DCS_RESTORES__CONCURRENCY="2")
    child = start_cli(["run", "--quiet"], env, tmp_path)
    deadline = time.monotonic() + 30
    while len(simulator.restore_requests()) < 4:
        assert child.poll() is None and time.monotonic() < deadline
        time.sleep(0.005)
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=30)
    assert child.returncode == KILLED
    assert len(simulator.restore_requests()) < 4 + 2 * 2  # well before the end of the extract

    run(runner, simulator)
    assert_matches_truth(runner, simulator)


def _break_pending_restores_job(runner: Runner) -> None:
    """Make the pending package unloadable for good: its restores file gets a column the table
    does not have (a terminal error, in whichever file format the loader uses)."""
    pending = runner.working_dir / "load" / "normalized"
    jobs = list(pending.glob("*/new_jobs/restores.*"))
    assert len(jobs) == 1
    job = jobs[0]
    if ".parquet" in job.name:
        job.unlink()
        duckdb.sql(f"copy (select 1 as no_such_column) to '{job}' (format parquet)")
    elif ".jsonl" in job.name:
        line = b'{"no_such_column": 1}\n'
        job.write_bytes(gzip.compress(line) if job.name.endswith(".gz") else line)
    else:  # insert_values
        job.write_bytes(gzip.compress(b"not a load job\n"))


def test_failed_package_names_the_command_that_clears_it(
    serve, runner: Runner, tmp_path: Path
) -> None:
    simulator = _three_times(serve, runner)
    env = env_for(simulator, runner)
    assert run_cli(["run", "--quiet"], env, tmp_path, crash_at="load").returncode == KILLED
    _break_pending_restores_job(runner)
    simulator.advance(2 * DAY)

    # the broken package does not silently block: the run fails and says what to do
    blocked = run_cli(["run", "--quiet"], env, tmp_path)
    assert blocked.returncode == 1
    last = blocked.stderr.strip().splitlines()[-1]
    assert last.startswith("dcs-restores: error: a load package left by an earlier run")
    assert "`dcs-restores reset-pending`" in last
    with pytest.raises(PendingLoadFailed, match="reset-pending"):
        run(runner, simulator)

    reset = run_cli(["reset-pending"], env, tmp_path)
    assert reset.returncode == 0, reset.stderr
    assert reset.stdout.startswith("dropped 1 pending load package(s)")
    # the cursors went back with the package, so its restores are read again
    summary = run(runner, simulator)
    assert not summary.pending_loaded
    assert_matches_truth(runner, simulator)
    assert run_cli(["reset-pending"], env, tmp_path).stdout.startswith("no pending load packages")


def test_reset_pending_after_a_partial_load(serve, runner: Runner, tmp_path: Path) -> None:
    """The dropped package's state row already reached the destination; it must not come back
    as the pipeline state (it belongs to no completed load), or its restores would be lost."""
    simulator = _three_times(serve, runner)
    env = env_for(simulator, runner)
    point = POINTS["mid-load-before-merge"][0]
    assert run_cli(["run", "--quiet"], env, tmp_path, crash_at=point).returncode == KILLED
    assert run_cli(["reset-pending"], env, tmp_path).returncode == 0
    simulator.advance(2 * DAY)
    run(runner, simulator)
    assert_matches_truth(runner, simulator)
