"""`dcs-restores check`: thresholds on failure rate and p95 duration, exit codes for schedulers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dcs_restores_pipeline.check import check
from dcs_restores_pipeline.runner import make_pipeline
from dcs_simulator import World

from tests.conftest import Runner

T0 = datetime(2026, 5, 1, tzinfo=UTC)
X = "eeeeeeee-0000-4000-8000-000000000005"
Y = "ffffffff-0000-4000-8000-000000000006"
REPO = Path(__file__).resolve().parents[2]


CLI = "dcs_restores_pipeline.cli"


def world() -> World:
    """X: ten restores a day before T0 lasting 100..1000 s, two failed; Y: one slow success
    and one old failure outside a 7-day window."""
    w = World.empty(seed=1)
    w.add_instance(X, name="x", created_at=T0 - timedelta(days=400))
    w.add_instance(Y, name="y", created_at=T0 - timedelta(days=400))
    for i in range(10):
        w.add_restore(
            X,
            T0 - timedelta(days=1) + timedelta(hours=i),
            wait_s=0,
            duration_s=100 * (i + 1),
            outcome="failed" if i in (3, 7) else "succeed",
        )
    w.add_restore(Y, T0 - timedelta(days=2), wait_s=0, duration_s=5000)
    w.add_restore(Y, T0 - timedelta(days=30), wait_s=0, duration_s=10, outcome="failed")
    return w


@pytest.fixture
def loaded(serve, runner: Runner) -> Runner:
    runner.run(serve(world(), now=T0))
    return runner


def test_per_instance_figures_and_breaches(loaded: Runner) -> None:
    pipeline = make_pipeline(loaded.database, loaded.pipelines_dir)
    result = check(pipeline, max_failure_rate=0.1, max_p95_seconds=960, per_instance=True, now=T0)
    figures = {m.scope: (m.finished, m.failed, m.p95_seconds) for m in result.measures}
    # p95 of 100..1000 by linear interpolation: 900 + 0.55 * 100
    assert figures == {X: (10, 2, pytest.approx(955.0)), Y: (1, 0, pytest.approx(5000.0))}
    assert result.breaches == [
        f"{X}: failure rate 20.0% > 10.0%",
        f"{Y}: p95 duration 5000s > 960s",
    ]
    quiet = check(
        pipeline,
        max_failure_rate=0.1,
        max_p95_seconds=960,
        per_instance=True,
        min_finished=2,
        now=T0,
    )
    assert quiet.breaches == [f"{X}: failure rate 20.0% > 10.0%"]


def test_window_and_whole_project(loaded: Runner) -> None:
    pipeline = make_pipeline(loaded.database, loaded.pipelines_dir)
    week = check(pipeline, max_failure_rate=0.2, max_p95_seconds=None, now=T0)
    assert [(m.finished, m.failed) for m in week.measures] == [(11, 2)]
    assert week.ok
    month = check(pipeline, max_failure_rate=0.2, max_p95_seconds=None, since_days=31, now=T0)
    assert [(m.finished, m.failed) for m in month.measures] == [(12, 3)]
    assert month.breaches == ["all instances: failure rate 25.0% > 20.0%"]


def test_cli_exit_codes(loaded: Runner, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESTINATION__")}
    env.update(
        DESTINATION__DUCKDB__CREDENTIALS=str(loaded.database),
        PYTHONPATH=str(REPO),
        DLT_DATA_DIR=str(tmp_path / "dlt"),
    )

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "dcs_restores_pipeline.cli",
                "check",
                "--since-days",
                "36500",
                *args,
            ],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )

    crossed = run("--max-failure-rate", "0.05", "--max-p95-seconds", "600")
    assert crossed.returncode == 3, crossed.stderr
    assert "THRESHOLD CROSSED: all instances: failure rate 25.0% > 5.0%" in crossed.stdout
    fine = run("--max-failure-rate", "0.5", "--json")
    assert fine.returncode == 0, fine.stderr
    body = json.loads(fine.stdout)
    assert body["ok"] is True
    assert body["measures"][0]["finished"] == 12
