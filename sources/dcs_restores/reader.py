"""Reads many instances at once: each instance's pages in order, pages handed over as they come."""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .client import DcsClient
from .errors import Cancelled
from .paging import iter_restore_pages

_PUT_POLL_S = 0.2
# reads one instance's pages: (client, instance_id, begin, page_size) -> pages
Pages = Callable[[DcsClient, str, datetime | None, int], Iterator[list[Any]]]


@dataclass(frozen=True)
class Event:
    """One page of an instance (`items`), or the end of its read (`done`, with any error)."""

    instance_id: str
    items: list[Any] | None = None
    done: bool = False
    error: BaseException | None = None


class _Buffer:
    """Events waiting for the consumer, bounded by the records they hold.

    Bounding by records rather than pages keeps the memory bound of full 1,000-record pages,
    while an instance's short pages do not stall the readers whenever the consumer is busy.
    """

    def __init__(self, max_rows: int, stop: threading.Event) -> None:
        self._events: deque[Event] = deque()
        self._rows = 0
        self._put = 0  # events put so far: the number of the next one
        self._taken = 0  # events the consumer has taken so far
        self._max_rows = max_rows
        self._stop = stop
        self._cond = threading.Condition()

    def put(self, event: Event) -> int:
        """Add `event` once it fits; returns its number (for `wait_taken`)."""
        size = len(event.items or ())
        with self._cond:
            # one page always fits, however large; a `done` event never waits
            while size and self._rows and self._rows + size > self._max_rows:
                if self._stop.is_set():
                    # a consumer that went away must not leave readers blocked forever
                    raise Cancelled()
                self._cond.wait(_PUT_POLL_S)
            self._events.append(event)
            self._rows += size
            self._put += 1
            self._cond.notify_all()
            return self._put - 1

    def wait_taken(self, number: int) -> None:
        """Wait until the consumer has taken event `number`, or until the read stops."""
        with self._cond:
            while self._taken <= number and not self._stop.is_set():
                self._cond.wait(_PUT_POLL_S)

    def get(self) -> Event:
        with self._cond:
            while not self._events:
                self._cond.wait()
            event = self._events.popleft()
            self._taken += 1
            self._rows -= len(event.items or ())
            self._cond.notify_all()
            return event

    def close(self) -> None:
        with self._cond:
            self._events.clear()
            self._rows = 0
            self._cond.notify_all()


def read_instances(
    client: DcsClient,
    plan: list[tuple[str, datetime | None]],
    page_size: int,
    concurrency: int,
    stop: threading.Event,
    pages: Pages = iter_restore_pages,
) -> Generator[Event, None, None]:
    """Read every (instance_id, begin) of `plan` with up to `concurrency` instances at once.

    `pages` reads one instance (restores by default, or backups).

    Pages wait for the consumer in a buffer of at most two full pages' records per reader, so
    memory stays flat however long an instance's history is.
    Setting `stop` lets running instances end after their current page and skips the rest
    (their `done` event carries `Cancelled`). A reader whose instance failed starts no other
    until the consumer has taken that failure: a consumer that stops the read on failures
    gets at most `concurrency` more of them.

    Yields:
        Page events in arrival order, and exactly one `done` event per instance.
    """
    concurrency = max(1, concurrency)
    buffer = _Buffer(2 * concurrency * max(1, page_size), stop)

    def work(instance_id: str, begin: datetime | None) -> None:
        error: BaseException | None = None
        try:
            if stop.is_set():
                raise Cancelled()
            for items in pages(client, instance_id, begin, page_size):
                buffer.put(Event(instance_id, items=items))
                if stop.is_set():
                    raise Cancelled()
        except BaseException as exc:  # handed to the consumer, which decides
            error = exc
        number = buffer.put(Event(instance_id, done=True, error=error))
        if error is not None and not isinstance(error, Cancelled):
            # the consumer decides whether failures stop the read (a route failing for every
            # instance): no next instance before it has seen this one, so a failing server
            # gets at most `concurrency` requests past that decision, however busy the
            # consumer is elsewhere
            buffer.wait_taken(number)

    todo: queue.SimpleQueue[tuple[str, datetime | None]] = queue.SimpleQueue()
    for item in plan:
        todo.put(item)

    def worker() -> None:
        while True:
            try:
                instance_id, begin = todo.get_nowait()
            except queue.Empty:
                return
            work(instance_id, begin)

    # daemon threads: an interrupted run exits at once instead of joining readers that wait
    # on a server (a ThreadPoolExecutor's threads are joined at interpreter exit); `stop`,
    # which the client was made with, aborts their requests in flight
    for number in range(min(concurrency, len(plan))):
        threading.Thread(target=worker, name=f"dcs-read-{number}", daemon=True).start()
    try:
        remaining = len(plan)
        while remaining:
            event = buffer.get()
            if event.done:
                remaining -= 1
            yield event
    finally:
        stop.set()
        buffer.close()
