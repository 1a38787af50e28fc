"""The `dcs-restores` command in a child process, configured like the test's `runner`."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from dcs_simulator import DcsSimulator

from tests.conftest import Runner

REPO = Path(__file__).resolve().parents[2]


def cli_env(simulator: DcsSimulator, runner: Runner, **extra: str) -> dict[str, str]:
    """Environment for the CLI in a child process with the settings of `runner.settings()`.

    DLT_DATA_DIR is chosen so that the child's pipelines dir is `runner.pipelines_dir`: runs in
    the child and in the test process share the pipeline state, the packages and the locks.
    """
    credentials = runner.settings(simulator).credentials
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SOURCES__", "DESTINATION__", "RUNTIME__", "DCS_TEST_"))
    }
    prefix = "SOURCES__DCS_RESTORES__"
    env.update(
        {
            f"{prefix}ENDPOINT": simulator.base_url,
            f"{prefix}PROJECT_ID": simulator.world.project_id,
            f"{prefix}CREDENTIALS__ACCESS_KEY": credentials.access_key or "",
            f"{prefix}CREDENTIALS__SECRET_KEY": credentials.secret_key or "",
            f"{prefix}PAGE_SIZE": "10",
            f"{prefix}CONCURRENCY": "4",
            f"{prefix}MAX_RETRY_DELAY": "0.05",
            "DESTINATION__DUCKDB__CREDENTIALS": str(runner.database),
            "DLT_DATA_DIR": str(Path(runner.pipelines_dir).parent),
            "PYTHONPATH": str(REPO),
        }
    )
    assert Path(runner.pipelines_dir).name == "pipelines"
    env.update(extra)
    return {key: value for key, value in env.items() if value != ""}


def start_cli(
    args: Sequence[str], env: dict[str, str], cwd: Path, crash_at: str | None = None
) -> subprocess.Popen[str]:
    """Start `dcs-restores ARGS` (through the test-only crash harness) in a child process."""
    env = dict(env)
    if crash_at:
        env["DCS_TEST_CRASH_AT"] = crash_at
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.crashrun", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_cli(
    args: Sequence[str],
    env: dict[str, str],
    cwd: Path,
    crash_at: str | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run `dcs-restores ARGS` in a child process and wait for it."""
    child = start_cli(args, env, cwd, crash_at)
    stdout, stderr = child.communicate(timeout=timeout)
    return subprocess.CompletedProcess(child.args, child.returncode, stdout, stderr)
