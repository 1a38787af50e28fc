"""Identifiers the API hands us: checked before they go into a URL or a cursor."""

from __future__ import annotations

import re

from .settings import INSTANCE_ID_PATTERN

_INSTANCE_ID = re.compile(INSTANCE_ID_PATTERN)


def valid_instance_id(value: object) -> bool:
    """True for an id that is safe as one URL path segment (DCS uses UUIDs)."""
    return isinstance(value, str) and _INSTANCE_ID.fullmatch(value) is not None


def shown(value: object, limit: int = 60) -> str:
    """A bounded, printable rendering of an untrusted value for a log or error line."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
