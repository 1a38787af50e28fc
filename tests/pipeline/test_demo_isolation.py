"""`dcs-restores demo` next to a production pipeline: it writes only its own database and its
own local state, whatever the destination settings say."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import duckdb
import pytest
from dcs_restores_pipeline import cli
from dcs_restores_pipeline.demo import read_clock
from dcs_restores_pipeline.runlock import exclusive_run, lock_paths

from tests.conftest import Runner
from tests.support.cli import cli_env, run_cli
from tests.support.truth import assert_matches_truth
from tests.support.worlds import small_world


def tree(root: Path) -> dict[str, str]:
    """Every file under `root` (lock files included) with the hash of its bytes; dirs as ''."""
    if not root.exists():
        return {}
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else ""
        for p in sorted(root.rglob("*"))
    }


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def production(serve, runner: Runner, tmp_path: Path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """A production database loaded by a real `run`; returns the env that names it."""
    simulator = serve(small_world(seed=61))
    env = cli_env(simulator, runner, HOME=str(tmp_path / "home"))
    done = run_cli(["run", "--quiet"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert_matches_truth(runner, simulator)
    assert (runner.working_dir / "state.json").is_file()
    return env


def demo_in(directory: Path, env: dict[str, str]) -> tuple[int, str, str]:
    directory.mkdir(exist_ok=True)
    done = run_cli(["demo", "--quiet"], env, directory, timeout=120)
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize("postgres", [False, True], ids=["duckdb-configured", "postgres"])
def test_demo_leaves_the_production_database_and_state_alone(
    production: dict[str, str], runner: Runner, tmp_path: Path, postgres: bool
) -> None:
    env = dict(production)
    if postgres:
        # a production PostgreSQL nobody listens for: touching it would fail the demo
        env.update(
            DESTINATION_TYPE="postgres",
            DESTINATION__POSTGRES__CREDENTIALS="postgresql://loader:pw@127.0.0.1:9/analytics",
        )
    root = Path(runner.pipelines_dir)
    # the production pipeline is "running": the demo must not need its lock
    with exclusive_run(lock_paths(str(runner.local_dir), runner.database)):
        database_before, state_before = digest(runner.database), tree(runner.local_dir)
        entries_before = set(p.name for p in root.iterdir())
        code, out, err = demo_in(tmp_path / "demo", env)
        assert code == 0, err
        assert digest(runner.database) == database_before
        assert tree(runner.local_dir) == state_before
    (new,) = set(p.name for p in root.iterdir()) - entries_before
    assert new.startswith("duckdb-dcs_restores-")
    demo_database = tmp_path / "demo" / "dcs_restores.duckdb"
    assert (root / new / "DESTINATION").read_text() == f"duckdb {demo_database}\n"
    assert read_clock(demo_database).runs == 1
    with duckdb.connect(str(demo_database), read_only=True) as con:
        assert con.execute("select count(*) from dcs.restores").fetchone()[0] > 1000  # type: ignore[index]
    first = out.splitlines()[0]
    assert first.startswith(f"demo database: {demo_database}; ")
    assert "ignores the destination settings" in first
    named = first.split(", here ")[1].split(", ")
    assert named == (
        [
            "DESTINATION_TYPE",
            "DESTINATION__DUCKDB__CREDENTIALS",
            "DESTINATION__POSTGRES__CREDENTIALS",
        ]
        if postgres
        else ["DESTINATION__DUCKDB__CREDENTIALS"]
    )
    assert "pw@" not in out + err
    assert "does not match" not in err


def test_demo_refuses_a_database_it_did_not_write(
    production: dict[str, str], runner: Runner, tmp_path: Path
) -> None:
    directory = tmp_path / "prod_dir"
    directory.mkdir()
    theirs = directory / "dcs_restores.duckdb"
    shutil.copyfile(runner.database, theirs)
    before = digest(theirs)
    env = {k: v for k, v in production.items() if not k.startswith("DESTINATION__")}
    code, _, err = demo_in(directory, env)
    assert code == cli.EXIT_CONFIG
    (line,) = err.strip().splitlines()
    assert line.startswith(f"dcs-restores: error: the demo does not write into {theirs} (")
    assert "run the demo in another directory" in line
    assert digest(theirs) == before

    # nor a file that the production settings name and that does not exist yet
    fresh = tmp_path / "fresh"
    env["DESTINATION__DUCKDB__CREDENTIALS"] = str(fresh / "dcs_restores.duckdb")
    code, _, err = demo_in(fresh, env)
    assert code == cli.EXIT_CONFIG and "DESTINATION__DUCKDB__CREDENTIALS names it" in err
    assert not (fresh / "dcs_restores.duckdb").exists()
