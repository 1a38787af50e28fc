"""Ctrl-C during a run: the command exits 130 at once, commits nothing, and the next run
reads everything again."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import Runner
from tests.hostile.conftest import Start
from tests.hostile.proxy import Answer, Exchange
from tests.support.cli import cli_env, start_cli
from tests.support.truth import assert_matches_truth, cursors, local_state
from tests.support.worlds import quick_run, small_world

INTERRUPTED = (
    "dcs-restores: interrupted; nothing of this run was committed, the next run reads it again"
)


def _holding(held: threading.Event, release: threading.Event, kind: str, after: int):
    """A hook that answers honestly, then holds the `after`-th request of `kind` unanswered."""
    seen = [0]
    lock = threading.Lock()

    def hook(exchange: Exchange) -> Answer | None:
        if exchange.kind != kind:
            return None
        with lock:
            seen[0] += 1
            mine = seen[0]
        if mine >= after:
            held.set()
            release.wait(30)
        return None

    return hook


@pytest.mark.parametrize(
    ("kind", "after"),
    [("restores", 3), ("instances", 1)],
    ids=["mid-run", "listing"],
)
def test_sigint_exits_130_at_once_and_the_next_run_converges(
    runner: Runner, hostile: Start, tmp_path: Path, kind: str, after: int
) -> None:
    world = small_world(seed=71, instances=4)
    sim, server = hostile(world)
    held, release = threading.Event(), threading.Event()
    server.hook = _holding(held, release, kind, after)
    env = cli_env(
        sim,
        runner,
        SOURCES__DCS_RESTORES__ENDPOINT=server.base_url,
        SOURCES__DCS_RESTORES__REQUEST_TIMEOUT="60",
        SOURCES__DCS_RESTORES__CONCURRENCY="1",
    )
    child = start_cli(["run", "--quiet"], env, tmp_path)
    try:
        assert held.wait(30), "the run never reached the held request"
        time.sleep(0.3)  # the request is in flight in the child
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=10)
        elapsed = time.monotonic() - sent
    finally:
        release.set()
        if child.poll() is None:
            child.kill()
    assert child.returncode == 130, stderr
    assert elapsed < 2.0, elapsed
    assert stderr.strip().splitlines()[-1] == INTERRUPTED
    # nothing of the interrupted run was committed: no cursor, no row
    state = runner.working_dir / "state.json"
    assert not state.exists() or not cursors(local_state(runner))

    server.hook = None
    quick_run(runner, sim, endpoint=server.base_url)
    assert_matches_truth(runner, sim)
