"""Shaping of raw backup records (GET .../backups) into rows of table `backups`.

The same rules as restores (records.py): a record without a usable backup_id or created_at,
or with a known field of a JSON type it cannot have, is rejected to `backups_rejected`; a
single bad value is set aside (NULL, named in `invalid_fields`).
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from .errors import RecordError
from .records import (
    _future_limit,
    _implausible,
    _progress,
    _text,
    _updated_at,
    is_null,
    parse_timestamp,
    record_id,
)
from .settings import EARLIEST_CREATED_AT, MAX_UNKNOWN_FIELDS
from .values import INT64_MAX, INVALID_FIELDS, excerpt, flag_text, storable, unknown_fields

BACKUP_TEXT_FIELDS = (
    "backup_name",
    "period",
    "backup_type",
    "backup_format",
    "status",
    "error_code",
    "remark",
)
# the columns the source fills itself; `instance_id` is the instance read, whatever a record
# says, so an unknown field (or the record's own instance_id) cannot take one
BACKUP_OWN_FIELDS = frozenset(
    {
        "backup_id",
        "project_id",
        "instance_id",
        "endpoint",
        *BACKUP_TEXT_FIELDS,
        "size",
        "progress",
        "is_support_restore",
        "created_at",
        "updated_at",
        "execution_at",
        INVALID_FIELDS,
    }
)


def shape_backup(raw: Any, project_id: str, instance_id: str) -> dict[str, Any]:
    """Turn one backup record into a row for table `backups`.

    Raises:
        RecordError: no usable backup_id, no plausible created_at, a known field of a wrong
            type, or anything else that makes shaping fail; never anything else.
    """
    if not isinstance(raw, dict):
        raise RecordError(f"record is a {type(raw).__name__}, expected an object")
    try:
        return _shape_backup(raw, project_id, instance_id)
    except RecordError:
        raise
    except Exception as exc:
        raise RecordError(f"record cannot be shaped: {type(exc).__name__}") from exc


def _shape_backup(raw: dict[str, Any], project_id: str, instance_id: str) -> dict[str, Any]:
    flags: list[str] = []
    backup_id = record_id(raw.get("backup_id"), "backup_id")
    created_at = parse_timestamp(raw.get("created_at"))
    if created_at is None:
        raise RecordError("record has no created_at")
    if created_at < EARLIEST_CREATED_AT or created_at > _future_limit():
        raise RecordError(f"created_at {_implausible(created_at)}")
    row: dict[str, Any] = {}
    uncounted = 0
    if not BACKUP_OWN_FIELDS.issuperset(raw):
        unknown = raw.keys() - BACKUP_OWN_FIELDS
        uncounted = unknown_fields(
            raw, unknown, BACKUP_OWN_FIELDS, row, flags, "backups", MAX_UNKNOWN_FIELDS
        )
    for field in BACKUP_TEXT_FIELDS:
        row[field] = _text(field, raw.get(field), flags)
    if row["status"] is not None:
        row["status"] = row["status"].lower()
    row["backup_id"] = backup_id
    row["project_id"] = project_id
    row["instance_id"] = storable(instance_id)
    row["size"] = _size(raw.get("size"), flags)
    row["is_support_restore"] = _yes_no(raw.get("is_support_restore"), flags)
    row["created_at"] = created_at
    row["updated_at"] = _updated_at(raw.get("updated_at"), created_at, flags)
    row["execution_at"] = _moment("execution_at", raw.get("execution_at"), flags)
    row["progress"] = _progress(raw.get("progress"), flags)
    row[INVALID_FIELDS] = flag_text(flags, uncounted) if flags else None
    return row


def _size(value: Any, flags: list[str]) -> int | None:
    """Bytes as an integer: ints, integral floats and digit strings; else NULL and flagged."""
    kind = type(value)
    if value is None or ((kind is dict or kind is list or kind is str) and is_null(value)):
        return None
    number: int | None = None
    if kind is int:
        number = value
    elif kind is float and math.isfinite(value) and value.is_integer():
        number = int(value)
    elif kind is str and value.strip().isascii() and value.strip().isdigit():
        number = int(value.strip()) if len(value.strip()) <= 20 else None
    elif kind is dict or kind is list or kind is bool:
        raise RecordError(f"field size has type {kind.__name__}, expected an integer")
    if number is None or not 0 <= number <= INT64_MAX:
        flags.append(f"size: not a byte count {excerpt(value, 30)}")
        return None
    return number


def _yes_no(value: Any, flags: list[str]) -> bool | None:
    """The API's "TRUE"/"FALSE" (any case; JSON booleans too); anything else NULL, flagged."""
    if is_null(value):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().upper()
        if text in ("TRUE", "FALSE"):
            return text == "TRUE"
    flags.append(f"is_support_restore: not TRUE or FALSE {excerpt(value, 30)}")
    return None


def _moment(name: str, value: Any, flags: list[str]) -> datetime | None:
    try:
        moment = parse_timestamp(value)
    except RecordError as exc:
        flags.append(f"{name}: {exc}")
        return None
    problem = _implausible(moment) if moment is not None else None
    if problem:
        flags.append(f"{name}: {problem}")
        return None
    return moment
