"""The digest of a row as it would be loaded: column `record_hash` of `restores`, `backups`
and `instances`.

A run re-reads, by design, records it has loaded before (the look-back window, open
records, the instance listing); a row whose digest equals the one stored with it would be
written exactly as it is, so it is not handed to dlt at all. The digest is of the shaped
row, not of the API's JSON: a change of the shaping code or of the endpoint changes it, and
the row is written again.
"""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

RECORD_HASH = "record_hash"
# 16 bytes: a collision between two versions of one record's row is out of reach
_DIGEST_BYTES = 16


def _own(key: Any) -> bool:
    """A column of the row itself: not dlt's (`_dlt_*`), not the digest."""
    return key != RECORD_HASH and not (isinstance(key, str) and key.startswith("_dlt"))


def _digest(text: str) -> str:
    # surrogatepass: a lone surrogate in a value (repr escapes it anyway) never fails
    data = text.encode("utf-8", "surrogatepass")
    return hashlib.blake2b(data, digest_size=_DIGEST_BYTES).hexdigest()


def record_hash(row: Mapping[str, Any]) -> str:
    """The hex digest of `row`: every column but dlt's own and `record_hash`.

    Canonical in what decides a value: keys sorted, each value by its `repr`, which tells
    apart a missing column and NULL, 1 and 1.0 and "1", a timestamp and its text (timestamps
    are UTC after shaping, so one instant has one repr); JSON values inside keep the order
    the API sent.
    """
    return _digest("*" + repr(sorted((k, v) for k, v in row.items() if _own(k))))


class RowDigest:
    """`record_hash` for the rows of one table, ~3x faster for the usual row: one that has
    exactly the table's own columns (the values in column order, no sort). Any other row
    (a field the API added, a column missing) takes `record_hash`; the two never match."""

    def __init__(self, columns: Iterable[str]) -> None:
        order = tuple(name for name in columns if _own(name))
        self._keys = frozenset(order)
        self._values = operator.itemgetter(*order)

    def __call__(self, row: Mapping[str, Any]) -> str:
        keys = row.keys()
        if keys == self._keys or (
            self._keys.issubset(keys) and not any(_own(key) for key in keys - self._keys)
        ):
            return _digest(repr(self._values(row)))
        return record_hash(row)


def already_stored(
    row: dict[str, Any], known: Mapping[str, str], key: str, digest: RowDigest | None = None
) -> bool:
    """True when the destination holds `row` exactly so: `known` maps its id (`row[key]`)
    to its digest. Otherwise the row gets its digest in column record_hash, to be loaded."""
    found = digest(row) if digest is not None else record_hash(row)
    if known.get(row[key]) == found:
        return True
    row[RECORD_HASH] = found
    return False


@dataclass(frozen=True)
class KnownRows:
    """id -> record_hash of rows the destination holds that this run may read again.

    Empty maps (the default) skip nothing: every row read is loaded.
    """

    restores: Mapping[str, str] = field(default_factory=dict)
    backups: Mapping[str, str] = field(default_factory=dict)
    instances: Mapping[str, str] = field(default_factory=dict)
