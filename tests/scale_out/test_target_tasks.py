"""The DAG's per-target tasks, without Airflow: `dcs-restores run --target NAME` for two
targets at the same time into one PostgreSQL dataset, each with its own pipeline and state."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psycopg2
from dcs_simulator import DEMO_ACCESS_KEY, DEMO_SECRET_KEY, DcsSimulator, World

from tests.conftest import RESTORE_FIELDS, expected_restores
from tests.pipeline.test_targets import NOW, SECOND_AK, SECOND_PROJECT, SECOND_SK

REPO = Path(__file__).resolve().parents[2]
PREFIX = "SOURCES__DCS_RESTORES__"
# a request waits at most this long for the other target's first request
MEET_SECONDS = 30.0


class Meeting:
    """Two simulators whose first answers wait until both have been asked: the two runs can
    only both finish early if they read at the same time (taking turns, each waits in vain)."""

    def __init__(self) -> None:
        self.asked = {"a": threading.Event(), "b": threading.Event()}
        self.met = {"a": False, "b": False}

    def wait(self, side: str) -> None:
        self.asked[side].set()
        other = "b" if side == "a" else "a"
        if self.asked[other].wait(MEET_SECONDS):
            self.met[side] = True


class MeetingSimulator(DcsSimulator):
    def __init__(self, world: World, meeting: Meeting, side: str, **options: Any) -> None:
        super().__init__(world, **options)
        self.meeting, self.side = meeting, side

    def await_latency(self, received: float) -> None:
        self.meeting.wait(self.side)
        super().await_latency(received)


def worlds() -> tuple[World, World]:
    first = World.generate(seed=41, instances=3, restores_per_instance=12)
    second = World.generate(
        seed=42, project_id=SECOND_PROJECT, instances=2, restores_per_instance=7
    )
    return first, second


def target_env(
    sim_a: DcsSimulator, sim_b: DcsSimulator, postgres_url: str, **extra: str
) -> dict[str, str]:
    """What a worker gives the DAG's task: the targets (with names), the shared keys, and the
    second target's own keys, as the task's connection sets them."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SOURCES__", "DESTINATION__", "RUNTIME__", "DCS_TEST_"))
    }
    targets = [
        {"name": "alpha", "endpoint": sim_a.base_url, "project_id": sim_a.world.project_id},
        {"name": "beta", "endpoint": sim_b.base_url, "project_id": SECOND_PROJECT},
    ]
    env.update(
        {
            f"{PREFIX}TARGETS": json.dumps(targets),
            f"{PREFIX}CREDENTIALS__ACCESS_KEY": DEMO_ACCESS_KEY,
            f"{PREFIX}CREDENTIALS__SECRET_KEY": DEMO_SECRET_KEY,
            f"{PREFIX}PAGE_SIZE": "4",
            f"{PREFIX}MAX_RETRY_DELAY": "0.05",
            "DESTINATION_TYPE": "postgres",
            "DESTINATION__POSTGRES__CREDENTIALS": postgres_url,
            "DLT_DATA_DIR": str(Path.cwd() / "dlt_data"),
            "PYTHONPATH": str(REPO),
        }
    )
    env.update(extra)
    return env


def start(target: str, env: dict[str, str]) -> subprocess.Popen[str]:
    """The DAG's load task for `target`: its exact command line."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dcs_restores_pipeline.cli",
            "run",
            "--target",
            target,
            "--json",
            "--quiet",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def restores(postgres_url: str) -> list[dict[str, Any]]:
    with psycopg2.connect(postgres_url) as con, con.cursor() as cursor:
        cursor.execute(f"select {', '.join(RESTORE_FIELDS)} from dcs.restores order by restore_id")
        return [dict(zip(RESTORE_FIELDS, row, strict=True)) for row in cursor.fetchall()]


def query(postgres_url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg2.connect(postgres_url) as con, con.cursor() as cursor:
        cursor.execute(sql)
        return [tuple(row) for row in cursor.fetchall()]


def run_both(env: dict[str, str], beta_env: dict[str, str]) -> dict[str, tuple[int, str, str]]:
    """Start both targets' tasks at once; return name -> (exit code, stdout, stderr)."""
    children = {"alpha": start("alpha", env), "beta": start("beta", beta_env)}
    done = {}
    for name, child in children.items():
        out, err = child.communicate(timeout=120)
        done[name] = (child.returncode, out, err)
    return done


