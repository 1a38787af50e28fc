"""A finished run ends without the interpreter's teardown, and loses nothing by it."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import pytest
from dcs_restores_pipeline.quickexit import can_skip_teardown
from dcs_simulator import DEMO_ACCESS_KEY, DEMO_SECRET_KEY, World

REPO = Path(__file__).resolve().parents[2]
CHILD = """
import atexit, sys
from pathlib import Path
from dcs_restores_pipeline.quickexit import exit_now

class Teardown:
    def __del__(self):
        print("teardown", end="")

kept = Teardown()
atexit.register(lambda: Path(sys.argv[1]).write_text("handler ran"))
print("output ", end="")
exit_now(7, Path(sys.argv[2]))
print("returned ", end="")
"""


def test_teardown_is_skipped_only_without_a_wal_or_another_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # only this thread and a daemon one, whatever earlier tests in this process left running
    daemon = threading.Thread(target=lambda: None, daemon=True)
    monkeypatch.setattr(daemon, "is_alive", lambda: True)
    monkeypatch.setattr(threading, "enumerate", lambda: [threading.current_thread(), daemon])
    database = tmp_path / "db.duckdb"
    assert can_skip_teardown(database)
    assert can_skip_teardown(None)
    Path(f"{database}.wal").write_bytes(b"")
    assert not can_skip_teardown(database)
    profiled = sys.getprofile()
    sys.setprofile(lambda *_: None)
    try:
        assert not can_skip_teardown(None)
    finally:
        sys.setprofile(profiled)
    release = threading.Event()
    worker = threading.Thread(target=release.wait)
    worker.start()
    monkeypatch.setattr(threading, "enumerate", lambda: [threading.current_thread(), worker])
    try:
        assert not can_skip_teardown(None)
    finally:
        release.set()
        worker.join()


def _child(tmp_path: Path, database: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path / "handler"), str(database)],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_exit_now_flushes_runs_the_handlers_and_ends_with_the_code(tmp_path: Path) -> None:
    result = _child(tmp_path, tmp_path / "db.duckdb")
    assert (result.returncode, result.stdout) == (7, "output ")
    assert (tmp_path / "handler").read_text() == "handler ran"


def test_exit_now_returns_when_a_wal_is_left(tmp_path: Path) -> None:
    Path(f"{tmp_path / 'db.duckdb'}.wal").write_bytes(b"")
    result = _child(tmp_path, tmp_path / "db.duckdb")
    assert (result.returncode, result.stdout) == (0, "output returned teardown")
    assert (tmp_path / "handler").read_text() == "handler ran"


def test_the_installed_command_ends_quickly_with_everything_loaded(serve, tmp_path: Path) -> None:
    world = World.generate(seed=5, instances=5, restores_per_instance=8, empty_instances=0)
    sim = serve(world)
    database = tmp_path / "restores.duckdb"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "DESTINATION__"))}
    env.update(
        {
            "SOURCES__DCS_RESTORES__ENDPOINT": sim.base_url,
            "SOURCES__DCS_RESTORES__PROJECT_ID": world.project_id,
            "SOURCES__DCS_RESTORES__CREDENTIALS__ACCESS_KEY": DEMO_ACCESS_KEY,
            "SOURCES__DCS_RESTORES__CREDENTIALS__SECRET_KEY": DEMO_SECRET_KEY,
            "DESTINATION__DUCKDB__CREDENTIALS": str(database),
            "DLT_DATA_DIR": str(tmp_path / "dlt"),
        }
    )
    script = Path(sys.executable).parent / "dcs-restores"
    for expected in ("40 new, 0 updated", "0 new, 0 updated"):
        result = subprocess.run(
            [str(script), "run", "--quiet"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        # the summary is flushed before the process ends
        assert expected in result.stdout
        assert result.stdout.rstrip().endswith("(schema dcs)")
        assert not Path(f"{database}.wal").exists()
        with duckdb.connect(str(database), read_only=True) as con:
            assert con.execute("select count(*) from dcs.restores").fetchall() == [(40,)]
