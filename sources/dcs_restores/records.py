"""Shaping of raw API records into clean rows: timestamps, numbers, nulls and rejects."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from .settings import RESTORE_TEXT_FIELDS

# "yyyy-mm-dd hh:mm:ss" (documented by Terraform for some regions) or ISO 8601 with optional
# fraction and zone; values without a zone are UTC
_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?"
    r"\s*(Z|z|UTC|[+-]\d{2}(?::?\d{2})?)?$"
)


# a created_at later than now + this is garbage, not clock skew (a year: the demo's simulated
# clock runs ahead of the real one by days, never by a year)
MAX_FUTURE = timedelta(days=366)


class RecordError(ValueError):
    """A record that cannot be loaded; the message is the reason stored in quarantine."""


@dataclass(frozen=True)
class Rejected:
    """A raw record that could not be shaped into a row, with the reason."""

    reason: str
    raw: Any


def is_null(value: Any) -> bool:
    """Return True for the API's ways of saying nothing: None, `{}`, `[]` and blank strings."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, dict | list) and not value


def _is_plain_utc(value: Any) -> bool:
    """True for `yyyy-mm-ddThh:mm:ssZ` and `yyyy-mm-ddThh:mm:ss.fffZ`."""
    return (
        isinstance(value, str)
        and len(value) in (20, 24)
        and value[-1] == "Z"
        and value[4] == value[7] == "-"
        and value[10] == "T"
        and value[13] == value[16] == ":"
        and (len(value) == 20 or value[19] == ".")
        and value[:4].isdigit()
    )


def parse_timestamp(value: Any) -> datetime | None:
    """Parse an API timestamp leniently into an aware UTC datetime.

    Accepts ISO 8601 with or without milliseconds, `Z` or an offset, and `yyyy-mm-dd hh:mm:ss`
    (taken as UTC). Null-like values give None.

    Raises:
        RecordError: the value is not a timestamp.
    """
    if _is_plain_utc(value):
        # the API's usual shape, e.g. 2025-02-26T19:01:39.574Z: 20x faster than the regex
        try:
            return datetime.fromisoformat(value)
        except ValueError as exc:
            raise RecordError(f"unparseable timestamp {value[:40]!r}") from exc
    if is_null(value):
        return None
    if not isinstance(value, str):
        raise RecordError(f"expected a timestamp string, got {type(value).__name__}")
    match = _TIMESTAMP.match(value.strip())
    if not match:
        raise RecordError(f"unparseable timestamp {value[:40]!r}")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        parsed = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro
        )
    except ValueError as exc:
        raise RecordError(f"unparseable timestamp {value[:40]!r}") from exc
    if zone in (None, "Z", "z", "UTC"):
        return parsed.replace(tzinfo=UTC)
    sign = 1 if zone[0] == "+" else -1
    digits = zone[1:].replace(":", "")
    offset_min = int(digits[:2]) * 60 + int(digits[2:4] or 0)
    return parsed.replace(tzinfo=timezone(sign * timedelta(minutes=offset_min))).astimezone(UTC)


def _text(name: str, value: Any) -> str | None:
    if is_null(value):
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise RecordError(f"field {name} has type {type(value).__name__}, expected a string")
    return str(value).strip()


def _progress(value: Any) -> float | None:
    if is_null(value):
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise RecordError(f"field progress has type {type(value).__name__}, expected a number")
    try:
        return float(str(value).strip().rstrip("%"))
    except ValueError as exc:
        raise RecordError(f"field progress is not a number: {str(value)[:20]!r}") from exc


def shape_restore(raw: Any, project_id: str, instance_id: str) -> dict[str, Any]:
    """Turn one InstanceRestoreInfo into a row for table `restores`.

    Known fields keep their API names; unknown fields pass through so a new API field
    becomes a new column instead of breaking the run.

    Raises:
        RecordError: the record has no restore_id, no parseable created_at (or one far in the
            future), or a wrong type.
    """
    if not isinstance(raw, dict):
        raise RecordError(f"record is a {type(raw).__name__}, expected an object")
    restore_id = _text("restore_id", raw.get("restore_id"))
    if not restore_id:
        raise RecordError("record has no restore_id")
    created_at = parse_timestamp(raw.get("created_at"))
    if created_at is None:
        raise RecordError("record has no created_at")
    if created_at > datetime.now(UTC) + MAX_FUTURE:
        # such a value would become the instance's cursor and hide every later restore
        raise RecordError(f"created_at {created_at:%Y-%m-%d} is far in the future")
    row: dict[str, Any] = {
        key: (None if is_null(value) else value)
        for key, value in raw.items()
        if key not in RESTORE_TEXT_FIELDS and key not in {"restore_id", "progress"}
    }
    row.update({field: _text(field, raw.get(field)) for field in RESTORE_TEXT_FIELDS})
    if row["status"] is not None:
        row["status"] = row["status"].lower()
    row.update(
        restore_id=restore_id,
        project_id=project_id,
        instance_id=instance_id,
        created_at=created_at,
        updated_at=parse_timestamp(raw.get("updated_at")),
        progress=_progress(raw.get("progress")),
    )
    return row


def shape_instance(raw: dict[str, Any], project_id: str) -> dict[str, Any]:
    """Turn one instance of the instance listing into a row for table `instances`."""
    row = {key: (None if is_null(value) else value) for key, value in raw.items()}
    row["project_id"] = project_id
    for field in ("created_at", "updated_at"):
        try:
            row[field] = parse_timestamp(raw.get(field))
        except RecordError:
            # an odd instance timestamp is not worth dropping the instance over
            row[field] = None
    return row


def rejected_row(rejected: Rejected, project_id: str, instance_id: str) -> dict[str, Any]:
    """Return the quarantine row for a record that could not be loaded."""
    raw_json = json.dumps(rejected.raw, sort_keys=True, default=str)
    digest = hashlib.sha256(f"{project_id}/{instance_id}/{raw_json}".encode()).hexdigest()
    restore_id = rejected.raw.get("restore_id") if isinstance(rejected.raw, dict) else None
    return {
        "record_hash": digest,
        # when the record has a usable id, so a rejected restore can be found
        "restore_id": restore_id if isinstance(restore_id, str) and restore_id else None,
        "project_id": project_id,
        "instance_id": instance_id,
        "reason": rejected.reason,
        "raw_record": raw_json,
        "rejected_at": datetime.now(UTC),
    }
