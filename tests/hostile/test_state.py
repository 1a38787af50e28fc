"""Damaged local state: the next `dcs-restores run` sets the damaged file aside, takes the state
from the destination (or from a pending package's snapshot), logs one line, and converges.

The damage is done between two real runs against the simulator; the healing run is the real
command in a child process.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from dcs_restores_pipeline.cli import main
from dcs_simulator import DcsSimulator

from tests.conftest import Runner
from tests.support.cli import cli_env, run_cli
from tests.support.truth import assert_matches_truth
from tests.support.worlds import quick_run, small_world

DAY = timedelta(days=1)
WARNING = "damaged local pipeline state"
BOUND_S = 60


def _truncate(data: bytes) -> bytes:
    return data[: len(data) // 2]


DAMAGE: dict[str, Callable[[bytes], bytes]] = {
    "truncated": _truncate,
    "empty": lambda data: b"",
    "binary": lambda data: bytes(range(256)) * 3,
    "json-list": lambda data: b"[1, 2, 3]",
    "json-wrong-object": lambda data: b'{"pipeline_name": "dcs_restores"}',
}


def _working_dir(runner: Runner) -> Path:
    return runner.working_dir


def _damaged_dir(runner: Runner) -> Path:
    return runner.local_dir / ".dcs_restores.damaged"


def _damage(path: Path, how: str) -> bytes:
    damaged = DAMAGE[how](path.read_bytes())
    path.write_bytes(damaged)
    return damaged


def _started(serve, runner: Runner) -> DcsSimulator:  # type: ignore[no-untyped-def]
    world = small_world(seed=31)
    assert world.default_now is not None
    simulator = serve(world, now=world.default_now - 3 * DAY)
    quick_run(runner, simulator)
    simulator.advance(DAY)
    return simulator


class Healer:
    """The real command, `dcs_restores_pipeline.cli.main(["run", "--json"])`, in this process."""

    def __init__(
        self,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        self.monkeypatch, self.capsys, self.caplog = monkeypatch, capsys, caplog

    def __call__(self, simulator: DcsSimulator, runner: Runner) -> tuple[list[str], dict[str, Any]]:
        """Run once; returns the warning lines logged and the JSON summary."""
        for key, value in cli_env(simulator, runner).items():
            if key != "PYTHONPATH":
                self.monkeypatch.setenv(key, value)
        self.caplog.clear()
        self.capsys.readouterr()
        started = time.monotonic()
        # dlt's logger does not propagate to the root logger that caplog listens on
        dlt_logger = logging.getLogger("dlt")
        dlt_logger.addHandler(self.caplog.handler)
        try:
            with self.caplog.at_level(logging.WARNING):
                code = main(["run", "--json", "--quiet"])
        finally:
            dlt_logger.removeHandler(self.caplog.handler)
        assert time.monotonic() - started < BOUND_S
        out, err = self.capsys.readouterr()
        assert code == 0, err
        assert "error:" not in err
        lines = [r.getMessage() for r in self.caplog.records if r.levelno >= logging.WARNING]
        return lines, json.loads(out)


@pytest.fixture
def heal(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> Healer:
    return Healer(monkeypatch, capsys, caplog)


def _warnings(lines: list[str]) -> list[str]:
    return [line for line in lines if WARNING in line]


def test_damaged_state_file_is_set_aside_and_restored(serve, runner: Runner, heal: Healer) -> None:
    """Each kind of damage in turn, each between two real runs."""
    simulator = _started(serve, runner)
    for how in DAMAGE:
        total_before = runner.query("select count(*) from dcs.restores")[0][0]
        content = _damage(_working_dir(runner) / "state.json", how)

        logged, summary = heal(simulator, runner)

        (line,) = logged  # one warning, and no other
        assert line.startswith(f"{WARNING}: state.json (")
        assert line.endswith("state taken from the destination")
        assert str(_damaged_dir(runner)) in line
        kept = Path(line.split(" set aside as ")[1].split(";")[0])
        assert kept.parent == _damaged_dir(runner) and kept.name.startswith("state.json.damaged-")
        assert kept.read_bytes() == content
        # the cursors came from the destination: an incremental read, not the whole history
        assert isinstance(summary["rows_extracted"], int)
        assert 0 < summary["rows_extracted"] < total_before
        assert_matches_truth(runner, simulator)
        simulator.advance(timedelta(hours=6))
    assert len(list(_damaged_dir(runner).iterdir())) == len(DAMAGE)


def test_damaged_schema_file_is_set_aside_and_restored(serve, runner: Runner, heal: Healer) -> None:
    simulator = _started(serve, runner)
    for how in ("truncated", "json-wrong-object"):
        content = _damage(_working_dir(runner) / "schemas" / "dcs_restores.schema.json", how)

        logged, _ = heal(simulator, runner)

        (line,) = logged
        assert line.startswith(f"{WARNING}: schemas/dcs_restores.schema.json (")
        assert "state taken from the destination" in line
        kept = Path(line.split(" set aside as ")[1].split(";")[0])
        assert kept.name.startswith("schemas__dcs_restores.schema.json.damaged-")
        assert kept.read_bytes() == content
        assert_matches_truth(runner, simulator)
        simulator.advance(timedelta(hours=6))
    logged, _ = heal(simulator, runner)
    assert not logged
    assert_matches_truth(runner, simulator)


@pytest.mark.parametrize(
    ("first_run", "target", "how"),
    [
        (True, "state.json", "truncated"),
        (False, "schemas/dcs_restores.schema.json", "binary"),
    ],
)
def test_damage_next_to_a_pending_package_keeps_the_package(
    serve, runner: Runner, tmp_path: Path, heal: Healer, first_run: bool, target: str, how: str
) -> None:
    """A run killed before its load left a package; the state is then damaged. The package
    still loads (its rows are not lost), from the state dlt snapshotted when it began."""
    world = small_world(seed=32)
    assert world.default_now is not None
    simulator = serve(world, now=world.default_now - 3 * DAY)
    if not first_run:
        quick_run(runner, simulator)
        simulator.advance(DAY)
    crashed = run_cli(["run", "--quiet"], cli_env(simulator, runner), tmp_path, crash_at="load")
    assert crashed.returncode < 0
    (package,) = (_working_dir(runner) / "load" / "normalized").iterdir()
    content = _damage(_working_dir(runner) / target, how)

    logged, summary = heal(simulator, runner)

    (line,) = logged
    assert line.startswith(f"{WARNING}: {target} (")
    assert f"{target} (" in line and f"pending load package {package.name}" in line
    assert summary["pending_loaded"] == [package.name]
    loads = runner.query(f"select status from dcs._dlt_loads where load_id = '{package.name}'")
    assert loads == [(0,)]
    kept = Path(line.split(" set aside as ")[1].split(";")[0])
    assert kept.name.startswith(target.replace("/", "__") + ".damaged-")
    assert kept.read_bytes() == content
    assert_matches_truth(runner, simulator)


def test_dead_extract_folders_are_removed_and_committed_packages_load(
    serve, runner: Runner, tmp_path: Path, heal: Healer
) -> None:
    """Two runs killed mid-extract leave `normalize/<id>/` folders that can never load; a third
    killed after its extract committed leaves a package that can. The next run removes the
    first and loads the second."""
    simulator = _started(serve, runner)
    env = cli_env(simulator, runner)
    normalize = _working_dir(runner) / "normalize"
    kept = tmp_path / "kept"
    kept.mkdir()
    dead: list[str] = []
    for point in ("request:3", "request:4"):
        assert run_cli(["run", "--quiet"], env, tmp_path, crash_at=point).returncode < 0
        (left,) = [p for p in normalize.iterdir() if p.name not in ("extracted", ".version")]
        # out of the way of the next killed run, which would otherwise clean it up itself
        left.rename(kept / left.name)
        dead.append(left.name)
    assert run_cli(["run", "--quiet"], env, tmp_path, crash_at="normalize").returncode < 0
    for name in dead:
        (kept / name).rename(normalize / name)
    (committed,) = (normalize / "extracted").iterdir()

    logged, summary = heal(simulator, runner)

    (line,) = logged
    assert "removed 2 unfinished extract folder(s)" in line
    assert all(f"normalize/{name}" in line for name in dead)
    assert sorted(os.listdir(normalize)) == [".version", "extracted"]
    assert summary["pending_loaded"] == [committed.name]
    assert_matches_truth(runner, simulator)


def test_models_names_a_damaged_state_file_and_the_fix(
    serve, runner: Runner, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`models` runs without the run lock, so it must not move files: it names the file and
    the command that repairs it; that command then does."""
    simulator = _started(serve, runner)
    state = _working_dir(runner) / "state.json"
    _damage(state, "truncated")
    for key, value in cli_env(simulator, runner).items():
        monkeypatch.setenv(key, value)
    capsys.readouterr()

    assert main(["models"]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"dcs-restores: error: the local pipeline state file {state} is ")
    assert line.endswith(
        "run `dcs-restores run`, which sets it aside and takes the state from the destination"
    )
    assert not _damaged_dir(runner).exists()

    assert main(["run", "--quiet"]) == 0
    assert main(["models"]) == 0
    assert_matches_truth(runner, simulator)
