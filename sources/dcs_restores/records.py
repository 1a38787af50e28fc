"""Shaping of raw API records into clean rows: timestamps, numbers, nulls, rejects, set-asides.

Shaping is total: whatever a record holds, `shape_restore` returns a row or raises
`RecordError` (the record goes to quarantine), and `shape_instance` always returns a row.
A record is rejected when what identifies or places it is unusable (restore_id, created_at)
or a known field has a JSON type it cannot have; a single bad value is set aside instead:
NULL (or repaired, for text) and named with its reason in column `invalid_fields`.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .columns import RESTORE_COLUMNS
from .errors import RecordError
from .fingerprint import RECORD_HASH
from .settings import (
    EARLIEST_CREATED_AT,
    MAX_INSTANCE_FIELDS,
    MAX_RAW_RECORD_CHARS,
    MAX_RESTORE_ID_CHARS,
    MAX_TEXT_CHARS,
    MAX_UNKNOWN_FIELDS,
    RESTORE_TEXT_FIELDS,
)
from .timestamps import is_null, parse_timestamp
from .values import (
    INVALID_FIELDS,
    clean_text,
    excerpt,
    flag_text,
    storable,
    unknown_fields,
    values_set_aside,
)

__all__ = [
    "INVALID_FIELDS",
    "MAX_FUTURE",
    "RecordError",
    "Rejected",
    "is_null",
    "parse_timestamp",
    "rejected_row",
    "shape_instance",
    "shape_restore",
    "values_set_aside",
]

# a created_at later than now + this is garbage, not clock skew (a year: the demo's simulated
# clock runs ahead of the real one by days, never by a year)
MAX_FUTURE = timedelta(days=366)


# the columns of table `restores` the source fills itself; an unknown field may not take one
RESTORE_OWN_FIELDS = frozenset(RESTORE_COLUMNS)
_INSTANCE_OWN_FIELDS = frozenset(
    {
        "instance_id",
        "project_id",
        "endpoint",
        "created_at",
        "updated_at",
        INVALID_FIELDS,
        RECORD_HASH,
    }
)


# shapes one raw record (an object) of an instance into a row, or raises
Shaper = Callable[[dict[str, Any], str, str], dict[str, Any]]


@dataclass(frozen=True)
class Rejected:
    """A raw record that could not be shaped into a row, with the reason."""

    reason: str
    raw: Any


# --- timestamps ------------------------------------------------------------------------------


class _FutureLimit:
    """now + MAX_FUTURE, recomputed once a minute: datetime.now() per row costs 0.5 µs."""

    def __init__(self) -> None:
        self._minute = -1
        self._limit = datetime.now(UTC) + MAX_FUTURE

    def __call__(self) -> datetime:
        minute = int(time.time()) // 60
        if minute != self._minute:
            self._limit = datetime.now(UTC) + MAX_FUTURE
            self._minute = minute
        return self._limit


_future_limit = _FutureLimit()


def _implausible(moment: datetime) -> str | None:
    if moment < EARLIEST_CREATED_AT:
        return f"{moment.isoformat()[:10]} is not a real restore time"
    if moment > _future_limit():
        return f"{moment.isoformat()[:10]} is far in the future"
    return None


# --- known fields ----------------------------------------------------------------------------


def _text(name: str, value: Any, flags: list[str]) -> str | None:
    kind = type(value)
    if kind is str:
        text: str = value.strip()
        if not text:
            return None
        if text.isascii() and len(text) <= MAX_TEXT_CHARS and "\x00" not in text:
            return text
        text, notes = clean_text(text)
        flags += [f"{name}: {note}" for note in notes]
        return text
    if value is None or ((kind is dict or kind is list) and not value):
        return None
    if kind is int:
        return str(value)
    if kind is float:
        if math.isfinite(value):
            return str(value)
        flags.append(f"{name}: not a finite number {excerpt(value)}")
        return None
    raise RecordError(f"field {name} has type {kind.__name__}, expected a string")


def _progress(value: Any, flags: list[str]) -> float | None:
    kind = type(value)
    if kind is str:
        try:
            number = float(value)  # takes surrounding blanks itself
        except ValueError:
            text = value.strip().rstrip("%")
            if not value.strip():
                return None
            try:
                number = float(text)
            except ValueError:
                flags.append(f"progress: not a number {excerpt(value, 20)}")
                return None
    elif kind is float or kind is int:
        try:
            number = float(value)
        except OverflowError:
            flags.append(f"progress: not a finite number {excerpt(value, 20)}")
            return None
    elif value is None or ((kind is dict or kind is list) and not value):
        return None
    else:
        raise RecordError(f"field progress has type {kind.__name__}, expected a number")
    if 0.0 <= number <= 100.0:
        return number
    # NaN fails the comparison too
    what = "not a finite number" if not math.isfinite(number) else "outside 0..100"
    flags.append(f"progress: {what} {excerpt(value, 20)}")
    return None


def record_id(value: Any, name: str = "restore_id") -> str:
    """Return a record's id (field `name`) as text.

    Raises:
        RecordError: the id is missing, too long, not printable or of a wrong JSON type.
    """
    kind = type(value)
    if kind is str:
        found: str = value.strip()
    elif kind is int or kind is float:
        found = str(value)
    elif value is None or ((kind is dict or kind is list) and not value):
        found = ""
    else:
        raise RecordError(f"field {name} has type {kind.__name__}, expected a string")
    if not found:
        raise RecordError(f"record has no {name}")
    if len(found) > MAX_RESTORE_ID_CHARS:
        raise RecordError(
            f"{name} is {len(found)} characters long, more than {MAX_RESTORE_ID_CHARS}"
        )
    if not found.isprintable():
        # control characters, NUL, lone surrogates: not an id anyone can look up
        raise RecordError(f"{name} {excerpt(found)} has characters that are not printable")
    return found


def _restore_id(value: Any) -> str:
    return record_id(value, "restore_id")


def _updated_at(value: Any, created_at: datetime, flags: list[str]) -> datetime | None:
    try:
        updated_at = parse_timestamp(value)
    except RecordError as exc:
        flags.append(f"updated_at: {exc}")
        return None
    if updated_at is None:
        return None
    if updated_at < created_at:
        # it would give a negative duration
        flags.append(f"updated_at: {updated_at.isoformat()} is before created_at")
        return None
    if updated_at > _future_limit():
        # (not before 2000: it is not before created_at)
        flags.append(f"updated_at: {_implausible(updated_at)}")
        return None
    return updated_at


# --- rows ------------------------------------------------------------------------------------


def shape_restore(raw: Any, project_id: str, instance_id: str) -> dict[str, Any]:
    """Turn one InstanceRestoreInfo into a row for table `restores`.

    Known fields keep their API names; unknown fields pass through under their column names
    (bounded in number and name length) so a new API field becomes a new column instead of
    breaking the run. Values that cannot be stored are set aside and named in
    `invalid_fields` (None for a clean row).

    Raises:
        RecordError: the record has no usable restore_id, no plausible created_at (missing,
            unparseable, before 2000 or far in the future), a known field of a wrong type, or
            anything else that makes shaping fail; never anything else.
    """
    return shape_guarded(_shape_restore, raw, project_id, instance_id)


def shape_guarded(shape: Shaper, raw: Any, project_id: str, instance_id: str) -> dict[str, Any]:
    """Run `shape` on one raw record so that nothing but RecordError leaves it.

    Raises:
        RecordError: the record is not an object, or `shape` failed in any way.
    """
    if not isinstance(raw, dict):
        raise RecordError(f"record is a {type(raw).__name__}, expected an object")
    try:
        return shape(raw, project_id, instance_id)
    except RecordError:
        raise
    except Exception as exc:
        # whatever a record holds must not end the run: it goes to quarantine
        raise RecordError(f"record cannot be shaped: {type(exc).__name__}") from exc


def plausible_created_at(raw: dict[str, Any]) -> datetime:
    """Return a record's created_at.

    Raises:
        RecordError: created_at is missing, unparseable, before 2000 or far in the future.
    """
    created_at = parse_timestamp(raw.get("created_at"))
    if created_at is None:
        raise RecordError("record has no created_at")
    # a placeholder (0001-01-01, 1970-01-01) or a far-future time would become the
    # instance's cursor, and the latter would hide every later record
    if created_at < EARLIEST_CREATED_AT or created_at > _future_limit():
        raise RecordError(f"created_at {_implausible(created_at)}")
    return created_at


def start_row(
    raw: dict[str, Any],
    own_fields: frozenset[str],
    text_fields: tuple[str, ...],
    table: str,
    flags: list[str],
) -> tuple[dict[str, Any], int]:
    """Return a row begun with a record's unknown fields and its text fields (status lower
    case), and how many unknown fields were not kept; set-asides are added to `flags`."""
    row: dict[str, Any] = {}
    uncounted = 0
    if not own_fields.issuperset(raw):
        unknown = raw.keys() - own_fields
        uncounted = unknown_fields(raw, unknown, own_fields, row, flags, table, MAX_UNKNOWN_FIELDS)
    for field in text_fields:
        row[field] = _text(field, raw.get(field), flags)
    if row["status"] is not None:
        row["status"] = row["status"].lower()
    return row, uncounted


def _shape_restore(raw: dict[str, Any], project_id: str, instance_id: str) -> dict[str, Any]:
    flags: list[str] = []
    restore_id = _restore_id(raw.get("restore_id"))
    created_at = plausible_created_at(raw)
    row, uncounted = start_row(raw, RESTORE_OWN_FIELDS, RESTORE_TEXT_FIELDS, "restores", flags)
    row["restore_id"] = restore_id
    row["project_id"] = project_id
    row["instance_id"] = storable(instance_id)
    row["created_at"] = created_at
    row["updated_at"] = _updated_at(raw.get("updated_at"), created_at, flags)
    row["progress"] = _progress(raw.get("progress"), flags)
    row[INVALID_FIELDS] = flag_text(flags, uncounted) if flags else None
    return row


def shape_instance(raw: Any, project_id: str) -> dict[str, Any]:
    """Turn one instance of the instance listing into a row for table `instances`.

    Never raises: an instance is not dropped over its own fields. Values that cannot be
    stored (a timestamp that does not parse, text no loader takes, ...) are NULL or repaired
    and named in `invalid_fields` (a key only flagged rows have).
    """
    try:
        return _shape_instance(raw, project_id)
    except Exception as exc:
        instance_id = raw.get("instance_id") if isinstance(raw, dict) else None
        return {
            "instance_id": storable(str(instance_id), MAX_RESTORE_ID_CHARS)
            if instance_id is not None
            else None,
            "project_id": project_id,
            INVALID_FIELDS: flag_text([f"instance: cannot be shaped: {type(exc).__name__}"]),
        }


def _shape_instance(raw: Any, project_id: str) -> dict[str, Any]:
    flags: list[str] = []
    if not isinstance(raw, dict):
        flags.append(f"instance: a {type(raw).__name__}, expected an object")
        raw = {}
    instance_id = raw.get("instance_id")
    row: dict[str, Any] = {
        "instance_id": None if is_null(instance_id) else storable(str(instance_id)),
        "project_id": project_id,
    }
    uncounted = 0
    unknown = raw.keys() - _INSTANCE_OWN_FIELDS
    if unknown:
        uncounted = unknown_fields(
            raw, unknown, _INSTANCE_OWN_FIELDS, row, flags, "instances", MAX_INSTANCE_FIELDS
        )
    for field in ("created_at", "updated_at"):
        try:
            moment = parse_timestamp(raw.get(field))
        except RecordError as exc:
            # an odd instance timestamp is not worth dropping the instance over
            flags.append(f"{field}: {exc}")
            moment = None
        problem = _implausible(moment) if moment is not None else None
        if problem:
            flags.append(f"{field}: {problem}")
            moment = None
        row[field] = moment
    if flags:
        # only then: table `instances` has no hint for the column, and dlt warns about a
        # column that is NULL in every row
        row[INVALID_FIELDS] = flag_text(flags, uncounted)
    return row


def rejected_row(
    rejected: Rejected, project_id: str, instance_id: str, id_key: str = "restore_id"
) -> dict[str, Any]:
    """Return the quarantine row for a record that could not be loaded.

    The raw record is kept as JSON text (NUL and surrogates escaped, NaN as `NaN`), cut at
    MAX_RAW_RECORD_CHARS; its id (`id_key`) becomes a column only when it is a usable id.
    """
    try:
        raw_json = json.dumps(rejected.raw, sort_keys=True, default=str)
    except Exception as exc:  # nested too deep for the encoder
        raw_json = json.dumps(f"<record cannot be rendered: {type(exc).__name__}>")
    raw_json = raw_json[:MAX_RAW_RECORD_CHARS]
    key = f"{project_id}/{instance_id}/{raw_json}"
    # surrogatepass: an instance id with a lone surrogate still hashes
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    raw_id = rejected.raw.get(id_key) if isinstance(rejected.raw, dict) else None
    try:
        usable_id: str | None = record_id(raw_id, id_key) if isinstance(raw_id, str) else None
    except RecordError:
        usable_id = None
    return {
        "record_hash": digest,
        # when the record has a usable id, so a rejected record can be found
        id_key: usable_id,
        "project_id": project_id,
        "instance_id": storable(instance_id),
        "reason": storable(rejected.reason, 2000),
        "raw_record": raw_json,
        "rejected_at": datetime.now(UTC),
    }
