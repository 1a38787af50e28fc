"""One extract of one project: the listing, the plans, the stop signal, statistics, batching.

`__init__.py` turns an `Extract` into dlt resources; everything here runs only while dlt
extracts them, never when the source is created.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import dlt
from dlt.common import logger
from dlt.common.typing import TDataItems

from . import prefetch
from .backup_plan import BACKUP_KNOWN_STATUSES, backup_begins
from .backup_records import shape_backup
from .batches import ArrowBatcher
from .client import DcsClient, credential_failure
from .columns import (
    BACKUP_COLUMNS,
    BACKUPS_REJECTED_HINTS,
    LOADER_FILE_FORMAT,
    REJECTED_HINTS,
    RESTORE_COLUMNS,
)
from .configuration import SourceSettings
from .cursors import Begins, CursorTracker, requested_begin, restore_begins
from .errors import Cancelled, DcsApiError, DcsAuthError, DcsNotFound, RecordError, one_line
from .fingerprint import KnownRows, RowDigest, already_stored
from .ids import shown, valid_instance_id
from .paging import iter_backup_pages, iter_restore_pages, list_instances
from .reader import Pages, read_instances
from .records import Rejected, rejected_row, shape_instance, shape_restore
from .settings import INSTANCE_DELETED_CODE, KNOWN_STATUSES
from .stats import ExtractStats
from .values import values_set_aside

PROGRESS_EVERY_S = 2.0
# instances failing one after the other mean the API is down: stop starting more
FAILURES_TO_STOP = 5

Progress = Callable[[str], None]


@dataclass
class _Planned:
    """One instance of the plan: where its read begins and what it has seen so far."""

    begin: datetime | None
    tracker: CursorTracker


class ReadCounts(Protocol):
    """The figures one kind of record counts into (ExtractStats, or its `backups`)."""

    instances_planned: int
    instances_read: int
    instances_skipped: list[str]
    failures: list[DcsApiError]
    pages: int
    rows: int
    unchanged: int
    rejected: int
    unknown_status: int


@dataclass(frozen=True)
class RecordKind:
    """What differs between reading restores and reading backups."""

    name: str
    pages: Pages
    shape: Callable[[Any, str, str], dict[str, Any]]
    columns: dict[str, Any]
    rejected_hints: Any
    id_key: str
    known_statuses: frozenset[str]
    digest: RowDigest
    begins: Begins


RESTORES = RecordKind(
    "restores",
    iter_restore_pages,
    shape_restore,
    RESTORE_COLUMNS,
    REJECTED_HINTS,
    "restore_id",
    KNOWN_STATUSES,
    RowDigest(RESTORE_COLUMNS),
    restore_begins,
)
BACKUPS = RecordKind(
    "backups",
    iter_backup_pages,
    shape_backup,
    BACKUP_COLUMNS,
    BACKUPS_REJECTED_HINTS,
    "backup_id",
    BACKUP_KNOWN_STATUSES,
    RowDigest(BACKUP_COLUMNS),
    backup_begins,
)


class Extract:
    """One extract of one project, from the instance listing to the last restores and backups
    pages.

    The client, its stop signal and the plan are made when the listing starts, so a source
    object extracted twice starts afresh; every resource counts into the one `stats`.
    """

    def __init__(
        self,
        settings: SourceSettings,
        stats: ExtractStats,
        progress: Progress | None = None,
        open_since: Mapping[str, datetime] | None = None,
        open_backups_since: Mapping[str, datetime] | None = None,
        known: KnownRows | None = None,
    ) -> None:
        self.settings = settings
        self.stats = stats
        self.progress = progress
        self.open_since = dict(open_since or {})
        self.open_backups_since = dict(open_backups_since or {})
        # not copied: the runner's maps are read-only here, and may hold ~100,000 ids
        self.known = known or KnownRows()
        self.stop = threading.Event()
        self.client: DcsClient | None = None
        self.instance_ids: list[str] = []

    # --- instances ---------------------------------------------------------------------------

    def instances(self) -> list[dict[str, Any]]:
        """List the project's instances (the first requests) and return their rows.

        Raises:
            DcsApiError: the listing failed: nothing of this project can be read.
        """
        self.stop = threading.Event()
        # the client that began reading while the run was set up, if one did (prefetch.py)
        self.client = prefetch.take(self.settings, self.stats, self.stop) or DcsClient(
            self.settings, stats=self.stats, stop=self.stop
        )
        settings = self.settings
        listed = self._readable(list_instances(self.client, settings.page_size))
        self.stats.instances_listed = len(listed)
        if settings.instance_ids is None:
            self.instance_ids = [str(item["instance_id"]) for item in listed]
        else:
            self.instance_ids = list(settings.instance_ids)
            listed = [item for item in listed if str(item["instance_id"]) in settings.instance_ids]
            missing = set(self.instance_ids) - {str(item["instance_id"]) for item in listed}
            if missing:
                # still read them: the listing may be filtered by enterprise project or rights
                logger.warning(
                    f"configured instances not in the listing: {', '.join(sorted(missing))}"
                )
                listed += [{"instance_id": instance_id} for instance_id in sorted(missing)]
        set_aside = values_set_aside()
        rows = [instance_row(item, settings) for item in listed]
        self.stats.values_set_aside += values_set_aside() - set_aside
        changed = [r for r in rows if not already_stored(r, self.known.instances, "instance_id")]
        self.stats.instances_unchanged += len(rows) - len(changed)
        return changed

    def _readable(self, listed: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The listed instances whose id can be read; the others are set aside as failures."""
        kept = []
        for item in listed:
            instance_id = item.get("instance_id")
            if valid_instance_id(instance_id):
                kept.append(item)
                continue
            self.stats.failures.append(
                DcsApiError(
                    f"instance listing: instance id {shown(instance_id)} is not a DCS instance "
                    "id; that instance is set aside (never put into a URL)",
                    code="invalid_id",
                    instance_id=shown(instance_id),
                )
            )
        return kept

    # --- restores and backups ---------------------------------------------------------------------

    def restores(self, cursors: dict[str, Any]) -> Iterator[TDataItems]:
        """Read every planned instance; an instance's cursor in `cursors` moves only once it
        has been read to the end. Yields rows, Arrow tables and quarantined records."""
        plan = self._plan(RESTORES, cursors, self.open_since, self.stats)
        yield from self._read(RESTORES, plan, cursors, self.stats, self.known.restores)

    def backups(self, cursors: dict[str, Any]) -> Iterator[TDataItems]:
        """Like `restores`, for the backups of every instance, with their own cursors; an
        instance whose backups read fails is set aside alone (its restores are not)."""
        counts = self.stats.backups
        plan = self._plan(BACKUPS, cursors, self.open_backups_since, counts)
        yield from self._read(BACKUPS, plan, cursors, counts, self.known.backups)

    def _plan(
        self,
        kind: RecordKind,
        cursors: Mapping[str, Any],
        open_since: Mapping[str, datetime],
        counts: ReadCounts,
    ) -> dict[str, _Planned]:
        """Where each listed instance's read of `kind` begins, from its cursor and its oldest
        open record (see cursors.py, backup_plan.py)."""
        settings = self.settings
        begins = kind.begins(
            cursors,
            self.instance_ids,
            datetime.now(UTC),
            settings.lookback,
            settings.start_date,
            open_since,
        )
        counts.instances_planned = len(begins)
        return {iid: _Planned(begin, tracker) for iid, (begin, tracker) in begins.items()}

    def _read(
        self,
        kind: RecordKind,
        planned: dict[str, _Planned],
        cursors: dict[str, Any],
        counts: ReadCounts,
        known: Mapping[str, str],
    ) -> Iterator[TDataItems]:
        if self.client is None:
            raise RuntimeError(f"Extract.{kind.name}() before Extract.instances()")
        set_aside = values_set_aside()
        try:
            yield from self._records(kind, planned, self.client, cursors, counts, known)
        except BaseException:
            # the consumer went away (an error, Ctrl-C): requests of every read end now
            self.stop.set()
            raise
        finally:
            self.stats.values_set_aside += values_set_aside() - set_aside

    def _records(
        self,
        kind: RecordKind,
        planned: dict[str, _Planned],
        client: DcsClient,
        cursors: dict[str, Any],
        counts: ReadCounts,
        known: Mapping[str, str],
    ) -> Iterator[TDataItems]:
        # garbage with finalizers (dlt's DuckDB connection pools of the state sync) is
        # collected now, not while the readers run: a Ctrl-C that lands in a finalizer is
        # swallowed by Python ("Exception ignored in ... __del__"), and the run would go on
        gc.collect()
        order = [(iid, requested_begin(p.begin)) for iid, p in planned.items()]
        stats, settings = self.stats, self.settings
        last_report = time.monotonic()
        batcher: ArrowBatcher | None = None
        arrow = LOADER_FILE_FORMAT == "parquet"
        failed_in_a_row = 0
        stopped_by: DcsApiError | None = None
        # this read's own stop: its end must not stop the other kind's read; the run's stop
        # (self.stop, which the client watches) ends both
        done = threading.Event()
        events = read_instances(
            client, order, settings.page_size, settings.concurrency, done, kind.pages
        )
        for event in events:
            instance = planned[event.instance_id]
            if event.items is not None:
                counts.pages += 1
                rows, rejected = self._page(
                    kind, event.instance_id, event.items, instance, counts, known
                )
                if arrow and batcher is None and rows:
                    # made once the readers run: its imports take ~0.4 s, while the buffer
                    # fills; a read whose rows are all unchanged never needs them
                    batcher = ArrowBatcher(kind.columns)
                if batcher is not None:
                    tables, rows = batcher.add_page(rows)
                    yield from tables
                if rows:
                    yield rows
                if rejected:
                    yield dlt.mark.with_hints(
                        rejected, kind.rejected_hints, create_table_variant=True
                    )
            elif event.error is None:
                cursors[event.instance_id] = instance.tracker.result().to_state()
                counts.instances_read += 1
                failed_in_a_row = 0
            elif isinstance(event.error, Cancelled):
                pass
            elif isinstance(event.error, DcsNotFound) and event.error.code == INSTANCE_DELETED_CODE:
                logger.warning(f"{event.error}; the instance was deleted, skipping it")
                counts.instances_skipped.append(event.instance_id)
            elif isinstance(event.error, Exception):
                # that instance is set aside: what it read still loads, its cursor stays put
                cause = failure = instance_failure(event.instance_id, event.error)
                if kind.name == BACKUPS.name:
                    failure = backups_failure(cause)
                logger.warning(str(failure))
                counts.failures.append(failure)
                failed_in_a_row += 1
                if credential_failure(failure) or (
                    kind.name != BACKUPS.name
                    and (systemic(failure) or failed_in_a_row >= FAILURES_TO_STOP)
                ):
                    # refused credentials, or the restores API failing: stop the whole run
                    self.stop.set()
                    done.set()
                elif stopped_by is None and (
                    systemic(failure) or failed_in_a_row >= FAILURES_TO_STOP
                ):
                    # the backups route, not one instance, is failing: the backups of this
                    # target are set aside as one unit, the restores read goes on
                    stopped_by = cause
                    done.set()
            else:
                self.stop.set()
                raise event.error  # KeyboardInterrupt, SystemExit: the process is ending
            if self.progress and time.monotonic() - last_report >= PROGRESS_EVERY_S:
                last_report = time.monotonic()
                self.progress(
                    f"{kind.name}: {counts.instances_read}/{counts.instances_planned} instances, "
                    f"{counts.rows} rows, {stats.requests} requests"
                )
        if batcher is not None:
            yield from batcher.flush()
        if stopped_by is not None:
            counts.failures.insert(0, self._kind_set_aside(kind, stopped_by, counts))

    def _kind_set_aside(
        self, kind: RecordKind, cause: DcsApiError, counts: ReadCounts
    ) -> DcsApiError:
        """The first line of a target whose backups were set aside as a whole: which, why."""
        unread = counts.instances_planned - counts.instances_read - len(counts.instances_skipped)
        why = (
            "the same answer for every instance"
            if systemic(cause)
            else f"{FAILURES_TO_STOP} instances failed in a row"
        )
        return DcsApiError(
            f"{kind.name} of project {self.settings.project_id}: {cause_line(cause)} ({why}); "
            f"the {kind.name} read stopped: the {kind.name} of {unread} of "
            f"{counts.instances_planned} instances are set aside (their cursors stay), the "
            "restores are read and loaded",
            status=cause.status,
            code=cause.code,
        )

    def _page(
        self,
        kind: RecordKind,
        instance_id: str,
        items: list[Any],
        instance: _Planned,
        counts: ReadCounts,
        known: Mapping[str, str],
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Shape one page: the rows to load, and the quarantine rows of records set aside.

        A row whose digest equals the one `known` holds for its id is stored exactly so
        already: it is counted as unchanged, not loaded (its cursor moves all the same).
        """
        settings, begin = self.settings, instance.begin
        rows, rejected = [], []
        unchanged = 0
        for raw in items:
            try:
                row = kind.shape(raw, settings.project_id, instance_id)
            except RecordError as exc:  # shaping raises nothing else
                rejected.append(
                    rejected_row(
                        Rejected(str(exc), raw), settings.project_id, instance_id, kind.id_key
                    )
                )
                continue
            row["endpoint"] = settings.endpoint
            if begin is not None and row["created_at"] < begin:
                continue  # before the window (margin, or a server ignoring begin_time)
            if row["status"] not in kind.known_statuses:
                counts.unknown_status += 1
            instance.tracker.observe(row["created_at"], row["status"])
            if already_stored(row, known, kind.id_key, kind.digest):
                unchanged += 1
                continue
            rows.append(row)
        counts.rows += len(rows) + unchanged
        counts.unchanged += unchanged
        counts.rejected += len(rejected)
        return rows, rejected


def instance_row(item: dict[str, Any], settings: SourceSettings) -> dict[str, Any]:
    """The `instances` row of one listed instance."""
    # shape_instance never raises: odd fields become NULL, named in invalid_fields
    return shape_instance(item, settings.project_id) | {"endpoint": settings.endpoint}


def instance_failure(instance_id: str, error: BaseException) -> DcsApiError:
    """One line for an instance whose read ended with an error (named by this instance)."""
    if isinstance(error, DcsApiError):
        if error.instance_id == instance_id:
            return error
        # never another instance's id (nor none): the failure belongs to the instance read
        text, own = cause_line(error), f"instance {instance_id}: "
        return type(error)(
            own + (text[len(own) :] if text.startswith(own) else text),
            status=error.status,
            code=error.code,
            instance_id=instance_id,
        )
    return DcsApiError(
        f"instance {instance_id}: unexpected {type(error).__name__}: "
        f"{one_line(error, 200) if str(error).strip() else ''}; what was read is loaded, "
        "the cursor stays",
        code="unexpected_error",
        instance_id=instance_id,
    )


def cause_line(error: DcsApiError) -> str:
    """The failure without the `instance X: ` it starts with."""
    text = one_line(error, 400)
    prefix = f"instance {error.instance_id}: "
    return text[len(prefix) :] if error.instance_id and text.startswith(prefix) else text


def backups_failure(error: DcsApiError) -> DcsApiError:
    """The same failure, saying that only the instance's backups are set aside."""
    failure = type(error)(
        f"backups of {error}; that instance's backups are set aside (their cursor stays), "
        "its restores are not",
        status=error.status,
        code=error.code,
        instance_id=error.instance_id,
    )
    return failure


def systemic(error: DcsApiError) -> bool:
    """True for answers that no other instance will get differently: bad credentials, or a
    gateway without the route (a wrong endpoint)."""
    if isinstance(error, DcsAuthError):
        return True
    return isinstance(error, DcsNotFound) and not (error.code or "").startswith("DCS.")
