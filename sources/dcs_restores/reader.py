"""Reads many instances at once: each instance's pages in order, pages handed over as they come."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Generator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .client import Cancelled, DcsClient
from .paging import iter_restore_pages

_PUT_POLL_S = 0.2


@dataclass(frozen=True)
class Event:
    """One page of an instance (`items`), or the end of its read (`done`, with any error)."""

    instance_id: str
    items: list[Any] | None = None
    done: bool = False
    error: BaseException | None = None


def read_instances(
    client: DcsClient,
    plan: list[tuple[str, datetime | None]],
    page_size: int,
    concurrency: int,
    stop: threading.Event,
) -> Generator[Event, None, None]:
    """Read every (instance_id, begin) of `plan` with up to `concurrency` instances at once.

    Pages go through a bounded queue, so memory stays flat however long an instance's history
    is. Setting `stop` lets running instances end after their current page and skips the rest
    (their `done` event carries `Cancelled`).

    Yields:
        Page events in arrival order, and exactly one `done` event per instance.
    """
    events: queue.Queue[Event] = queue.Queue(maxsize=max(2, 2 * concurrency))

    def put(event: Event) -> None:
        # a consumer that went away must not leave workers blocked forever
        while True:
            try:
                events.put(event, timeout=_PUT_POLL_S)
                return
            except queue.Full:
                if stop.is_set() and not event.done:
                    raise Cancelled() from None

    def work(instance_id: str, begin: datetime | None) -> None:
        error: BaseException | None = None
        try:
            if stop.is_set():
                raise Cancelled()
            for items in iter_restore_pages(client, instance_id, begin, page_size):
                put(Event(instance_id, items=items))
                if stop.is_set():
                    raise Cancelled()
        except BaseException as exc:  # handed to the consumer, which decides
            error = exc
        put(Event(instance_id, done=True, error=error))

    client.cancel = stop
    pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="dcs-read")
    futures = [pool.submit(work, instance_id, begin) for instance_id, begin in plan]
    try:
        remaining = len(plan)
        while remaining:
            event = events.get()
            if event.done:
                remaining -= 1
            yield event
    finally:
        stop.set()
        pool.shutdown(wait=False, cancel_futures=True)
        # drain, so workers still blocked on a full queue can finish
        while not all(future.done() for future in futures):
            with contextlib.suppress(queue.Empty):
                events.get(timeout=_PUT_POLL_S)
