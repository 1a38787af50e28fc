"""Paging against a hostile API: a server that ignores offset, an endless list, rows deleted while
paging, and instance ids that are not ids. Each sets aside one instance, never the run."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from dcs_restores_pipeline.runner import RunFailed
from dcs_simulator import World

from tests.conftest import Runner, expected_restores
from tests.hostile.conftest import Start
from tests.hostile.proxy import Answer, Exchange, json_answer, restores_page
from tests.support.truth import cursors, local_state, truth_for
from tests.support.worlds import quick_run

T0 = datetime(2026, 3, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
RUN_BOUND_S = 20


def world_of(counts: list[int]) -> World:
    """Instances with `counts[i]` hourly restores each (page size 10 in the tests)."""
    world = World.empty(seed=9)
    for index, count in enumerate(counts):
        instance_id = f"{index + 1:08d}-0000-4000-8000-{index + 1:012d}"
        world.add_instance(instance_id, name=f"i{index}", created_at=T0 - 400 * HOUR)
        for i in range(count):
            world.add_restore(instance_id, T0 - (count - i) * HOUR, wait_s=5, duration_s=60)
    return world


def run_failing(runner: Runner, sim: Any, server: Any, **changes: Any) -> RunFailed:
    started = time.monotonic()
    with pytest.raises(RunFailed) as info:
        quick_run(runner, sim, endpoint=server.base_url, **changes)
    assert time.monotonic() - started < RUN_BOUND_S
    assert "\n" not in str(info.value)
    return info.value


def assert_others_exact(runner: Runner, world: World, now: datetime, bad: str) -> None:
    healthy = [i for i in world.instance_ids if i != bad]
    rows = [r for r in runner.restores() if r["instance_id"] in healthy]
    assert rows == truth_for(world, now, healthy)
    assert bad not in cursors(local_state(runner))


def test_a_server_that_ignores_offset_fails_that_instance_only(
    runner: Runner, hostile: Start
) -> None:
    world = world_of([35, 12, 4])
    sim, server = hostile(world, now=T0)
    bad = world.instance_ids[0]

    def same_page(exchange: Exchange) -> Answer | None:
        if exchange.instance_id != bad or exchange.kind != "restores":
            return None
        items, total = world.restores_page(bad, sim.now, offset=0, limit=10)
        return json_answer({"restore_record_response": items, "total_num": total})

    server.hook = same_page
    failure = run_failing(runner, sim, server)
    assert f"instance {bad}: repeated_page" in str(failure)
    assert len(sim.restore_requests(bad)) == 2
    assert_others_exact(runner, world, sim.now, bad)
    server.hook = None
    quick_run(runner, sim, endpoint=server.base_url)
    assert runner.restores() == expected_restores(world, sim.now)


@pytest.mark.parametrize("claimed_total", [25, 60, None])
def test_an_endless_list_is_bounded(
    runner: Runner, hostile: Start, claimed_total: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Full pages of new rows for ever: bounded by what total_num says, or by the hard cap."""
    world = world_of([5, 7])
    sim, server = hostile(world, now=T0)
    bad = world.instance_ids[0]
    counter = itertools.count()

    def endless(exchange: Exchange) -> Answer | None:
        if exchange.instance_id != bad or exchange.kind != "restores":
            return None
        # one consistent list that never ends: row n is the same whatever page it is on
        template = world.restores_page(bad, sim.now, offset=0, limit=1)[0][0]
        offset = int(exchange.query["offset"])
        next(counter)
        items = [dict(template, restore_id=f"endless-{offset + i:08d}") for i in range(10)]
        page: dict[str, Any] = {"restore_record_response": items}
        if claimed_total is not None:
            page["total_num"] = claimed_total
        return json_answer(page)

    server.hook = endless
    if claimed_total is None:
        # no total to go by: the hard page cap ends it (made small here to keep the test fast)
        monkeypatch.setattr("dcs_restores.paging.MAX_PAGES", 30)
    failure = run_failing(runner, sim, server)
    assert f"instance {bad}: too_many_pages" in str(failure)
    requests = len(sim.restore_requests(bad))
    limit = 30 if claimed_total is None else 2 * -(-claimed_total // 9) + 10
    assert requests == limit
    assert_others_exact(runner, world, sim.now, bad)


@pytest.mark.parametrize("deleted", [1, 3, 15])
def test_rows_deleted_while_paging_are_not_skipped(
    runner: Runner, hostile: Start, deleted: int
) -> None:
    """The newest restores vanish after the first page: the later rows move to lower offsets,
    past the reader. Small moves are absorbed by the overlap, large ones start the read over."""
    world = world_of([45, 6])
    sim, server = hostile(world, now=T0)
    moving = world.instance_ids[0]
    pages_served = {"count": 0}

    def delete_newest(exchange: Exchange) -> Answer | None:
        if exchange.instance_id != moving or exchange.kind != "restores":
            return None
        pages_served["count"] += 1
        if pages_served["count"] == 1:
            return None  # the first page, before the deletion
        offset, limit = int(exchange.query["offset"]), int(exchange.query["limit"])
        items, total = world.restores_page(moving, sim.now, offset=offset + deleted, limit=limit)
        return json_answer({"restore_record_response": items, "total_num": total - deleted})

    server.hook = delete_newest
    quick_run(runner, sim, endpoint=server.base_url)
    truth = expected_restores(world, sim.now)
    newest = sorted(
        (r for r in truth if r["instance_id"] == moving), key=lambda r: r["created_at"]
    )[-deleted:]
    still_listed = [r for r in truth if r not in newest]
    rows = runner.restores()
    # every restore the API still lists is loaded, and nothing that it never listed
    assert [r for r in rows if r not in newest] == still_listed
    assert all(r in truth for r in rows)


def test_rows_that_never_stop_moving_fail_that_instance_only(
    runner: Runner, hostile: Start
) -> None:
    world = world_of([45, 6])
    sim, server = hostile(world, now=T0)
    moving = world.instance_ids[0]

    def shuffled(exchange: Exchange) -> Answer | None:
        if exchange.instance_id != moving or exchange.kind != "restores":
            return None
        page = restores_page(exchange)
        offset = int(exchange.query["offset"])
        if offset:  # every later page moved by more than the overlap
            items, _ = world.restores_page(moving, sim.now, offset=offset + 5, limit=10)
            page["restore_record_response"] = items
        return json_answer(page)

    server.hook = shuffled
    failure = run_failing(runner, sim, server)
    assert f"instance {moving}: rows_moved" in str(failure)
    assert_others_exact(runner, world, sim.now, moving)
    server.hook = None
    quick_run(runner, sim, endpoint=server.base_url)
    assert runner.restores() == expected_restores(world, sim.now)


@pytest.mark.parametrize(
    "hostile_id",
    [
        "../../../v2/0123456789abcdef0123456789abcdef/instances/aaaa",
        "x?offset=999&",
        "y#frag",
        "a/b",
        "white space",
        "x" * 300,
        "",
        12345,
    ],
)
def test_instance_ids_from_the_listing_are_checked(
    runner: Runner, hostile: Start, hostile_id: object
) -> None:
    world = world_of([12, 3])
    sim, server = hostile(world, now=T0)

    def odd_listing(exchange: Exchange) -> Answer | None:
        if exchange.kind != "instances":
            return None
        listing = exchange.json()
        template = dict(listing["instances"][0])
        listing["instances"].append(template | {"instance_id": hostile_id, "name": "odd"})
        return json_answer(listing)

    server.hook = odd_listing
    if hostile_id == "":
        # an empty id is no instance at all: dropped from the listing without a failure
        quick_run(runner, sim, endpoint=server.base_url)
    else:
        failure = run_failing(runner, sim, server)
        assert "is not a DCS instance id" in str(failure)
        assert len(str(failure)) < 400
    # nothing but the real instances' routes was ever asked for
    paths = {r.path for r in sim.requests if r.kind == "restores"}
    assert paths == {
        f"/v2/{world.project_id}/instances/{iid}/restores" for iid in world.instance_ids
    }
    assert runner.restores() == expected_restores(world, sim.now)
    ids = [r[0] for r in runner.query("select instance_id from dcs.instances order by 1")]
    assert ids == sorted(world.instance_ids)
