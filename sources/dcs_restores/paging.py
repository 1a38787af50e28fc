"""Offset/limit paging over the DCS list APIs (instances, restores)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from dlt.common import logger

from .client import DcsApiError, DcsClient
from .settings import BEGIN_TIME_FORMAT, INSTANCES_PATH, MAX_PAGES, RESTORES_PATH


def format_begin_time(value: datetime) -> str:
    """Return `value` as the API's `yyyyMMddHHmmss` in UTC."""
    return value.astimezone(UTC).strftime(BEGIN_TIME_FORMAT)


def _items(body: Any, key: str) -> list[Any]:
    # the client already rejected bodies that are not an object with a list under `key`
    if body is None:
        return []  # 204 No Content
    items = body.get(key)
    return items if isinstance(items, list) else []


def _more_beyond(body: Any, seen: int) -> bool:
    """Return True when `total_num` says rows exist past the `seen` ones.

    Used only after a short page: a server that caps pages below `limit` must not end the read
    early, while a `total_num` that counts the page (as some docs say) is never larger.
    """
    total = body.get("total_num") if isinstance(body, dict) else None
    return isinstance(total, int) and not isinstance(total, bool) and total > seen


def iter_pages(
    client: DcsClient,
    path: str,
    key: str,
    page_size: int,
    params: dict[str, Any] | None = None,
    instance_id: str | None = None,
) -> Iterator[list[Any]]:
    """Yield the pages of an offset/limit list until a 204, an empty page or the last page.

    A short page is the last one unless `total_num` counts more rows than read so far: sources
    disagree on whether `total_num` counts the page or the whole list, so it never stops a read,
    it can only extend one.
    """
    offset = 0
    where = f"instance {instance_id}" if instance_id else path
    warned = False
    for _ in range(MAX_PAGES):
        page_params = {**(params or {}), "offset": offset, "limit": page_size}
        body = client.get(path, page_params, instance_id, list_key=key)
        items = _items(body, key)
        if not items:
            return
        yield items
        offset += len(items)
        if len(items) < page_size:
            if not _more_beyond(body, offset):
                return
            if not warned:
                warned = True
                logger.warning(
                    f"{where}: the API answered {len(items)} rows for limit={page_size} and "
                    f"total_num={body.get('total_num')}; paging on with its page size"
                )
    raise DcsApiError(f"{where}: more than {MAX_PAGES} pages, stopping", code="too_many_pages")


def list_instances(client: DcsClient, page_size: int) -> list[dict[str, Any]]:
    """Return every instance of the project, de-duplicated on instance_id."""
    path = INSTANCES_PATH.format(project_id=client.project_id)
    seen: dict[str, dict[str, Any]] = {}
    for page in iter_pages(client, path, "instances", page_size):
        for item in page:
            if isinstance(item, dict) and item.get("instance_id"):
                seen.setdefault(str(item["instance_id"]), item)
    return list(seen.values())


def iter_restore_pages(
    client: DcsClient, instance_id: str, begin: datetime | None, page_size: int
) -> Iterator[list[Any]]:
    """Yield the raw restore records of one instance created at or after `begin`, page by page."""
    path = RESTORES_PATH.format(project_id=client.project_id, instance_id=instance_id)
    params = {"begin_time": format_begin_time(begin)} if begin else {}
    yield from iter_pages(client, path, "restore_record_response", page_size, params, instance_id)
