"""dlt source for DCS restore records: tables `instances`, `restores` and `restores_rejected`."""

from __future__ import annotations

import importlib.util
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import dlt
from dlt.common import logger
from dlt.common.schema.typing import TFileFormat
from dlt.common.typing import TDataItems
from dlt.extract.resource import DltResource

from .batches import DLT_COLUMNS, ArrowBatcher
from .client import Cancelled, DcsApiError, DcsAuthError, DcsClient, DcsNotFound
from .config import ConfigError, SourceSettings, load_settings
from .cursors import CursorTracker, InstanceCursor, begin_time, requested_begin
from .ids import shown, valid_instance_id
from .paging import list_instances
from .reader import read_instances
from .records import RecordError, Rejected, rejected_row, shape_instance, shape_restore
from .settings import KNOWN_STATUSES, SECTION, SOURCE_NAME

__all__ = [
    "ConfigError",
    "DcsApiError",
    "DcsAuthError",
    "ExtractStats",
    "SourceSettings",
    "dcs_restores",
    "load_settings",
]

RESTORE_COLUMNS: dict[str, Any] = {
    "restore_id": {"data_type": "text", "nullable": False, "primary_key": True},
    "project_id": {"data_type": "text"},
    "instance_id": {"data_type": "text"},
    # which API the row came from, so several regions can share one table
    "endpoint": {"data_type": "text"},
    "backup_id": {"data_type": "text"},
    "backup_name": {"data_type": "text"},
    "restore_name": {"data_type": "text"},
    "restore_remark": {"data_type": "text"},
    "backup_remark": {"data_type": "text"},
    "status": {"data_type": "text"},
    "error_code": {"data_type": "text"},
    "progress": {"data_type": "double"},
    "created_at": {"data_type": "timestamp", "timezone": True},
    # the newest copy of a restore read twice in one run (offset drift) wins
    "updated_at": {"data_type": "timestamp", "timezone": True, "dedup_sort": "desc"},
    # values set aside while shaping, with the reasons; NULL for a clean row (see records.py)
    "invalid_fields": {"data_type": "text"},
}
INSTANCE_COLUMNS: dict[str, Any] = {
    "instance_id": {"data_type": "text", "nullable": False, "primary_key": True},
    "project_id": {"data_type": "text"},
    "endpoint": {"data_type": "text"},
    "name": {"data_type": "text"},
    "engine": {"data_type": "text"},
    "engine_version": {"data_type": "text"},
    "status": {"data_type": "text"},
    "created_at": {"data_type": "timestamp", "timezone": True},
    "updated_at": {"data_type": "timestamp", "timezone": True},
    # often empty; typed here so the columns exist from the first load on
    "description": {"data_type": "text"},
    "readonly_domain_name": {"data_type": "text"},
    "domain_name": {"data_type": "text"},
    "capacity_minor": {"data_type": "text"},
    "tags": {"data_type": "json"},
    "features": {"data_type": "json"},
    "az_codes": {"data_type": "json"},
}
REJECTED_HINTS = dlt.mark.make_hints(
    table_name="restores_rejected",
    write_disposition="merge",
    primary_key="record_hash",
    columns={
        "record_hash": {"data_type": "text", "nullable": False},
        # a table variant starts from the `restores` hints: restore_id must not stay its
        # non-null primary key here, where it is only known for some records
        "restore_id": {"data_type": "text", "nullable": True, "primary_key": False},
        "project_id": {"data_type": "text"},
        "instance_id": {"data_type": "text"},
        "reason": {"data_type": "text"},
        "raw_record": {"data_type": "text"},
        "rejected_at": {"data_type": "timestamp", "timezone": True},
    },
)
PROGRESS_EVERY_S = 2.0
# instances failing one after the other mean the API is down: stop starting more
FAILURES_TO_STOP = 5
# DuckDB parses dlt's default INSERT ... VALUES files slowly and with ~25 KB of memory per row
# (100,000 rows: 25 s and 2.6 GB); it reads parquet natively (0.8 s). jsonl would need no
# pyarrow, but DuckDB's read_json fails on a key first seen after its 20,480-row sample.
# Destinations without parquet (PostgreSQL) fall back to their own format, with a warning.
LOADER_FILE_FORMAT: TFileFormat = "parquet" if importlib.util.find_spec("pyarrow") else "preferred"


