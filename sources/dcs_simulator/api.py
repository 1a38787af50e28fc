"""DCS v2 routes of the simulator: path matching, parameter checks and response bodies."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from dcs_simulator.world import InstanceNotFound, World

_ROUTES = (
    ("instances", re.compile(r"/v2/(?P<project>[^/]+)/instances")),
    ("instance", re.compile(r"/v2/(?P<project>[^/]+)/instances/(?P<instance>[^/]+)")),
    ("restores", re.compile(r"/v2/(?P<project>[^/]+)/instances/(?P<instance>[^/]+)/restores")),
    ("backups", re.compile(r"/v2/(?P<project>[^/]+)/instances/(?P<instance>[^/]+)/backups")),
)
# the list key of each record route's answer
LIST_KEYS = {"restores": "restore_record_response", "backups": "backup_record_response"}
JSON_TYPE = "application/json;charset=UTF-8"


@dataclass
class Reply:
    """One HTTP answer; `mode` "reset" or "truncate" makes the server misbehave on purpose."""

    status: int
    payload: Any = None
    raw: bytes | None = None
    content_type: str = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    mode: str = "normal"

    def body(self) -> bytes:
        """Return the bytes to send."""
        if self.raw is not None:
            return self.raw
        if self.payload is None:
            return b""
        return json.dumps(self.payload, ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class Route:
    """What a request path asks for: "instances", "instance", "restores", "backups" or "other"."""

    kind: str
    project_id: str | None = None
    instance_id: str | None = None


class ApiError(Exception):
    """A DCS error answer: status, code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def dcs_error(status: int, code: str, message: str) -> Reply:
    """Return a DCS-shaped error reply."""
    return Reply(status, {"error_code": code, "error_msg": message, "error_ext_msg": None})


def gateway_error(status: int, code: str, message: str, request_id: str) -> Reply:
    """Return an API-Gateway-shaped error reply."""
    return Reply(status, {"error_code": code, "error_msg": message, "request_id": request_id})


def route(method: str, raw_path: str) -> Route:
    """Return the route of a request; only GET reaches the DCS routes."""
    path = unquote(raw_path.rstrip("/") or "/")
    for kind, pattern in _ROUTES:
        found = pattern.fullmatch(path)
        if found and method == "GET":
            return Route(kind, found["project"], found.groupdict().get("instance"))
    return Route("other")


def respond(
    world: World,
    where: Route,
    query: dict[str, str],
    now: datetime,
    page_totals: bool,
    page_cap: int | None = None,
) -> Reply:
    """Return the answer of a DCS route at simulated time `now`.

    Args:
        world: the data.
        where: a DCS route from `route()` (not "other").
        query: decoded query parameters (last value wins).
        now: simulated time.
        page_totals: report `total_num` as the page's item count instead of the grand total.
        page_cap: answer at most this many records per page, whatever `limit` asks for.
    """
    if where.project_id != world.project_id:
        return dcs_error(401, "DCS.1004", "Invalid project ID in the request.")
    try:
        if where.kind == "instances":
            offset, limit = _paging(query)
            listed = world.instances_at(now)
            return Reply(
                200, {"instance_num": len(listed), "instances": listed[offset : offset + limit]}
            )
        assert where.instance_id is not None
        if where.kind == "instance":
            return Reply(200, world.instance_at(where.instance_id, now))
        offset, limit = _paging(query)
        limit = min(limit, page_cap or limit)
        begin, end = (
            _filter_time(world, query, "begin_time"),
            _filter_time(world, query, "end_time"),
        )
        if begin and end and end < begin:
            raise ApiError(400, "DCS.4025", "The end time must be later than the start time.")
        page = world.backups_page if where.kind == "backups" else world.restores_page
        items, total = page(where.instance_id, now, begin, end, offset, limit)
    except ApiError as error:
        return dcs_error(error.status, error.code, error.message)
    except InstanceNotFound:
        return dcs_error(404, "DCS.3022", "The instance does not exist.")
    if total == 0:
        return Reply(204)
    return Reply(
        200, {LIST_KEYS[where.kind]: items, "total_num": len(items) if page_totals else total}
    )


def _paging(query: dict[str, str]) -> tuple[int, int]:
    return _int(query, "offset", 0, 0, None), _int(query, "limit", 10, 1, 1000)


def _int(query: dict[str, str], name: str, default: int, low: int, high: int | None) -> int:
    if name not in query:
        return default
    text = query[name].strip()
    value = int(text) if re.fullmatch(r"[+-]?\d{1,10}", text) else None
    if value is None or value < low or (high is not None and value > high):
        raise ApiError(400, "DCS.4800", f"Invalid {name} in the request.")
    return value


def _filter_time(world: World, query: dict[str, str], name: str) -> datetime | None:
    if name not in query:
        return None
    try:
        return world.parse_filter_time(query[name])
    except ValueError:
        raise ApiError(400, "DCS.4800", f"Invalid {name} in the request.") from None
