"""Values every loader can store: text, numbers, JSON and column names from an API record.

What cannot be stored is set aside: NULL (or, for text, repaired or truncated) and named with
its reason in the row's `invalid_fields`. parquet and Arrow need valid UTF-8 (no lone
surrogates); PostgreSQL text and jsonb reject NUL; parquet, orjson and jsonb refuse integers
outside 64 bits and non-finite floats; a server must not grow a table's columns without end.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Collection, Mapping
from functools import lru_cache
from typing import Any

from .settings import (
    MAX_FIELD_NAME_CHARS,
    MAX_INVALID_FIELDS_CHARS,
    MAX_JSON_CHARS,
    MAX_JSON_DEPTH,
    MAX_JSON_VALUES,
    MAX_NEW_COLUMNS,
    MAX_TEXT_CHARS,
)

INVALID_FIELDS = "invalid_fields"
REPLACEMENT = "\ufffd"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class SetAside(Exception):
    """A value that cannot be stored; the message is the reason flagged in `invalid_fields`."""


class _Counter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.total = 0

    def add(self, count: int) -> None:
        with self._lock:
            self.total += count


_SET_ASIDE = _Counter()


def values_set_aside() -> int:
    """Return how many values shaping has set aside (NULLed, truncated, repaired or dropped,
    each named in a row's `invalid_fields`) since the process started.

    A run's count is the difference between a reading before and one after its extract.
    """
    return _SET_ASIDE.total


def flag_text(flags: list[str], uncounted: int = 0) -> str | None:
    """The `invalid_fields` value for a row's flags (None when clean), bounded; counts them."""
    if not flags:
        return None
    _SET_ASIDE.add(len(flags) + uncounted)
    text = "; ".join(flags)
    if len(text) <= MAX_INVALID_FIELDS_CHARS:
        return text
    return text[: MAX_INVALID_FIELDS_CHARS - 20] + f" ... ({len(flags)} in all)"


def excerpt(value: Any, limit: int = 40) -> str:
    """A short, storable rendering of a value for a reason: repr escapes NUL and surrogates."""
    try:
        text = value if isinstance(value, str) else str(value)
    except Exception:  # e.g. an int too long to render
        text = f"<{type(value).__name__}>"
    return repr(text[:limit]) + ("..." if len(text) > limit else "")


def clean_text(text: str, limit: int = MAX_TEXT_CHARS) -> tuple[str, list[str]]:
    """Return `text` as every loader can store it, and what was done to it.

    At most `limit` characters; NUL and lone surrogates replaced by U+FFFD. Plain ASCII
    (the usual case) costs three C-level checks.
    """
    if text.isascii():
        if len(text) <= limit and "\x00" not in text:
            return text, []
    elif len(text) <= limit and _UNSTORABLE.search(text) is None:
        return text, []
    notes = []
    if len(text) > limit:
        notes.append(f"truncated from {len(text)} to {limit} characters")
        text = text[:limit]
    text, replaced = _UNSTORABLE.subn(REPLACEMENT, text)
    if replaced:
        notes.append(f"{replaced} characters that cannot be stored (NUL, lone surrogate) replaced")
    return text, notes


def storable(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """`text` cleaned, for places with nowhere to flag (reasons, ids given to shaping)."""
    return clean_text(text, limit)[0]


@lru_cache(maxsize=4096)
def column_name(key: str) -> str | None:
    """The column dlt's snake_case naming gives field `key`; None if it cannot name one."""
    # imported on first use: the request path (client, paging, prefetch) never needs dlt
    from dlt.common.normalizers.naming.snake_case import NamingConvention

    try:
        name = NamingConvention().normalize_identifier(key)
    except ValueError:  # a blank name
        return None
    return name or None


class _NewColumns:
    """Names of unknown fields accepted as columns, per table: at most MAX_NEW_COLUMNS each
    per process, so a server sending new names on every record cannot grow a table without
    end (a run is one process when scheduled)."""

    def __init__(self) -> None:
        self.names: dict[str, set[str]] = {}

    def admit(self, table: str, name: str) -> bool:
        names = self.names.setdefault(table, set())
        if name in names:
            return True
        if len(names) >= MAX_NEW_COLUMNS:
            return False
        names.add(name)
        return True


_new_columns = _NewColumns()


def unknown_fields(
    raw: Mapping[str, Any],
    unknown: Collection[str],
    taken: frozenset[str],
    row: dict[str, Any],
    flags: list[str],
    table: str,
    max_fields: int,
) -> int:
    """Add the fields of `raw` named in `unknown` to `row`, under their column names, bounded.

    A field is dropped (and flagged) when its name is longer than MAX_FIELD_NAME_CHARS, names
    no column or one of dlt's, or gives a column name already `taken` (by the source's own
    columns or an earlier field: `createdAt` beside `created_at`), so it can never overwrite
    a parsed value; and every field after the first `max_fields` unknown ones.

    Returns:
        How many dropped fields one flag stands for beyond itself (for the count).
    """
    used = set(taken)
    seen = dropped = 0
    over: list[str] = []
    for key, value in raw.items():
        if key not in unknown:
            continue
        seen += 1
        if seen > max_fields:
            # before naming: a record with a million fields costs little, flags stay few
            dropped += 1
            if len(over) < 3:
                over.append(storable(str(key), MAX_FIELD_NAME_CHARS))
            continue
        if not isinstance(key, str):
            flags.append(f"{excerpt(key)}: field name is not text")
            continue
        label = storable(key, MAX_FIELD_NAME_CHARS)
        if len(key) > MAX_FIELD_NAME_CHARS:
            flags.append(f"{label}...: field name longer than {MAX_FIELD_NAME_CHARS} characters")
            continue
        name = column_name(key)
        if name is None or name.startswith("_dlt"):
            flags.append(f"{label}: field name cannot be a column")
            continue
        if name in used:
            flags.append(f"{label}: dropped, its column {name} is taken")
            continue
        if not _new_columns.admit(table, name):
            flags.append(f"{label}: dropped, more than {MAX_NEW_COLUMNS} new columns")
            continue
        used.add(name)
        stored = loose_value(name, value, flags)
        if stored is not None:
            # a column dlt first sees as null in every row gets no type and a warning
            row[name] = stored
    if not dropped:
        return 0
    names = ", ".join(over) + (", ..." if dropped > len(over) else "")
    flags.append(f"{dropped} fields over the limit of {max_fields} dropped: {names}")
    return dropped - 1


def loose_value(name: str, value: Any, flags: list[str]) -> Any:
    """A value of a field the source does not know, as every loader can store it."""
    kind = type(value)
    if kind is str:
        if not value.strip():
            return None
        text, notes = clean_text(value)
        flags += [f"{name}: {note}" for note in notes]
        return text
    if kind is int:
        if INT64_MIN <= value <= INT64_MAX:
            return value
        flags.append(f"{name}: integer outside 64 bits {excerpt(value, 20)}")
        return None
    if kind is float:
        if math.isfinite(value):
            return value
        flags.append(f"{name}: not a finite number {excerpt(value)}")
        return None
    if kind is dict or kind is list:
        if not value:
            return None
        try:
            cleaned, fixes = clean_json(value)
        except SetAside as exc:
            flags.append(f"{name}: {exc}")
            return None
        if fixes:
            flags.append(f"{name}: {fixes} values inside that cannot be stored replaced")
        return cleaned
    return value  # None, bool


def clean_json(value: Any) -> tuple[Any, int]:
    """A copy of a JSON object or array every loader can store, and how many values changed.

    Strings (keys too) as `clean_text` makes them; integers outside 64 bits and non-finite
    floats as null.

    Raises:
        SetAside: the value is deeper or larger than the bounds.
    """
    budget = {"values": MAX_JSON_VALUES, "chars": MAX_JSON_CHARS, "fixes": 0}

    def text(item: str) -> str:
        budget["chars"] -= len(item)
        if budget["chars"] < 0:
            raise SetAside(f"more than {MAX_JSON_CHARS} characters of text inside")
        cleaned, notes = clean_text(item)
        budget["fixes"] += bool(notes)
        return cleaned

    def walk(item: Any, depth: int) -> Any:
        budget["values"] -= 1
        if budget["values"] < 0:
            raise SetAside(f"more than {MAX_JSON_VALUES} values inside")
        kind = type(item)
        if kind is str:
            return text(item)
        if kind is int and not INT64_MIN <= item <= INT64_MAX:
            budget["fixes"] += 1
            return None
        if kind is float and not math.isfinite(item):
            budget["fixes"] += 1
            return None
        if kind is dict or kind is list:
            # bounded here, so the walk itself cannot exhaust the stack
            if depth >= MAX_JSON_DEPTH:
                raise SetAside(f"nested deeper than {MAX_JSON_DEPTH} levels")
            if kind is list:
                return [walk(each, depth + 1) for each in item]
            return {text(str(key)): walk(each, depth + 1) for key, each in item.items()}
        return item

    cleaned = walk(value, 1)
    return cleaned, budget["fixes"]
