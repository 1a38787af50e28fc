"""Two destinations on one machine: each has its own local state and lock; an earlier version's
working dir is taken over by its own destination only; report/check/models take --database."""

from __future__ import annotations

import json
import os
import shutil
import time
from datetime import timedelta
from pathlib import Path

import pytest
from dcs_restores.configuration import ConfigError
from dcs_restores_pipeline import cli
from dcs_restores_pipeline.localstate import duckdb_destination, postgres_destination
from dcs_restores_pipeline.runlock import lock_paths
from dcs_restores_pipeline.runner import local_dir

from tests.conftest import Runner
from tests.pipeline.test_demo_isolation import tree
from tests.support.cli import cli_env, run_cli, start_cli
from tests.support.truth import assert_matches_truth
from tests.support.worlds import early, quick_run, small_world

MISMATCH = "does not match the destination's"


def pair(tmp_path: Path) -> tuple[Runner, Runner]:
    """Two databases, one pipelines dir (one machine, one user)."""
    a, b = Runner(tmp_path), Runner(tmp_path)
    a.database, b.database = tmp_path / "a" / "restores.duckdb", tmp_path / "b" / "restores.duckdb"
    a.database.parent.mkdir()
    b.database.parent.mkdir()
    return a, b


def env_of(simulator, runner: Runner, tmp_path: Path, **extra: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return cli_env(simulator, runner, HOME=str(tmp_path / "home"), **extra)


def cli_run(simulator, runner: Runner, tmp_path: Path, **extra: str) -> str:  # type: ignore[no-untyped-def]
    """`dcs-restores run` in a child; asserts success and no state warning; returns stderr."""
    done = run_cli(["run", "--quiet"], env_of(simulator, runner, tmp_path, **extra), tmp_path)
    assert done.returncode == 0, done.stderr
    assert MISMATCH not in done.stderr
    return done.stdout + done.stderr


def test_two_databases_loaded_alternately_keep_their_own_state(serve, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a, b = pair(tmp_path)
    world_a, world_b = small_world(seed=71), small_world(seed=72, instances=3)
    sim_a, sim_b = serve(world_a, now=early(world_a)), serve(world_b, now=early(world_b))
    outs = []
    for runner, simulator in ((a, sim_a), (b, sim_b), (a, sim_a)):
        outs.append(cli_run(simulator, runner, tmp_path))
        assert_matches_truth(runner, simulator)
        simulator.advance(timedelta(days=1))
    # A's second run, after B's, was incremental: from its own cursors, with news
    first, again = (int(o.split(" new,")[0].split("restores: ")[-1]) for o in outs[::2])
    assert first == len(a.restores()) - again and again > 0
    assert a.local_dir != b.local_dir
    assert a.local_dir.parent == b.local_dir.parent == Path(a.pipelines_dir)
    assert (a.local_dir / "DESTINATION").read_text() == f"duckdb {a.database}\n"
    assert (b.local_dir / "DESTINATION").read_text() == f"duckdb {b.database}\n"
    assert not (Path(a.pipelines_dir) / "dcs_restores").exists()


def test_two_databases_at_once_neither_blocks_the_other(serve, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a, b = pair(tmp_path)
    world_a, world_b = small_world(seed=73), small_world(seed=74, instances=3)
    # slow enough that A is still reading when B has finished
    sim_a, sim_b = serve(world_a, latency_s=0.5), serve(world_b)
    first = start_cli(
        ["run", "--quiet"],
        env_of(sim_a, a, tmp_path, SOURCES__DCS_RESTORES__CONCURRENCY="1"),
        tmp_path,
    )
    deadline = time.monotonic() + 30
    while not sim_a.requests:
        assert first.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    err_b = cli_run(sim_b, b, tmp_path)
    assert first.poll() is None, "the first run ended too early for this test"
    _, err_a = first.communicate(timeout=60)
    assert first.returncode == 0, err_a
    assert MISMATCH not in err_a + err_b
    assert_matches_truth(a, sim_a)
    assert_matches_truth(b, sim_b)


def _legacy(serve, runner: Runner, tmp_path: Path, pending: bool):  # type: ignore[no-untyped-def]
    """The layout of an earlier version: the working dir at `<pipelines dir>/dcs_restores/`."""
    world = small_world(seed=75)
    simulator = serve(world, now=early(world))
    quick_run(runner, simulator)
    simulator.advance(world.default_now - simulator.now)
    if pending:
        env = env_of(simulator, runner, tmp_path)
        assert run_cli(["run", "--quiet"], env, tmp_path, crash_at="load").returncode == -9
    legacy = Path(runner.pipelines_dir) / "dcs_restores"
    runner.working_dir.replace(legacy)
    shutil.rmtree(runner.local_dir)
    return simulator, legacy


def test_upgrade_moves_pending_packages_to_their_destination_only(serve, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a, b = pair(tmp_path)
    sim_a, legacy = _legacy(serve, a, tmp_path, pending=True)
    before = tree(legacy)
    assert any("load/normalized/" in name for name in before)

    # another database first: the earlier version's packages are not its own
    world_b = small_world(seed=76, instances=2)
    sim_b = serve(world_b)
    out = cli_run(sim_b, b, tmp_path)
    (line,) = [line for line in out.splitlines() if str(legacy) in line]
    assert "holds 1 pending load package(s) of another destination" in line
    assert f"move that directory to {b.working_dir}" in line
    assert tree(legacy) == before
    assert_matches_truth(b, sim_b)

    # their own database takes them over and loads them first
    out = cli_run(sim_a, a, tmp_path)
    assert f"moved the local pipeline state of an earlier version from {legacy} to " in out
    assert f"{a.working_dir} (local state is kept per destination now)" in out
    assert "finished 1 load package(s) of an interrupted run" in out
    assert not legacy.exists()
    assert_matches_truth(a, sim_a)


def test_upgrade_without_pending_packages_keeps_the_cursors(serve, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a, b = pair(tmp_path)
    sim_a, legacy = _legacy(serve, a, tmp_path, pending=False)
    before = tree(legacy)
    # another database leaves it alone
    quick_run(b, serve(small_world(seed=77, instances=2)))
    assert tree(legacy) == before
    out = cli_run(sim_a, a, tmp_path)
    assert "moved the local pipeline state of an earlier version" in out
    assert not legacy.exists()
    assert_matches_truth(a, sim_a)


def test_report_check_models_take_database_from_anywhere(  # type: ignore[no-untyped-def]
    serve, runner: Runner, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    simulator = serve(small_world(seed=78))
    runner.run(simulator)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # the configured database is another (missing) file: --database wins
    env = env_of(simulator, runner, tmp_path)
    env["DESTINATION__DUCKDB__CREDENTIALS"] = str(tmp_path / "missing.duckdb")
    db = str(runner.database)

    report = run_cli(["report", "--database", db], env, elsewhere)
    assert report.returncode == 0, report.stderr
    (total,) = runner.query("select count(*) from dcs.restores")[0]
    assert f"{total} restores on " in report.stdout
    check = run_cli(
        ["check", "--database", db, "--max-failure-rate", "1", "--json"], env, elsewhere
    )
    assert check.returncode == 0, check.stderr
    assert json.loads(check.stdout)["ok"] is True
    models = run_cli(["models", "--database", db], env, elsewhere)
    assert models.returncode == 0, models.stderr
    assert models.stdout.startswith("created ") and "views in schema dcs" in models.stdout

    missing = tmp_path / "nowhere.duckdb"
    for command in ("report", "check", "models"):
        # check needs a threshold first (without one it is a usage error, exit 2)
        limit = ["--max-failure-rate", "1"] if command == "check" else []
        assert cli.main([command, "--database", str(missing), *limit]) == cli.EXIT_FAILED
        assert capsys.readouterr().err.strip() == (
            f"dcs-restores: error: no database at {missing}: run `dcs-restores run` first, or "
            "name the file with --database PATH or DESTINATION__DUCKDB__CREDENTIALS"
        )
    assert not missing.exists()


def test_a_destination_is_its_file_or_its_server_database_and_dataset(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    here = duckdb_destination(Path("x.duckdb"))
    assert here == duckdb_destination(tmp_path / "x.duckdb")
    assert here.key != duckdb_destination(tmp_path / "y" / "x.duckdb").key
    assert here.key.startswith("duckdb-x-") and here.label == f"duckdb {tmp_path / 'x.duckdb'}"

    def pg(url: str) -> str:
        monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", url)
        found = postgres_destination()
        assert "s3cret" not in found.key + found.label and "loader" not in found.key + found.label
        return found.key

    key = pg("postgresql://loader:s3cret@db.example.com:5432/analytics")
    assert key.startswith("postgres-analytics-")
    assert pg("postgresql://other:s3cret2@db.example.com/analytics") == key  # port 5432
    others = {
        pg("postgresql://loader:s3cret@db.example.com:5433/analytics"),
        pg("postgresql://loader:s3cret@db2.example.com:5432/analytics"),
        pg("postgresql://loader:s3cret@db.example.com:5432/reporting"),
    }
    assert len(others | {key}) == 4
    # the run's pipelines dir is the one of the configured server and database
    configured = pg("postgresql://loader:s3cret@db.example.com:5432/analytics")
    assert local_dir(None, str(tmp_path / "p"), "postgres") == tmp_path / "p" / configured
    monkeypatch.delenv("DESTINATION__POSTGRES__CREDENTIALS")
    with pytest.raises(ConfigError, match="DESTINATION__POSTGRES__CREDENTIALS="):
        postgres_destination()


@pytest.mark.skipif(os.geteuid() != 0, reason="dlt's default dirs for root")
def test_as_root_two_databases_get_two_dirs_and_two_locks_whatever_home_is(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # computed only: nothing is written under /var/dlt
    monkeypatch.delenv("DLT_DATA_DIR")
    found = set()
    for home in ("h1", "h2"):
        monkeypatch.setenv("HOME", str(tmp_path / home))
        for name in ("a", "b"):
            database = tmp_path / name / "dcs_restores.duckdb"
            directory = local_dir(database, None, "duckdb")
            assert directory.parent == Path("/var/dlt/pipelines")
            found.add((name, directory, tuple(lock_paths(str(directory), database))))
    # the same database gets the same dir under either HOME; two databases, two dirs and locks
    assert len(found) == 2
    (_, dir_a, locks_a), (_, dir_b, locks_b) = sorted(found)
    assert dir_a != dir_b and not set(locks_a) & set(locks_b)
