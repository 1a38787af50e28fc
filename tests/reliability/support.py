"""Helpers of the reliability suite: small worlds, the CLI in a child process, ground-truth and
cursor checks, and a scanner that looks for secrets everywhere a run leaves something."""

from __future__ import annotations

import base64
import binascii
import contextlib
import gzip
import os
import re
import subprocess
import sys
import zlib
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
from dcs_restores.records import parse_timestamp
from dcs_restores_pipeline import runner as pipeline_runner
from dcs_restores_pipeline.config import PIPELINE_NAME
from dcs_restores_pipeline.runner import RunSummary
from dcs_simulator import DcsSimulator, World
from dlt.common.versioned_state import decompress_state, json_decode_state

from tests.conftest import Runner, expected_restores

REPO = Path(__file__).resolve().parents[2]
OPEN = ("waiting", "restoring")
# restores are spread over 20 days; runs start 2 days before the end, so a later run has news
SPAN = timedelta(days=20)
BEFORE_END = timedelta(days=2)


def small_world(seed: int = 1, instances: int = 4, restores: int = 20, empty: int = 1) -> World:
    """A seeded world; its last `empty` instances have no restores (the API answers 204)."""
    return World.generate(
        seed=seed,
        instances=instances,
        restores_per_instance=restores,
        span=SPAN,
        empty_instances=empty,
    )


def early(world: World) -> datetime:
    """A simulated time before the world's end, so that moving on brings new restores."""
    assert world.default_now is not None
    return world.default_now - BEFORE_END


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
        [sys.executable, "-m", "tests.reliability.crashrun", *args],
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


def quick_run(runner: Runner, simulator: DcsSimulator, **changes: Any) -> RunSummary:
    """`runner.run()` without rebuilding the SQL views (they are not under test here)."""
    return pipeline_runner.run(
        runner.settings(simulator, **changes),
        database=runner.database,
        pipelines_dir=runner.pipelines_dir,
        models=False,
    )


def truth_for(world: World, now: datetime, instance_ids: Iterable[str]) -> list[dict[str, Any]]:
    """The ground truth of `instance_ids` only."""
    wanted = set(instance_ids)
    return [row for row in expected_restores(world, now) if row["instance_id"] in wanted]


def local_state(runner: Runner) -> dict[str, Any]:
    """The pipeline's local state (state.json in its working dir)."""
    path = runner.working_dir / "state.json"
    return json_decode_state(path.read_text(encoding="utf-8"))


def destination_state(runner: Runner) -> dict[str, Any] | None:
    """The newest state the destination holds from a completed load (what dlt restores)."""
    rows = runner.query(
        "select s.state from dcs._dlt_pipeline_state s join dcs._dlt_loads l "
        "on l.load_id = s._dlt_load_id where l.status = 0 order by s._dlt_load_id desc limit 1"
    )
    return decompress_state(rows[0][0]) if rows else None


def cursors(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The per-instance cursors of resource `restores` in a pipeline state."""
    resources = state.get("sources", {}).get(PIPELINE_NAME, {}).get("resources", {})
    return dict(resources.get("restores", {}).get("cursors", {}))


def assert_cursors_consistent(runner: Runner) -> None:
    """Each cursor matches the rows it stands for, and the destination holds the same ones.

    The newest created_at of an instance's rows is its cursor, and its oldest still open
    restore is the cursor's `oldest_open`: the next run neither skips nor misses anything.
    """
    local = cursors(local_state(runner))
    remote = destination_state(runner)
    assert remote is not None and cursors(remote) == local
    rows = runner.restores()
    for instance_id in {row["instance_id"] for row in rows}:
        mine = [row for row in rows if row["instance_id"] == instance_id]
        cursor = local[instance_id]
        assert parse_timestamp(cursor["max_created_at"]) == max(r["created_at"] for r in mine)
        open_times = [r["created_at"] for r in mine if r["status"] in OPEN]
        expected_open = min(open_times) if open_times else None
        assert parse_timestamp(cursor["oldest_open"]) == expected_open


def assert_partial_load_exact(runner: Runner, simulator: DcsSimulator) -> None:
    """After a failed run: every loaded row is exactly the API's, and every instance whose
    cursor moved (read to the end) has all its rows."""
    truth = {row["restore_id"]: row for row in expected_restores(simulator.world, simulator.now)}
    rows = runner.restores()
    assert all(row == truth[row["restore_id"]] for row in rows)
    done = cursors(local_state(runner))
    for instance_id in done:
        mine = [row for row in rows if row["instance_id"] == instance_id]
        assert mine == [row for row in truth.values() if row["instance_id"] == instance_id]


def assert_matches_truth(runner: Runner, simulator: DcsSimulator) -> None:
    """Tables `restores` and `instances` hold exactly what the API holds now; cursors agree."""
    world, now = simulator.world, simulator.now
    assert runner.restores() == expected_restores(world, now)
    (total, distinct), *_ = runner.query(
        "select count(*), count(distinct restore_id) from dcs.restores"
    )
    assert total == distinct
    listed = sorted(item["instance_id"] for item in world.instances_at(now))
    assert [r[0] for r in runner.query("select instance_id from dcs.instances order by 1")] == (
        listed
    )
    assert_cursors_consistent(runner)


# --- secrets -----------------------------------------------------------------------------------

_BASE64 = re.compile(rb"[A-Za-z0-9+/]{40,}={0,2}")


def _expansions(data: bytes) -> list[bytes]:
    """`data` plus what it hides: gzip members and zlib-compressed base64 (dlt's state)."""
    found = [data]
    if data[:2] == b"\x1f\x8b":
        with contextlib.suppress(OSError, EOFError):
            found.append(gzip.decompress(data))
    for blob in list(found):
        for token in _BASE64.findall(blob):
            body = token.rstrip(b"=")
            try:
                found.append(zlib.decompress(base64.b64decode(body + b"=" * (-len(body) % 4))))
            except (binascii.Error, zlib.error, ValueError):
                continue
    return found


def _database_texts(database: Path) -> list[str]:
    if not database.exists():
        return []
    texts = []
    with duckdb.connect(str(database), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_type = 'BASE TABLE'"
        ).fetchall()
        for schema, table in tables:
            for row in con.execute(f'select * from "{schema}"."{table}"').fetchall():
                texts.append(repr(row))
            if table == "_dlt_pipeline_state":
                for (state,) in con.execute(f'select state from "{schema}"."{table}"').fetchall():
                    texts.append(repr(decompress_state(state)))
    return texts


def secret_leaks(
    secrets: Iterable[str],
    *,
    roots: Iterable[Path] = (),
    database: Path | None = None,
    texts: Iterable[str] = (),
) -> list[str]:
    """Return where any of `secrets` shows up: files under `roots` (decompressed), every row of
    every table of `database` (and dlt's compressed state in it), and `texts` (logs, errors)."""
    needles = [s for s in secrets if s]
    assert needles and all(len(s) >= 8 for s in needles), "scan for real, distinctive secrets"
    leaks = []
    for root in roots:
        for path in sorted(Path(root).rglob("*")):
            if not path.is_file() or path.suffix in (".duckdb", ".wal"):
                continue
            for data in _expansions(path.read_bytes()):
                leaks += [
                    f"{path}: secret #{i}" for i, n in enumerate(needles) if n.encode() in data
                ]
    if database is not None:
        for text in _database_texts(database):
            leaks += [f"{database}: secret #{i}" for i, n in enumerate(needles) if n in text]
    for index, text in enumerate(texts):
        leaks += [f"text #{index}: secret #{i}" for i, n in enumerate(needles) if n in text]
    return sorted(set(leaks))
