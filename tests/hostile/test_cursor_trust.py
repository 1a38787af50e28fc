"""Cursors against a hostile API: a glitched read never forgets an open restore, a server reading
begin_time in its own zone misses nothing, and a created_at from the future hides nothing."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from dcs_restores.cursors import CursorTracker, InstanceCursor, begin_time, earlier
from dcs_restores.settings import EARLIEST_CREATED_AT, MAX_CLOCK_SKEW
from dcs_simulator import World

from tests.conftest import Runner, expected_restores
from tests.hostile.conftest import Start
from tests.hostile.proxy import Answer, Exchange, json_answer, restores_page
from tests.support.truth import cursors, local_state
from tests.support.worlds import quick_run

T0 = datetime(2026, 3, 1, tzinfo=UTC)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
LONG = "11111111-0000-4000-8000-000000000001"  # one restore running for 4 days
BUSY = "22222222-0000-4000-8000-000000000002"  # hourly short restores
# a bound for one quick run of this small world, however the server misbehaves
RUN_BOUND_S = 20


def long_restore_world(filter_tz_offset_hours: float = 0) -> World:
    world = World.empty(seed=5, filter_tz_offset_hours=filter_tz_offset_hours)
    world.add_instance(LONG, name="long", created_at=T0 - 90 * DAY)
    world.add_instance(BUSY, name="busy", created_at=T0 - 90 * DAY)
    world.add_restore(LONG, T0 - 3 * DAY, wait_s=30, duration_s=4 * 86400)
    world.add_restore(LONG, T0 - 2 * HOUR, wait_s=30, duration_s=60)
    for i in range(12):
        world.add_restore(BUSY, T0 - 12 * HOUR + i * HOUR, wait_s=10, duration_s=600)
    return world


def status_of(runner: Runner, restore_created: datetime) -> str:
    rows = [r for r in runner.restores() if r["created_at"] == restore_created]
    assert len(rows) == 1
    return str(rows[0]["status"])


def _spurious_204(exchange: Exchange) -> Answer | None:
    return (
        Answer(status=204) if (exchange.instance_id, exchange.kind) == (LONG, "restores") else None
    )


def _empty_list(exchange: Exchange) -> Answer | None:
    if exchange.instance_id != LONG or exchange.kind != "restores":
        return None
    return json_answer({"restore_record_response": [], "total_num": 0})


def _only_newest(exchange: Exchange) -> Answer | None:
    # a read that shows some rows but not the open one (a partial index, a lagging replica)
    if exchange.instance_id != LONG or exchange.kind != "restores":
        return None
    page = restores_page(exchange)
    page["restore_record_response"] = page["restore_record_response"][:1]
    page["total_num"] = len(page["restore_record_response"])
    return json_answer(page)


@pytest.mark.parametrize("glitch", [_spurious_204, _empty_list, _only_newest])
def test_a_glitched_read_never_forgets_an_open_restore(
    runner: Runner, hostile: Start, glitch: object
) -> None:
    world = long_restore_world()
    sim, server = hostile(world, now=T0)
    quick_run(runner, sim, endpoint=server.base_url)
    assert status_of(runner, T0 - 3 * DAY) == "restoring"

    # the restore finishes, but the read that could show it is glitched: exit 0, and the
    # restore is still open in the table (the API said nothing about it)
    sim.set_now(T0 + 2 * DAY)
    server.hook = glitch  # type: ignore[assignment]
    started = time.monotonic()
    quick_run(runner, sim, endpoint=server.base_url)
    assert time.monotonic() - started < RUN_BOUND_S
    assert status_of(runner, T0 - 3 * DAY) == "restoring"
    busy = [r for r in runner.restores() if r["instance_id"] == BUSY]
    assert busy == [r for r in expected_restores(world, sim.now) if r["instance_id"] == BUSY]

    # the next honest read reaches back to it: the table converges on the API
    server.hook = None
    sim.set_now(T0 + 5 * DAY)
    sim.reset_log()
    quick_run(runner, sim, endpoint=server.base_url)
    assert runner.restores() == expected_restores(world, sim.now)
    assert status_of(runner, T0 - 3 * DAY) == "succeed"
    begins = [r.query.get("begin_time") for r in sim.restore_requests(LONG)]
    assert begins and all(b is not None and b <= f"{T0 - 3 * DAY:%Y%m%d%H%M%S}" for b in begins)


@pytest.mark.parametrize("hours_west", [3, 8, 12])
def test_a_server_reading_begin_time_west_of_utc_misses_nothing(
    runner: Runner, hostile: Start, hours_west: int
) -> None:
    # the server takes begin_time as its local time, `hours_west` behind UTC: it filters
    # from `hours_west` hours later than asked
    world = long_restore_world(filter_tz_offset_hours=-hours_west)
    sim, server = hostile(world, now=T0)
    quick_run(runner, sim, endpoint=server.base_url)
    sim.set_now(T0 + 5 * DAY)
    quick_run(runner, sim, endpoint=server.base_url)
    assert runner.restores() == expected_restores(world, sim.now)
    assert status_of(runner, T0 - 3 * DAY) == "succeed"


@pytest.mark.parametrize("ahead", [2 * HOUR, 30 * DAY, 300 * DAY])
def test_a_created_at_from_the_future_hides_no_later_restore(
    runner: Runner, hostile: Start, ahead: timedelta
) -> None:
    world = long_restore_world()
    # the world's clock is the real one: "the future" is measured against the machine's clock
    now = datetime.now(UTC).replace(microsecond=0)
    for i in range(3):
        world.add_restore(BUSY, now - (10 - i) * HOUR, wait_s=10, duration_s=60)
    sim, server = hostile(world, now=now)
    future = (now + ahead).strftime("%Y-%m-%dT%H:%M:%S.000Z")

    def time_traveller(exchange: Exchange) -> Answer | None:
        if exchange.instance_id != BUSY or exchange.kind != "restores":
            return None
        page = restores_page(exchange)
        records = page["restore_record_response"]
        if records:
            bogus = dict(records[0], restore_id="ffffffff-0000-4000-8000-00000000f0f0")
            records.insert(0, bogus | {"created_at": future, "updated_at": future})
            page["total_num"] = page.get("total_num", 0) + 1
        return json_answer(page)

    server.hook = time_traveller
    # one page: the bogus record sits on top of the honest list
    quick_run(runner, sim, endpoint=server.base_url, page_size=1000)
    cursor = cursors(local_state(runner))[BUSY]
    stored = datetime.fromisoformat(str(cursor["max_created_at"]))
    assert stored <= datetime.now(UTC) + MAX_CLOCK_SKEW

    # three real restores appear after the bogus one; the next run must load them all
    server.hook = None
    new = [world.add_restore(BUSY, now + i * 600 * timedelta(seconds=1)) for i in range(3)]
    sim.set_now(now + HOUR)
    quick_run(runner, sim, endpoint=server.base_url, page_size=1000)
    loaded = {r["restore_id"] for r in runner.restores()}
    assert set(new) <= loaded
    truth = expected_restores(world, sim.now)
    assert [
        r for r in runner.restores() if r["restore_id"] in {t["restore_id"] for t in truth}
    ] == (truth)


@pytest.mark.parametrize(
    "stored",
    [
        "0001-01-01T00:00:00+00:00",  # Go's zero time, stored by an older version
        "1970-01-01T00:00:00+00:00",
        "9999-12-31T23:59:59+00:00",
        "not a time",
        12345,
        None,
    ],
)
def test_a_stored_cursor_that_cannot_be_true_is_not_trusted(stored: object) -> None:
    now = datetime(2026, 6, 1, tzinfo=UTC)
    cursor = InstanceCursor.from_state({"max_created_at": stored, "oldest_open": stored}, now)
    assert cursor is not None
    # never a crash, never a window in the far future; implausibly old means "read it all"
    begin = begin_time(cursor, timedelta(hours=24), None)
    if cursor.max_created_at is None:
        assert begin is None
    else:
        assert EARLIEST_CREATED_AT <= begin <= now + MAX_CLOCK_SKEW


def test_window_arithmetic_never_underflows() -> None:
    assert earlier(EARLIEST_CREATED_AT, timedelta(days=366)) == EARLIEST_CREATED_AT
    assert earlier(datetime.min.replace(tzinfo=UTC), timedelta(hours=1)) == EARLIEST_CREATED_AT


def test_the_tracker_caps_the_cursor_at_the_clock_plus_skew() -> None:
    now = datetime(2026, 6, 1, tzinfo=UTC)
    tracker = CursorTracker(None, now)
    tracker.observe(now - DAY, "succeed")
    tracker.observe(now + 40 * DAY, "succeed")
    assert tracker.result().max_created_at == now + MAX_CLOCK_SKEW
