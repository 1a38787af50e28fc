"""The command as cron runs it: `dcs-restores <args>` in a fresh interpreter, timed from start to
exit (imports included), with its peak RSS from the kernel's accounting of that child alone."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

# settings of the developer's shell must not leak into a measured run
_FOREIGN_PREFIXES = ("SOURCES__", "DESTINATION__", "RUNTIME__", "NORMALIZE__", "LOAD__", "DATA_")
SOURCE_PREFIX = "SOURCES__DCS_RESTORES__"


@dataclass(frozen=True)
class Timed:
    """One finished child: wall seconds, CPU seconds (user + system), peak RSS in MiB, exit
    code and its output."""

    wall_s: float
    cpu_s: float
    peak_mb: float
    exit_code: int
    stdout: str
    stderr: str


def console_script(name: str = "dcs-restores") -> str:
    """The installed console script next to this interpreter (what a crontab line runs)."""
    script = Path(sys.executable).parent / name
    if not script.exists():
        raise FileNotFoundError(f"{script} is not installed: run `make install` first")
    return str(script)


def isolated_env(workdir: Path, settings: Mapping[str, str]) -> dict[str, str]:
    """The environment of a measured child: this one without any dlt settings, its dlt data
    dir and database inside `workdir`, plus `settings` (full variable names)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_FOREIGN_PREFIXES)}
    env["DLT_DATA_DIR"] = str(workdir / "dlt_data")
    env["DESTINATION__DUCKDB__CREDENTIALS"] = str(workdir / "dcs_restores.duckdb")
    env.update(settings)
    return env


def source_settings(
    url: str, project_id: str, access_key: str, secret_key: str, concurrency: int | None, page: int
) -> dict[str, str]:
    """`SOURCES__DCS_RESTORES__*` for one simulator, as an operator would export them."""
    env = {
        f"{SOURCE_PREFIX}ENDPOINT": url,
        f"{SOURCE_PREFIX}PROJECT_ID": project_id,
        f"{SOURCE_PREFIX}CREDENTIALS__ACCESS_KEY": access_key,
        f"{SOURCE_PREFIX}CREDENTIALS__SECRET_KEY": secret_key,
        f"{SOURCE_PREFIX}PAGE_SIZE": str(page),
    }
    if concurrency:
        env[f"{SOURCE_PREFIX}CONCURRENCY"] = str(concurrency)
    return env


def run_timed(
    command: Sequence[str], env: Mapping[str, str], cwd: Path, timeout_s: float = 900.0
) -> Timed:
    """Run `command` to its end; wall time from spawn to reaped exit, peak RSS by wait4."""
    out, err = cwd / ".bench-stdout", cwd / ".bench-stderr"
    with out.open("w") as stdout, err.open("w") as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, env=dict(env), stdout=stdout, stderr=stderr)
        deadline = started + timeout_s
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.002)
        wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    return Timed(
        wall_s=wall,
        # on a shared machine the CPU time varies far less than the wall time
        cpu_s=usage.ru_utime + usage.ru_stime,
        # ru_maxrss is KiB on Linux: the child's own peak, not this process's
        peak_mb=usage.ru_maxrss / 1024,
        exit_code=process.returncode,
        stdout=out.read_text(errors="replace"),
        stderr=err.read_text(errors="replace"),
    )
