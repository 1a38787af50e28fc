"""A run's first requests, sent while the rest of the run is still being set up.

`start` lists the instances and reads restores and backups exactly as the extract will
(same settings, cursors and plan functions), keeping every answer under its URL. The extract
`take`s the client when it begins: if its settings are the ones the reads were made with, each
kept answer answers its own request once, and everything else is read as always. A wrong
guess (a cursor the run sees differently, an open restore that reaches further back) costs a
request, never correctness: an answer is only used for exactly the request that fetched it,
with the same credentials. A request fails here at most once (no retries), and a refusal of
the credentials is handed over, so the run never sends a refused key again.

Nothing here imports dlt: that is what lets `dcs-restores run` start before dlt is imported.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from . import log
from .backup_plan import backup_begins
from .client import DcsClient
from .cursors import requested_begin, restore_begins
from .errors import DcsNotFound
from .ids import valid_instance_id
from .paging import iter_backup_pages, iter_restore_pages, list_instances
from .reader import Pages, read_instances
from .stats import REQUEST_COUNTERS, ExtractStats
from .validation import SourceSettings

# records and body bytes kept at most: the early reads stop beyond either (an early start is
# worth a few seconds of requests, not the memory of a whole first run or of huge bodies)
MAX_KEPT_ROWS = 50_000
MAX_KEPT_BYTES = 32 * 1024 * 1024


class Prefetch:
    """Reads of one project begun ahead of its extract."""

    def __init__(self, settings: SourceSettings, cursors: Mapping[str, Mapping[str, Any]]) -> None:
        self.settings = settings
        self.cursors = cursors
        self.client = DcsClient(settings)
        self.kept: dict[str, Any] = {}
        self.rows = 0
        self.bytes = 0
        self.halt = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        # `halt` also ends the listing between its pages (the client raises Cancelled)
        self.client.keep_answers(self._keep, self.halt)

    def _keep(self, url: str, answer: Any, size: int) -> None:
        found = answer.values() if isinstance(answer, dict) else ()
        rows = sum(len(v) for v in found if isinstance(v, list))
        with self._lock:
            self.kept[url] = answer
            self.rows += rows
            self.bytes += size
            if self.rows >= MAX_KEPT_ROWS or self.bytes >= MAX_KEPT_BYTES:
                self.halt.set()

    def start(self) -> None:
        thread = threading.Thread(target=self._run, name="dcs-prefetch", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _run(self) -> None:
        try:
            settings = self.settings
            listed = list_instances(self.client, settings.page_size)
            self._drain(*reads(settings, listed, self.cursors))
        except Exception:  # the run reads it again and reports what it finds
            self.halt.set()

    def _drain(self, order: list[tuple[str, datetime | None]], pages: Pages) -> None:
        settings = self.settings
        for event in read_instances(
            self.client, order, settings.page_size, settings.concurrency, self.halt, pages
        ):
            if event.error is not None and not isinstance(event.error, DcsNotFound):
                # a failure stops the early reads: the run tries again with its retries
                self.halt.set()

    def take(
        self, settings: SourceSettings, stats: ExtractStats, stop: threading.Event
    ) -> DcsClient | None:
        """Stop reading ahead and hand the client over, with its answers, if `settings` are
        the ones it read with; otherwise None (with the same endpoint and credentials, the
        run's own client is told what they refused: a refused key is never sent again)."""
        self.halt.set()
        # no deadline: each early request is one attempt, ended by its own deadline, and none
        # may still be sending once the run has the client
        for thread in self._threads:
            thread.join()
        log.flush()
        if settings == self.settings:
            with self._lock:
                kept, self.kept = self.kept, {}
            self.client.answer_from(kept, settings, stats, stop)
            return self.client
        # counted all the same: the summary says how many requests were sent
        for counter in REQUEST_COUNTERS:
            stats.count(counter, getattr(self.client.stats, counter))
        same_key = (settings.endpoint, settings.credentials) == (
            self.settings.endpoint,
            self.settings.credentials,
        )
        if not same_key:
            return None
        client = DcsClient(settings, stats=stats, stop=stop)
        client.inherit_refusals(self.client)
        return client


def reads(
    settings: SourceSettings,
    listed: list[dict[str, Any]],
    cursors: Mapping[str, Mapping[str, Any]],
) -> tuple[list[tuple[str, datetime | None]], Pages]:
    """A run's reads of restores and backups, as one plan for one pool of readers: the
    (key, begin) of each read, with the run's plan functions, and the `pages` that reads a key.

    An instance's two reads are side by side, as the run's two reads go through the instances
    together; `listed` is the instance listing, `cursors` those of the last run by kind.
    """
    ids = (
        list(settings.instance_ids)
        if settings.instance_ids is not None
        else [str(i["instance_id"]) for i in listed if valid_instance_id(i["instance_id"])]
    )
    now, lookback, start_date = datetime.now(UTC), settings.lookback, settings.start_date
    restores = cursors.get("restores", {})
    plans: list[tuple[Pages, dict[str, Any]]] = [
        (iter_restore_pages, restore_begins(restores, ids, now, lookback, start_date, {}))
    ]
    if settings.backups:
        backups = cursors.get("backups", {})
        begins = backup_begins(backups, ids, now, lookback, start_date, {})
        plans.append((iter_backup_pages, begins))
    order = [
        (f"{kind}:{iid}", requested_begin(begins[iid][0]))
        for iid in ids
        for kind, (_, begins) in enumerate(plans)
        if iid in begins
    ]

    def pages(client: DcsClient, key: str, begin: datetime | None, size: int) -> Any:
        kind, _, instance_id = key.partition(":")
        return plans[int(kind)][0](client, instance_id, begin, size)

    return order, pages


_started: Prefetch | None = None
_started_lock = threading.Lock()


def start(settings: SourceSettings, cursors: Mapping[str, Mapping[str, Any]]) -> Prefetch:
    """Begin reading ahead for `settings` (one per process: the run's one project)."""
    global _started
    prefetch = Prefetch(settings, cursors)
    with _started_lock:
        _started = prefetch
    prefetch.start()
    return prefetch


def take(settings: SourceSettings, stats: ExtractStats, stop: threading.Event) -> DcsClient | None:
    """The client that read ahead for `settings`, once; None if nothing was started."""
    global _started
    with _started_lock:
        prefetch, _started = _started, None
    return None if prefetch is None else prefetch.take(settings, stats, stop)
