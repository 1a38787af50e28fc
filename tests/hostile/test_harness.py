"""The hostile server itself: an honest pass-through loads the simulator's truth exactly."""

from __future__ import annotations

from tests.conftest import Runner, expected_restores
from tests.hostile.conftest import Start
from tests.hostile.proxy import Answer, Exchange
from tests.support.worlds import quick_run, small_world


def test_pass_through_loads_ground_truth(runner: Runner, hostile: Start) -> None:
    world = small_world()
    sim, server = hostile(world)
    summary = quick_run(runner, sim, endpoint=server.base_url)
    assert runner.restores() == expected_restores(world, sim.now)
    assert summary.requests == len(server.seen) > 0


def test_hook_replaces_answers_until_cleared(runner: Runner, hostile: Start) -> None:
    world = small_world()
    sim, server = hostile(world)
    target = world.instances_at(sim.now)[0]["instance_id"]

    def hide(exchange: Exchange) -> Answer | None:
        hidden = (exchange.instance_id, exchange.kind) == (target, "restores")
        return Answer(status=204) if hidden else None

    server.hook = hide
    quick_run(runner, sim, endpoint=server.base_url)
    loaded = {row["instance_id"] for row in runner.restores()}
    assert target not in loaded and loaded
    server.hook = None
    quick_run(runner, sim, endpoint=server.base_url)
    assert runner.restores() == expected_restores(world, sim.now)