@dataclass
class ExtractStats:
    """What one extract did, for the run summary."""

    instances_listed: int | None = None
    instances_planned: int = 0
    instances_read: int = 0
    instances_skipped: list[str] = field(default_factory=list)
    failures: list[DcsApiError] = field(default_factory=list)
    pages: int = 0
    rows: int = 0
    rejected: int = 0
    unknown_status: int = 0
    client: DcsClient | None = None

    @property
    def requests(self) -> int:
        return self.client.stats["requests"] if self.client else 0

    @property
    def retries(self) -> int:
        return self.client.stats["retries"] if self.client else 0


def _shape(
    raw: Any, settings: SourceSettings, instance_id: str
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Return (row, None), or (None, quarantine row): shaping raises nothing but RecordError."""
    try:
        return shape_restore(raw, settings.project_id, instance_id), None
    except RecordError as exc:
        quarantined = rejected_row(Rejected(str(exc), raw), settings.project_id, instance_id)
        return None, quarantined


def _instance_failure(instance_id: str, error: BaseException) -> DcsApiError:
    """One line for an instance whose read ended with an error that is not an API answer."""
    if isinstance(error, DcsApiError):
        return error
    return DcsApiError(
        f"instance {instance_id}: unexpected {type(error).__name__}: "
        f"{str(error).splitlines()[0][:200] if str(error) else ''}; what was read is loaded, "
        "the cursor stays",
        code="unexpected_error",
        instance_id=instance_id,
    )


def _systemic(error: DcsApiError) -> bool:
    """True for answers that no other instance will get differently: bad credentials, or a
    gateway without the route (a wrong endpoint)."""
    if isinstance(error, DcsAuthError):
        return True
    return isinstance(error, DcsNotFound) and not (error.code or "").startswith("DCS.")


def _restores(
    client: DcsClient,
    settings: SourceSettings,
    instance_ids: list[str],
    stats: ExtractStats,
    progress: Callable[[str], None] | None,
    open_since: Mapping[str, datetime],
) -> Iterator[TDataItems]:
    cursors: dict[str, Any] = dlt.current.resource_state().setdefault("cursors", {})
    trackers: dict[str, tuple[CursorTracker, Any]] = {}
    plan = []
    now = datetime.now(UTC)
    for instance_id in instance_ids:
        previous = InstanceCursor.from_state(cursors.get(instance_id), now)
        begin = begin_time(
            previous, settings.lookback, settings.start_date, open_since.get(instance_id)
        )
        trackers[instance_id] = (CursorTracker(previous, now), begin)
        plan.append((instance_id, requested_begin(begin)))
    stats.instances_planned = len(plan)
    stop = threading.Event()
    last_report = time.monotonic()
    batcher: ArrowBatcher | None = None
    arrow = LOADER_FILE_FORMAT == "parquet"
    failed_in_a_row = 0
    for event in read_instances(client, plan, settings.page_size, settings.concurrency, stop):
        if arrow and batcher is None:
            # made once the readers run: its imports take ~0.4 s, while the buffer takes pages
            batcher = ArrowBatcher(RESTORE_COLUMNS)
        tracker, begin = trackers[event.instance_id]
        if event.items is not None:
            stats.pages += 1
            rows, rejected = [], []
            for raw in event.items:
                row, quarantined = _shape(raw, settings, event.instance_id)
                if row is None:
                    rejected.append(quarantined)
                    continue
                row["endpoint"] = settings.endpoint
                if begin is not None and row["created_at"] < begin:
                    continue  # before the window (margin, or a server ignoring begin_time)
                if row["status"] not in KNOWN_STATUSES:
                    stats.unknown_status += 1
                tracker.observe(row["created_at"], row["status"])
                rows.append(row)
            stats.rows += len(rows)
            stats.rejected += len(rejected)
            if batcher is not None:
                unusual = []
                for row in rows:
                    if batcher.fits(row):
                        yield from batcher.add(row)
                    else:
                        unusual.append(row)
                rows = unusual
            if rows:
                yield rows
            if rejected:
                yield dlt.mark.with_hints(rejected, REJECTED_HINTS, create_table_variant=True)
        elif event.error is None:
            # the cursor moves only once an instance has been read to the end
            cursors[event.instance_id] = tracker.result().to_state()
            stats.instances_read += 1
            failed_in_a_row = 0
        elif isinstance(event.error, Cancelled):
            pass
        elif isinstance(event.error, DcsNotFound) and event.error.code == "DCS.3022":
            logger.warning(f"{event.error}; the instance was deleted, skipping it")
            stats.instances_skipped.append(event.instance_id)
        elif isinstance(event.error, Exception):
            # that instance is set aside: what it read still loads, its cursor stays put
            failure = _instance_failure(event.instance_id, event.error)
            logger.warning(str(failure))
            stats.failures.append(failure)
            failed_in_a_row += 1
            if _systemic(failure) or failed_in_a_row >= FAILURES_TO_STOP:
                # the API, not one instance, is failing: stop starting the others
                stop.set()
        else:
            stop.set()
            raise event.error  # KeyboardInterrupt, SystemExit: the process is ending
        if progress and time.monotonic() - last_report >= PROGRESS_EVERY_S:
            last_report = time.monotonic()
            progress(
                f"restores: {stats.instances_read}/{stats.instances_planned} instances, "
                f"{stats.rows} rows, {stats.requests} requests"
            )
    if batcher is not None:
        yield from batcher.flush()


def _readable(listed: list[dict[str, Any]], stats: ExtractStats) -> list[dict[str, Any]]:
    """The listed instances whose id can be read; the others are set aside as failures."""
    kept = []
    for item in listed:
        instance_id = item.get("instance_id")
        if valid_instance_id(instance_id):
            kept.append(item)
            continue
        stats.failures.append(
            DcsApiError(
                f"instance listing: instance id {shown(instance_id)} is not a DCS instance id; "
                "that instance is set aside (never put into a URL)",
                code="invalid_id",
                instance_id=shown(instance_id),
            )
        )
    return kept


def _instance_row(item: dict[str, Any], settings: SourceSettings) -> dict[str, Any]:
    # shape_instance never raises: odd fields become NULL, named in invalid_fields
    return shape_instance(item, settings.project_id) | {"endpoint": settings.endpoint}


@dlt.source(name=SOURCE_NAME, section=SECTION, max_table_nesting=0)
def dcs_restores(
    settings: Any = None,
    stats: Any = None,
    progress: Any = None,
    open_since: Any = None,
) -> list[DltResource]:
    """Restore records of every instance of one DCS project.

    Args:
        settings: validated `SourceSettings`; resolved from `[sources.dcs_restores]` when None.
        stats: an `ExtractStats` to fill in for the run summary.
        progress: called with a one-line progress message every few seconds.
        open_since: instance_id -> created_at of its oldest restore the destination holds as
            open: the read reaches back to it, whatever the last read showed.

    Returns:
        Resources `instances` (merge on instance_id) and `restores` (merge on restore_id,
        one created_at cursor per instance in the resource state).
    """
    settings = settings or load_settings()
    stats = stats if stats is not None else ExtractStats()
    client = DcsClient(settings)
    stats.client = client
    listed = _readable(list_instances(client, settings.page_size), stats)
    stats.instances_listed = len(listed)
    if settings.instance_ids is None:
        instance_ids = [str(item["instance_id"]) for item in listed]
    else:
        instance_ids = list(settings.instance_ids)
        listed = [item for item in listed if str(item["instance_id"]) in settings.instance_ids]
        missing = set(instance_ids) - {str(item["instance_id"]) for item in listed}
        if missing:
            # still read them: the listing may be filtered by enterprise project or permissions
            logger.warning(f"configured instances not in the listing: {', '.join(sorted(missing))}")
            listed += [{"instance_id": instance_id} for instance_id in sorted(missing)]

    def instances() -> Iterator[TDataItems]:
        if listed:
            yield [_instance_row(item, settings) for item in listed]

    def restores() -> Iterator[TDataItems]:
        yield from _restores(client, settings, instance_ids, stats, progress, open_since or {})

    return [
        dlt.resource(
            instances,
            name="instances",
            write_disposition="merge",
            primary_key="instance_id",
            columns=INSTANCE_COLUMNS,
            file_format=LOADER_FILE_FORMAT,
        ),
        dlt.resource(
            restores,
            name="restores",
            write_disposition="merge",
            primary_key="restore_id",
            columns=RESTORE_COLUMNS | DLT_COLUMNS,
            file_format=LOADER_FILE_FORMAT,
        ),
    ]


__all__ += ["DcsNotFound", "RecordError"]
