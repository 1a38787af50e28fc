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
from .fingerprint import RECORD_HASH
from .records import (
    _implausible,
    _progress,
    _updated_at,
    is_null,
    parse_timestamp,
    plausible_created_at,
    record_id,
    shape_guarded,
    start_row,
)
from .values import INT64_MAX, INVALID_FIELDS, excerpt, flag_text, storable

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
        RECORD_HASH,
    }
)


def shape_backup(raw: Any, project_id: str, instance_id: str) -> dict[str, Any]:
    """Turn one backup record into a row for table `backups`.

    Raises:
        RecordError: no usable backup_id, no plausible created_at, a known field of a wrong
            type, or anything else that makes shaping fail; never anything else.
    """
    return shape_guarded(_shape_backup, raw, project_id, instance_id)


def _shape_backup(raw: dict[str, Any], project_id: str, instance_id: str) -> dict[str, Any]:
    flags: list[str] = []
    backup_id = record_id(raw.get("backup_id"), "backup_id")
    created_at = plausible_created_at(raw)
    row, uncounted = start_row(raw, BACKUP_OWN_FIELDS, BACKUP_TEXT_FIELDS, "backups", flags)
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
