"""Concurrent reads: each instance's pages in order, bounded concurrency, a bounded queue, and a
clean stop; against a fake client (no HTTP), so nothing here depends on timing."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Generator
from datetime import datetime
from typing import Any, cast

import pytest
from dcs_restores.reader import Cancelled, Event, read_instances
from dcs_restores.settings import page_overlap


class FakeClient:
    """Answers restore pages from memory and records what was asked, by whom and when."""

    project_id = "0" * 32

    def __init__(self, restores: dict[str, int], delay_s: float = 0.0) -> None:
        self.restores = restores
        self.delay_s = delay_s
        self.calls: list[tuple[str, int]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.fetched_pages = 0
        self._lock = threading.Lock()

    def get(
        self,
        path: str,
        params: dict[str, Any],
        instance_id: str | None = None,
        list_key: str | None = None,
    ) -> Any:
        assert instance_id is not None
        with self._lock:
            self.calls.append((instance_id, int(params["offset"])))
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay_s:
                time.sleep(self.delay_s)
            offset, limit = int(params["offset"]), int(params["limit"])
            count = max(0, min(limit, self.restores[instance_id] - offset))
            items = [{"restore_id": f"{instance_id}-{offset + i}"} for i in range(count)]
            with self._lock:
                self.fetched_pages += 1 if items else 0
            return {"restore_record_response": items} if items else None
        finally:
            with self._lock:
                self.in_flight -= 1


def read(
    client: FakeClient, page_size: int, concurrency: int, stop: threading.Event | None = None
) -> Generator[Event, None, None]:
    plan: list[tuple[str, datetime | None]] = [(iid, None) for iid in client.restores]
    stop = stop or threading.Event()
    return read_instances(cast(Any, client), plan, page_size, concurrency, stop)


def requested_offsets(count: int, page_size: int) -> list[int]:
    """Offsets the pager asks for: each page starts `overlap` rows before the last one ended
    (to see rows move), and a short page is the last."""
    overlap = page_overlap(page_size)
    offsets = [0]
    while count - offsets[-1] >= page_size:
        offsets.append(offsets[-1] + page_size - overlap)
    return offsets


def test_each_instance_is_paged_in_order_and_ends_once() -> None:
    restores = {f"inst-{n:02d}": 7 * n for n in range(12)}
    client = FakeClient(restores, delay_s=0.002)
    events = list(read(client, 5, 4))

    by_instance: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        by_instance[event.instance_id].append(event)
    for instance_id, count in restores.items():
        mine = by_instance[instance_id]
        # pages in offset order, then exactly one done event, last
        assert [e.done for e in mine] == [False] * (len(mine) - 1) + [True]
        assert mine[-1].error is None
        ids = [item["restore_id"] for e in mine[:-1] for item in e.items or []]
        assert ids == [f"{instance_id}-{i}" for i in range(count)]
        offsets = [offset for iid, offset in client.calls if iid == instance_id]
        assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets)
        # a short page ends the instance: no request after it
        assert offsets == requested_offsets(count, 5)


def test_concurrency_is_used_and_bounded() -> None:
    restores = {f"inst-{n:02d}": 12 for n in range(16)}
    client = FakeClient(restores, delay_s=0.01)
    for _ in read(client, 5, 4):
        pass
    assert 1 < client.max_in_flight <= 4


def test_a_slow_consumer_holds_back_the_readers() -> None:
    concurrency, page_size = 3, 2
    restores = {f"inst-{n:02d}": 40 for n in range(6)}
    client = FakeClient(restores)
    consumed, worst = 0, 0
    for event in read(client, page_size, concurrency):
        if event.items is not None:
            consumed += 1
            time.sleep(0.002)
            worst = max(worst, client.fetched_pages - consumed)
    # pages that bring rows not read yet (a last page of only the overlap brings none)
    overlap = page_overlap(page_size)
    fresh = [o for o in requested_offsets(40, page_size) if min(page_size, 40 - o) > overlap]
    assert consumed == 6 * (1 + len(fresh[1:]))
    # pages read but not yet consumed: the buffer's two full pages per reader, plus one page
    # in the hands of each reader
    assert worst <= 2 * concurrency + concurrency


class FailingClient(FakeClient):
    """Every instance fails at once, as a route that answers HTTP 500 for all of them."""

    def get(self, path: str, params: dict[str, Any], instance_id: str | None = None,
            list_key: str | None = None) -> Any:  # fmt: skip
        with self._lock:
            self.calls.append((str(instance_id), int(params["offset"])))
        raise RuntimeError(f"instance {instance_id}: HTTP 500")


@pytest.mark.parametrize(("concurrency", "stop_after"), [(1, 5), (3, 4)])
def test_failures_wait_for_a_busy_consumer_to_decide(concurrency: int, stop_after: int) -> None:
    client = FailingClient({f"inst-{n:02d}": 10 for n in range(60)})
    stop = threading.Event()
    failed = 0
    for event in read(client, 5, concurrency, stop):
        assert event.done
        if not isinstance(event.error, Cancelled):
            failed += 1
        # a consumer busy elsewhere (the other kind's pages, the loader) between two events
        time.sleep(0.01)
        if failed == stop_after:
            stop.set()
    # each reader has at most one instance past the decision: the one it began meanwhile
    assert stop_after <= len(client.calls) == failed <= stop_after + concurrency


def test_the_buffer_is_bounded_by_records_not_pages() -> None:
    concurrency, page_size = 2, 10
    # every instance is one page of 1 record: 40 of them fit in the bound of 40 records,
    # which holds only 4 full pages of 10
    restores = {f"inst-{n:02d}": 1 for n in range(60)}
    client = FakeClient(restores)
    reading = read(client, page_size, concurrency)
    next(reading)
    deadline = time.monotonic() + 5
    while client.fetched_pages < 30 and time.monotonic() < deadline:
        time.sleep(0.01)
    # the consumer took one page; small pages kept coming well past 2 x concurrency pages
    assert client.fetched_pages >= 30
    reading.close()

    big = FakeClient({f"big-{n:02d}": 1000 for n in range(4)})
    reading = read(big, page_size, concurrency)
    next(reading)
    time.sleep(0.3)
    # full pages stop at the bound: 2 pages per reader buffered, one more in each reader's hands
    assert big.fetched_pages <= 2 * concurrency + concurrency + 1
    reading.close()


def test_stop_cancels_instances_not_yet_read() -> None:
    restores = {f"inst-{n:02d}": 10 for n in range(10)}
    client = FakeClient(restores, delay_s=0.005)
    stop = threading.Event()
    done: dict[str, BaseException | None] = {}
    for event in read(client, 5, 2, stop):
        if event.done:
            done[event.instance_id] = event.error
            stop.set()
    # every instance still reports its end exactly once; the unread ones as cancelled
    assert set(done) == set(restores)
    cancelled = [iid for iid, error in done.items() if isinstance(error, Cancelled)]
    assert 0 < len(cancelled) < len(restores)


@pytest.mark.parametrize("consumed", [0, 3], ids=["before-any-page", "after-three-pages"])
def test_a_consumer_that_goes_away_leaves_no_reader_behind(consumed: int) -> None:
    restores = {f"inst-{n:02d}": 50 for n in range(8)}
    client = FakeClient(restores, delay_s=0.002)
    before = {t.ident for t in threading.enumerate()}
    reading = read(client, 5, 4)
    for _ in range(consumed + 1):
        next(reading)
    reading.close()
    readers = [
        t for t in threading.enumerate() if t.ident not in before and t.name.startswith("dcs-read")
    ]
    for thread in readers:
        thread.join(timeout=10)
    assert not any(t.is_alive() for t in readers)
    # far from every page was read
    assert len(client.calls) < sum(restores.values()) // 5
