"""The installed command: env-only configuration from any directory, exit codes, no leaks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from dcs_simulator import DEMO_ACCESS_KEY, DEMO_SECRET_KEY, World

REPO = Path(__file__).resolve().parents[2]
WRONG_SECRET = "wrong-secret-Zq8uV3xK"


def cli(
    args: list[str], cwd: Path, env: dict[str, str], timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "DESTINATION__"))}
    base.update(env)
    return subprocess.run(
        [sys.executable, "-m", "dcs_restores_pipeline.cli", *args],
        cwd=cwd,
        env=base,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def source_env(base_url: str, project_id: str, secret: str, tmp_path: Path) -> dict[str, str]:
    return {
        "SOURCES__DCS_RESTORES__ENDPOINT": base_url,
        "SOURCES__DCS_RESTORES__PROJECT_ID": project_id,
        "SOURCES__DCS_RESTORES__CREDENTIALS__ACCESS_KEY": DEMO_ACCESS_KEY,
        "SOURCES__DCS_RESTORES__CREDENTIALS__SECRET_KEY": secret,
        "SOURCES__DCS_RESTORES__CONCURRENCY": "8",
        "DESTINATION__DUCKDB__CREDENTIALS": str(tmp_path / "data" / "restores.duckdb"),
        "DLT_DATA_DIR": str(tmp_path / "dlt"),
        "PYTHONPATH": str(REPO),
    }


def files_containing(root: Path, needle: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle.encode() in p.read_bytes()]


def test_run_from_another_directory_with_env_only(serve, tmp_path: Path) -> None:
    world = World.generate(seed=5, instances=4, restores_per_instance=15)
    sim = serve(world)
    elsewhere = tmp_path / "cron_cwd"
    elsewhere.mkdir()
    (tmp_path / "data").mkdir()
    env = source_env(sim.base_url, world.project_id, DEMO_SECRET_KEY, tmp_path)
    result = cli(["run"], elsewhere, env)
    assert result.returncode == 0, result.stderr
    assert "instances read: 4 of 4 listed" in result.stdout
    assert "45 new, 0 updated" in result.stdout
    with duckdb.connect(str(tmp_path / "data" / "restores.duckdb"), read_only=True) as con:
        assert con.execute("select count(distinct restore_id) from dcs.restores").fetchone() == (
            45,
        )
    assert not (elsewhere / "dcs_restores.duckdb").exists()
    assert not files_containing(tmp_path, DEMO_SECRET_KEY)
    assert DEMO_SECRET_KEY not in result.stdout + result.stderr


def test_wrong_secret_key_stops_at_first_401(serve, tmp_path: Path) -> None:
    world = World.generate(seed=5, instances=6, restores_per_instance=5)
    sim = serve(world)
    (tmp_path / "data").mkdir()
    env = source_env(sim.base_url, world.project_id, WRONG_SECRET, tmp_path)
    env["SOURCES__DCS_RESTORES__INSTANCE_IDS"] = ",".join(world.instance_ids[:5])
    env["RUNTIME__LOG_LEVEL"] = "DEBUG"
    result = cli(["run"], tmp_path, env)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("dcs-restores: error: ")
    assert "APIGW.0301" in last
    assert "secret_key" in last
    assert sim.auth_failures <= 2
    assert len(sim.requests) == 1
    assert WRONG_SECRET not in result.stdout + result.stderr
    assert not files_containing(tmp_path, WRONG_SECRET)


def test_missing_configuration_is_reported_before_any_request(tmp_path: Path) -> None:
    result = cli(
        ["run"], tmp_path, {"PYTHONPATH": str(REPO), "DLT_DATA_DIR": str(tmp_path / "dlt")}
    )
    assert result.returncode == 2
    assert result.stderr.strip().startswith(
        "dcs-restores: error: missing settings: project id (SOURCES__DCS_RESTORES__PROJECT_ID); "
        "endpoint (SOURCES__DCS_RESTORES__ENDPOINT or SOURCES__DCS_RESTORES__REGION); "
    )


@pytest.mark.parametrize("bad", ["not a url", "ftp://x"])
def test_bad_endpoint_one_line(tmp_path: Path, bad: str) -> None:
    env = source_env(bad, "0" * 32, "x", tmp_path)
    result = cli(["run"], tmp_path, env)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "SOURCES__DCS_RESTORES__ENDPOINT" in result.stderr
