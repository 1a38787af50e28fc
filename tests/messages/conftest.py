"""The installed `dcs-restores` console script in a child process, as cron and a user run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

COMMAND = str(Path(sys.executable).with_name("dcs-restores"))
P = "SOURCES__DCS_RESTORES__"
PROJECT_ID = "0123456789abcdef0123456789abcdef"


def bare_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A cron-like environment: no source or destination settings, an empty HOME."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SOURCES__", "DESTINATION", "RUNTIME__", "DCS_TEST_"))
    }
    env.update({"HOME": str(tmp_path / "home"), "DLT_DATA_DIR": str(tmp_path / "dlt")})
    env.update(extra)
    return env


def configured_env(tmp_path: Path, endpoint: str, **extra: str) -> dict[str, str]:
    from dcs_simulator import DEMO_ACCESS_KEY, DEMO_SECRET_KEY

    return bare_env(
        tmp_path,
        **{
            f"{P}ENDPOINT": endpoint,
            f"{P}PROJECT_ID": PROJECT_ID,
            f"{P}CREDENTIALS__ACCESS_KEY": DEMO_ACCESS_KEY,
            f"{P}CREDENTIALS__SECRET_KEY": DEMO_SECRET_KEY,
            f"{P}MAX_RETRY_DELAY": "0.05",
            **extra,
        },
    )


def dcs(
    args: list[str], env: dict[str, str], cwd: Path, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run the console script; the result's stderr is what a cron mail would show."""
    return subprocess.run(
        [COMMAND, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else ""


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A working directory without .dlt/ or a database, like cron's."""
    folder = tmp_path / "cwd"
    folder.mkdir()
    return folder
