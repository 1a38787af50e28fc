"""A target's run killed before its load: its package waits in that target's own state, the
next run of the target loads it, and `reset-pending --target NAME` drops it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
from dcs_simulator import DEMO_ACCESS_KEY, DEMO_SECRET_KEY, World

from tests.conftest import expected_restores
from tests.pipeline.test_targets import NOW
from tests.support.cli import REPO, run_cli

PREFIX = "SOURCES__DCS_RESTORES__"


def env_for(sim_url: str, project_id: str, tmp_path: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SOURCES__", "DESTINATION__", "RUNTIME__", "DCS_TEST_"))
    }
    env.update(
        {
            f"{PREFIX}TARGETS": json.dumps(
                [{"name": "alpha", "endpoint": sim_url, "project_id": project_id}]
            ),
            f"{PREFIX}CREDENTIALS__ACCESS_KEY": DEMO_ACCESS_KEY,
            f"{PREFIX}CREDENTIALS__SECRET_KEY": DEMO_SECRET_KEY,
            "DESTINATION__DUCKDB__CREDENTIALS": str(tmp_path / "restores.duckdb"),
            "DLT_DATA_DIR": str(tmp_path / "dlt_data"),
            "PYTHONPATH": str(REPO),
        }
    )
    return env


def restore_ids(database: Path) -> list[str]:
    with duckdb.connect(str(database), read_only=True) as con:
        return [
            r[0] for r in con.execute("select restore_id from dcs.restores order by 1").fetchall()
        ]


def test_a_target_s_pending_package_is_its_own(serve, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    world = World.generate(seed=61, instances=2, restores_per_instance=5)
    sim = serve(world, now=NOW)
    env = env_for(sim.base_url, world.project_id, tmp_path)
    truth = [r["restore_id"] for r in expected_restores(world, NOW)]

    killed = run_cli(["run", "--target", "alpha", "--quiet"], env, tmp_path, crash_at="load")
    assert killed.returncode != 0
    # the run of every target (pipeline dcs_restores) has nothing pending: the package is alpha's
    assert "no pending load packages" in run_cli(["reset-pending"], env, tmp_path).stdout
    dropped = run_cli(["reset-pending", "--target", "alpha"], env, tmp_path)
    assert dropped.returncode == 0, dropped.stderr
    assert dropped.stdout.startswith("dropped 1 pending load package(s)")

    again = run_cli(["run", "--target", "alpha", "--json", "--quiet"], env, tmp_path)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["pending_loaded"] == []
    assert restore_ids(tmp_path / "restores.duckdb") == truth
