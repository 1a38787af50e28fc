"""Shared steps of the transport tests: a run with one damaged instance, checked end to end."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pytest
from dcs_restores.client import DcsApiError, DcsClient
from dcs_restores.settings import RESTORES_PATH
from dcs_restores_pipeline.runner import RunFailed, RunSummary
from dcs_simulator import DcsSimulator, World

from tests.conftest import Runner
from tests.hostile.proxy import Answer, Exchange, HostileServer
from tests.support.truth import assert_matches_truth, truth_for
from tests.support.worlds import quick_run, small_world


@dataclass
class Damaged:
    world: World
    sim: DcsSimulator
    server: HostileServer
    target: str  # the damaged instance
    healthy: list[str]

    def hits(self) -> int:
        """Requests the server saw for the damaged instance's restores."""
        seen = self.server.seen
        return sum(1 for e in seen if e.kind == "restores" and e.instance_id == self.target)


def damaged_world(hostile: Any, seed: int) -> Damaged:
    """A small world behind a hostile server; its target is the last listed instance with
    restores, so that with concurrency 1 every healthy instance is read before it fails."""
    world = small_world(seed=seed, instances=4)
    sim, server = hostile(world)
    listed = [item["instance_id"] for item in world.instances_at(sim.now)]
    target = [i for i in listed if world.count_restores(i, sim.now)][-1]
    return Damaged(world, sim, server, target, [i for i in listed if i != target])


def only_target(damaged: Damaged, answer: Any) -> Any:
    """A hook that damages the target's restores pages with `answer(exchange)`."""

    def hook(exchange: Exchange) -> Answer | None:
        if exchange.kind == "restores" and exchange.instance_id == damaged.target:
            return answer(exchange)
        return None

    return hook


def run(runner: Runner, damaged: Damaged, **changes: Any) -> RunSummary:
    # backups are not under test here: their reads would only share the time bounds
    options: dict[str, Any] = {
        "concurrency": 1,
        "max_attempts": 2,
        "max_retry_delay": 0.05,
        "backups": False,
    }
    options.update(changes)
    return quick_run(runner, damaged.sim, endpoint=damaged.server.base_url, **options)


def run_failing(runner: Runner, damaged: Damaged, bound_s: float, **changes: Any) -> str:
    """Run with the fault on: the run fails within `bound_s` on one line naming the target,
    and every healthy instance is loaded exactly. Returns the line."""
    started = time.monotonic()
    with pytest.raises(RunFailed) as info:
        run(runner, damaged, **changes)
    elapsed = time.monotonic() - started
    assert elapsed < bound_s, elapsed
    message = str(info.value)
    assert "\n" not in message and f"instance {damaged.target}: " in message
    summary = info.value.summary
    assert summary is not None and summary.instances_failed == [damaged.target]
    assert_healthy(runner, damaged)
    return message


def assert_healthy(runner: Runner, damaged: Damaged) -> None:
    rows = [r for r in runner.restores() if r["instance_id"] != damaged.target]
    assert rows == truth_for(damaged.world, damaged.sim.now, damaged.healthy)


def assert_converges(runner: Runner, damaged: Damaged) -> None:
    """With the fault cleared, the next run loads the simulator's truth exactly."""
    damaged.server.hook = None
    run(runner, damaged)
    assert_matches_truth(runner, damaged.sim)


def fetch(runner: Runner, damaged: Damaged, **changes: Any) -> tuple[Any, float]:
    """The client alone: the target's first page, or the DcsApiError it ends in; and seconds."""
    options: dict[str, Any] = {"max_attempts": 2, "max_retry_delay": 0.05}
    options.update(changes)
    client = DcsClient(runner.settings(damaged.sim, endpoint=damaged.server.base_url, **options))
    path = RESTORES_PATH.format(project_id=damaged.world.project_id, instance_id=damaged.target)
    started = time.monotonic()
    try:
        result: Any = client.get(
            path, {"offset": 0, "limit": 10}, damaged.target, list_key="restore_record_response"
        )
    except DcsApiError as exc:
        result = exc
    return result, time.monotonic() - started
