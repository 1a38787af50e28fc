"""The requests-alone baseline: the first run's reads, nothing else, and its line in the table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from dcs_restores_pipeline.bench_cases import render

from tests.conftest import Runner
from tests.support.cli import cli_env
from tests.support.worlds import small_world


def _read_alone(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dcs_restores_pipeline.bench_requests"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_it_reads_every_page_the_first_run_reads_and_nothing_more(
    serve: Any, runner: Runner, tmp_path: Path
) -> None:
    simulator = serve(small_world(instances=5, restores=23))
    home = tmp_path / "home"
    home.mkdir()
    done = _read_alone(cli_env(simulator, runner, HOME=str(home)), tmp_path)
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    alone = simulator.requests
    simulator.reset_log()
    assert not list(tmp_path.rglob("*.duckdb"))  # nothing loaded

    summary = runner.run(simulator, page_size=10, concurrency=4)
    assert figures["records"] == summary.rows_extracted + summary.backups_rows_extracted > 0
    assert figures["instances"] == 5
    # the same reads: every page of both kinds once, no request twice
    assert sorted((r.path, tuple(sorted(r.query.items()))) for r in alone) == sorted(
        (r.path, tuple(sorted(r.query.items()))) for r in simulator.requests
    )
    assert figures["pages"] == sum(
        r.kind in ("restores", "backups") and r.status == 200 for r in alone
    )
    assert figures["seconds"] > 0


def test_without_settings_it_says_what_to_set(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    done = _read_alone(env, tmp_path)
    assert done.returncode == 1
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .startswith("bench_requests: set SOURCES__DCS_RESTORES__ENDPOINT")
    )


@pytest.mark.parametrize("busy", [0.0, 0.4])
def test_the_table_shows_the_requests_alone_against_their_floor(busy: float) -> None:
    line = {
        "requests_alone": True, "case": "large", "busy_neighbour": busy, "wall_s": 27.5,
        "read_s": 27.2, "cpu_s": 9.0, "requests": 4003, "floor_s": 25.0, "exit_code": 0,
        "error": "",
    }  # fmt: skip
    text = render([line])
    assert "requests alone of large/first" in text
    assert "27.50 s = 1.10x its floor 25.00 s" in text
    assert "4003 requests" in text
    assert ("busy 40% of a core" in text) is (busy > 0)
