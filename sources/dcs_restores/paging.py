"""Offset/limit paging over the DCS list APIs (instances, restores, backups), bounded.

Pages overlap by a few rows. The last row of a page must show up again in the next one: when
it does not, rows moved under the reader (restores deleted while it paged shift the later ones
to lower offsets, past the reader) and the read starts over, a bounded number of times. A page
that brings nothing new (a server that ignores `offset`) ends the read as malformed, and the
page count is bounded by what `total_num` says the list holds.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from . import log as logger
from .backup_plan import BACKUPS_PATH
from .client import DcsClient
from .errors import DcsApiError
from .ids import valid_instance_id
from .settings import (
    BEGIN_TIME_FORMAT,
    INSTANCES_PATH,
    MAX_PAGES,
    MAX_READ_RESTARTS,
    RESTORES_PATH,
    page_overlap,
)


def format_begin_time(value: datetime) -> str:
    """Return `value` as the API's `yyyyMMddHHmmss` in UTC."""
    return value.astimezone(UTC).strftime(BEGIN_TIME_FORMAT)


def _items(body: Any, key: str) -> list[Any]:
    # the client already rejected bodies that are not an object with a list under `key`
    if body is None:
        return []  # 204 No Content
    items = body.get(key)
    return items if isinstance(items, list) else []


def _total(body: Any) -> int | None:
    total = body.get("total_num") if isinstance(body, dict) else None
    return total if isinstance(total, int) and not isinstance(total, bool) else None


def _identity(item: Any, id_key: str) -> Any:
    """What recognises a row on the next page: its id, or the whole record if it has none."""
    if isinstance(item, dict):
        value = item.get(id_key)
        if isinstance(value, str) and value:
            return value
    return item


class RowsMoved(Exception):
    """The rows shifted between two pages; the read starts over."""


def _read_once(
    client: DcsClient,
    path: str,
    key: str,
    id_key: str,
    page_size: int,
    params: dict[str, Any],
    instance_id: str | None,
    where: str,
) -> Iterator[list[Any]]:
    overlap = page_overlap(page_size)
    offset = 0
    read = 0  # rows handed out so far
    anchor: Any = None  # identity of the last row handed out
    max_pages = MAX_PAGES
    largest_total = 0
    warned = False
    for page_number in itertools.count(1):
        if page_number > max_pages:
            why = " although total_num says the list holds fewer rows" if largest_total else ""
            raise DcsApiError(
                f"{where}: too_many_pages: more than {max_pages} pages{why}; what was read is "
                "loaded, the next run reads again",
                code="too_many_pages",
                instance_id=instance_id,
            )
        body = client.get(path, {**params, "offset": offset, "limit": page_size}, instance_id, key)
        items = _items(body, key)
        total = _total(body)
        if total is not None and total > page_size:
            # only a grand total can exceed the page size: it bounds the pages, with room for
            # rows added while reading, whatever the API means by total_num elsewhere
            largest_total = max(largest_total, total)
            step = max(1, page_size - overlap)
            max_pages = min(MAX_PAGES, 2 * math.ceil(largest_total / step) + 10)
        if not items:
            return
        fresh = items
        if anchor is not None and overlap:
            position = next(
                (i for i, item in enumerate(items) if _identity(item, id_key) == anchor), None
            )
            if position is None:
                raise RowsMoved()
            fresh = items[position + 1 :]
            if not fresh and len(items) >= page_size:
                raise DcsApiError(
                    f"{where}: repeated_page: the API answered offset={offset} with rows already "
                    "read (it ignores offset?); what was read is loaded, the next run reads again",
                    code="repeated_page",
                    instance_id=instance_id,
                )
        if fresh:
            yield fresh
            read += len(fresh)
            anchor = _identity(fresh[-1], id_key)
        if len(items) < page_size:
            if not (total is not None and total > read):
                return
            if not warned:
                warned = True
                logger.warning(
                    f"{where}: the API answered {len(items)} rows for limit={page_size} and "
                    f"total_num={total}; paging on with its page size"
                )
        # the next page starts `overlap` rows early, so its first rows repeat this one's last
        offset = max(0, offset + len(items) - min(overlap, len(items) - 1))


def iter_pages(
    client: DcsClient,
    path: str,
    key: str,
    page_size: int,
    params: dict[str, Any] | None = None,
    instance_id: str | None = None,
    id_key: str = "restore_id",
) -> Iterator[list[Any]]:
    """Yield the new rows of each page of an offset/limit list until a 204, an empty page or
    the last page.

    A short page is the last one unless `total_num` counts more rows than read so far: sources
    disagree on whether `total_num` counts the page or the whole list, so it never stops a read
    by itself. A read whose rows moved under it starts over (rows already yielded may come
    again: the table merges on the id).

    Raises:
        DcsApiError: the rows kept moving, a page repeated, or there were too many pages.
    """
    where = f"instance {instance_id}" if instance_id else path
    for attempt in range(MAX_READ_RESTARTS + 1):
        try:
            yield from _read_once(
                client, path, key, id_key, page_size, dict(params or {}), instance_id, where
            )
            return
        except RowsMoved:
            logger.warning(
                f"{where}: rows moved between two pages (deleted or reordered while paging); "
                f"reading again from the start ({attempt + 1}/{MAX_READ_RESTARTS})"
            )
    raise DcsApiError(
        f"{where}: rows_moved: the list changed under paging on {MAX_READ_RESTARTS + 1} reads in "
        "a row; what was read is loaded, the cursor stays and the next run reads again",
        code="rows_moved",
        instance_id=instance_id,
    )


def list_instances(client: DcsClient, page_size: int) -> list[dict[str, Any]]:
    """Return every instance of the project, de-duplicated on instance_id."""
    path = INSTANCES_PATH.format(project_id=client.project_id)
    seen: dict[str, dict[str, Any]] = {}
    for page in iter_pages(client, path, "instances", page_size, id_key="instance_id"):
        for item in page:
            if isinstance(item, dict) and item.get("instance_id"):
                seen.setdefault(str(item["instance_id"]), item)
    return list(seen.values())


def restores_path(project_id: str, instance_id: str, template: str = RESTORES_PATH) -> str:
    """The restores (or `template`'s) route of one instance; the id is checked and escaped,
    never trusted."""
    if not valid_instance_id(instance_id):
        raise ValueError(f"not an instance id: {instance_id[:80]!r}")
    return template.format(project_id=project_id, instance_id=quote(instance_id, safe=""))


def iter_restore_pages(
    client: DcsClient, instance_id: str, begin: datetime | None, page_size: int
) -> Iterator[list[Any]]:
    """Yield the raw restore records of one instance created at or after `begin`, page by page."""
    path = restores_path(client.project_id, instance_id)
    params = {"begin_time": format_begin_time(begin)} if begin else {}
    yield from iter_pages(client, path, "restore_record_response", page_size, params, instance_id)


def iter_backup_pages(
    client: DcsClient, instance_id: str, begin: datetime | None, page_size: int
) -> Iterator[list[Any]]:
    """Yield the raw backup records of one instance created at or after `begin`, page by page."""
    path = restores_path(client.project_id, instance_id, BACKUPS_PATH)
    params = {"begin_time": format_begin_time(begin)} if begin else {}
    yield from iter_pages(
        client, path, "backup_record_response", page_size, params, instance_id, "backup_id"
    )
