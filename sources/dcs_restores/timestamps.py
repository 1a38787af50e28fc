"""Timestamps and nulls as the DCS API sends them; free of dlt, so the request path can use it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from .errors import RecordError
from .values import excerpt

__all__ = ["is_null", "parse_timestamp"]

# "yyyy-mm-dd hh:mm:ss" (documented by Terraform for some regions) or ISO 8601 with optional
# fraction and zone; values without a zone are UTC. ASCII digits only: `\d` would take "٢٠٢٤".
_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?"
    r"\s*(Z|z|UTC|[+-]\d{2}(?::?\d{2})?)?$",
    re.ASCII,
)


def is_null(value: Any) -> bool:
    """Return True for the API's ways of saying nothing: None, `{}`, `[]` and blank strings."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, dict | list) and not value


def parse_timestamp(value: Any) -> datetime | None:
    """Parse an API timestamp leniently into an aware UTC datetime.

    Accepts ISO 8601 with or without milliseconds, `Z` or an offset, and `yyyy-mm-dd hh:mm:ss`
    (taken as UTC). Null-like values give None.

    Raises:
        RecordError: the value is not a timestamp, or not one a datetime can hold in UTC;
            never anything else.
    """
    if (
        type(value) is str
        and len(value) in (20, 24)
        and value[-1] == "Z"
        and value[4] == value[7] == "-"
        and value[10] == "T"
        and value[13] == value[16] == ":"
    ):
        # the API's usual shape, e.g. 2025-02-26T19:01:39.574Z: 20x faster than the regex;
        # what fromisoformat refuses gets the regex's verdict below. fromisoformat alone is
        # not the same parser: it refuses "UTC", "z" and blanks around the value, and takes
        # what no DCS API sends (a date alone, "20250226T190139", week dates, any separator)
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    try:
        return _parse_timestamp(value)
    except RecordError:
        raise
    except (ValueError, OverflowError) as exc:
        # an offset of a day or more, a year that leaves 1..9999 when moved to UTC
        raise RecordError(f"timestamp out of range {excerpt(value)}") from exc


def _parse_timestamp(value: Any) -> datetime | None:
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
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    if hours > 23 or minutes > 59:
        raise RecordError(f"unparseable timestamp {value[:40]!r}: offset out of range")
    offset = timezone(sign * timedelta(hours=hours, minutes=minutes))
    return parsed.replace(tzinfo=offset).astimezone(UTC)