def beta_keys(env: dict[str, str], secret: str = SECOND_SK) -> dict[str, str]:
    """beta's task environment: its connection's keys in place of the shared ones."""
    return dict(
        env,
        **{
            f"{PREFIX}CREDENTIALS__ACCESS_KEY": SECOND_AK,
            f"{PREFIX}CREDENTIALS__SECRET_KEY": secret,
        },
    )


def test_two_targets_load_at_the_same_time_into_one_dataset(postgres_url: str) -> None:
    world_a, world_b = worlds()
    meeting = Meeting()
    sim_a = MeetingSimulator(world_a, meeting, "a", now=NOW, latency_s=0.02)
    sim_b = MeetingSimulator(
        world_b, meeting, "b", now=NOW, latency_s=0.02, credentials={SECOND_AK: SECOND_SK}
    )
    with sim_a, sim_b:
        env = target_env(sim_a, sim_b, postgres_url)
        started = time.monotonic()
        done = run_both(env, beta_keys(env))
        elapsed = time.monotonic() - started
    for name, (code, _, err) in done.items():
        assert code == 0, (name, err[-2000:])
    # each read while the other did: no lock made them take turns
    assert meeting.met == {"a": True, "b": True}
    assert elapsed < MEET_SECONDS
    summaries = {name: json.loads(out) for name, (_, out, _) in done.items()}
    assert summaries["alpha"]["project_id"] == world_a.project_id
    assert summaries["beta"]["project_id"] == SECOND_PROJECT
    assert summaries["alpha"]["views"] == [] and summaries["beta"]["views"] == []
    truth = sorted(
        expected_restores(world_a, NOW) + expected_restores(world_b, NOW),
        key=lambda r: r["restore_id"],
    )
    assert restores(postgres_url) == truth
    # each target saved its own state (cursors) under its own pipeline name
    names = {n for (n,) in query(postgres_url, "select pipeline_name from dcs._dlt_pipeline_state")}
    assert names == {"dcs_restores__alpha", "dcs_restores__beta"}
    # then, once, the DAG's models and check tasks over both targets
    for args in (["models"], ["check", "--max-failure-rate", "1", "--since-days", "36500"]):
        after = subprocess.run(
            [sys.executable, "-m", "dcs_restores_pipeline.cli", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert after.returncode == 0, after.stderr
    finished = sum(r["status"] in ("succeed", "failed") for r in truth)
    assert f"all instances: {finished} finished" in after.stdout


def test_a_target_answered_401_fails_its_own_task_only(postgres_url: str) -> None:
    world_a, world_b = worlds()
    with (
        DcsSimulator(world_a, now=NOW) as sim_a,
        DcsSimulator(world_b, now=NOW, credentials={SECOND_AK: SECOND_SK}) as sim_b,
    ):
        env = target_env(sim_a, sim_b, postgres_url)
        done = run_both(env, beta_keys(env, secret="not-beta-s-secret"))
        assert sim_b.auth_failures >= 1
    code, out, err = done["alpha"]
    assert code == 0, err[-2000:]
    code, out, err = done["beta"]
    assert code == 1
    last = err.strip().splitlines()[-1]
    assert last.startswith("dcs-restores: error: ") and "APIGW.0301" in last
    assert "not-beta-s-secret" not in out + err
    assert json.loads(out)["targets"][0]["errors"]
    assert restores(postgres_url) == expected_restores(world_a, NOW)
    names = {n for (n,) in query(postgres_url, "select pipeline_name from dcs._dlt_pipeline_state")}
    assert names == {"dcs_restores__alpha"}
