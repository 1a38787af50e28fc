"""Offset/limit paging over the DCS list APIs (instances, restores)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from .client import DcsApiError, DcsClient
from .settings import BEGIN_TIME_FORMAT, INSTANCES_PATH, MAX_PAGES, RESTORES_PATH


def format_begin_time(value: datetime) -> str:
    """Return `value` as the API's `yyyyMMddHHmmss` in UTC."""
    return value.astimezone(UTC).strftime(BEGIN_TIME_FORMAT)


def _items(body: Any, key: str, where: str) -> list[Any]:
    if body is None:
        return []  # 204 No Content
    if not isinstance(body, dict):
        raise DcsApiError(f"{where}: HTTP 200 body is not a JSON object", code="malformed_body")
    items = body.get(key)
    if items is None:
        return []
    if not isinstance(items, list):
        raise DcsApiError(f"{where}: {key} is not a list", code="malformed_body")
    return items


def iter_pages(
    client: DcsClient,
    path: str,
    key: str,
    page_size: int,
    params: dict[str, Any] | None = None,
    instance_id: str | None = None,
) -> Iterator[list[Any]]:
    """Yield the pages of an offset/limit list until a 204, an empty page or a short page.

    `total_num` is not trusted as a stop condition: sources disagree on whether it counts the
    page or the whole list.
    """
    offset = 0
    where = f"instance {instance_id}" if instance_id else path
    for _ in range(MAX_PAGES):
        page_params = {**(params or {}), "offset": offset, "limit": page_size}
        body = client.get(path, page_params, instance_id, list_key=key)
        items = _items(body, key, where)
        if items:
            yield items
        if len(items) < page_size:
            return
        offset += len(items)
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
