"""Scheduling: what a crontab line runs, in a bare environment (the Airflow DAG's tasks:
tests/scale_out)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from dcs_simulator import DEMO_ACCESS_KEY, DEMO_SECRET_KEY, World

# the two commands of the README's crontab line
CRON_COMMANDS = {
    "load": "dcs-restores run --json --quiet",
    "check": "dcs-restores check --max-failure-rate 0.05 --max-p95-seconds 600",
}


def bare_env(tmp_path: Path, endpoint: str, project_id: str) -> dict[str, str]:
    """What cron gives a job: almost nothing, plus the variables set in the crontab."""
    bindir = Path(sys.executable).parent
    return {
        "PATH": f"{bindir}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        # as a crontab line may set it: this test's own dlt state, never the machine's /var/dlt
        "DLT_DATA_DIR": str(tmp_path / "dlt"),
        "SOURCES__DCS_RESTORES__ENDPOINT": endpoint,
        "SOURCES__DCS_RESTORES__PROJECT_ID": project_id,
        "SOURCES__DCS_RESTORES__CREDENTIALS__ACCESS_KEY": DEMO_ACCESS_KEY,
        "SOURCES__DCS_RESTORES__CREDENTIALS__SECRET_KEY": DEMO_SECRET_KEY,
        "DESTINATION__DUCKDB__CREDENTIALS": str(tmp_path / "restores.duckdb"),
    }


def test_cron_commands_run_in_a_bare_environment(serve, tmp_path: Path) -> None:
    assert shutil.which("dcs-restores", path=str(Path(sys.executable).parent)), "pip install -e ."
    world = World.generate(seed=9, instances=3, restores_per_instance=20, failure_rate=0.5)
    sim = serve(world)
    env = bare_env(tmp_path, sim.base_url, world.project_id)
    commands = CRON_COMMANDS

    load = subprocess.run(
        ["bash", "-c", commands["load"]],
        cwd="/",
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert load.returncode == 0, load.stderr
    summary = json.loads(load.stdout.strip().splitlines()[-1])
    assert summary["restores_new"] == 40
    assert summary["instances_read"] == 3
    assert load.stderr == ""  # --quiet: nothing but the JSON for the scheduler to parse

    check = subprocess.run(
        ["bash", "-c", commands["check"] + " --since-days 36500"],
        cwd="/",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # half the simulated restores fail: the threshold of 5 % is crossed
    assert check.returncode == 3, check.stderr
    assert "THRESHOLD CROSSED" in check.stdout


def test_failed_run_exits_non_zero_with_json_summary(serve, tmp_path: Path) -> None:
    world = World.generate(seed=9, instances=2, restores_per_instance=5)
    sim = serve(world)
    env = bare_env(tmp_path, sim.base_url, world.project_id)
    env["SOURCES__DCS_RESTORES__CREDENTIALS__SECRET_KEY"] = "not-the-right-one"
    result = subprocess.run(
        ["bash", "-c", "dcs-restores run --json --quiet"],
        cwd="/",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.strip().startswith("dcs-restores: error: ")
    assert len(result.stderr.strip().splitlines()) == 1
