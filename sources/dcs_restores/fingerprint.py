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
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from typing import Any

RECORD_HASH = "record_hash"
# 16 bytes: a collision between two versions of one record's row is out of reach
_DIGEST_BYTES = 16


def _tagged(value: Any) -> Any:
    """A stable JSON stand-in for what json cannot encode itself (datetimes, anything odd)."""
    if isinstance(value, date | time):
        return {f"${type(value).__name__}": value.isoformat()}
    return {"$" + type(value).__name__: repr(value)}


def record_hash(row: Mapping[str, Any]) -> str:
    """The hex digest of `row`: every column but dlt's own (`_dlt_*`) and `record_hash`.

    Canonical: keys sorted, separators fixed, text escaped to ASCII (a lone surrogate hashes
    too), datetimes as ISO text tagged with their type (never equal to a text column holding
    the same characters); an int and a float of equal value hash differently, as the shaping
    gives each column one type.
    """
    # the key set is part of the row: a column absent (instances' invalid_fields) is not NULL
    own = {
        key: value
        for key, value in row.items()
        if key != RECORD_HASH and not (isinstance(key, str) and key.startswith("_dlt"))
    }
    text = json.dumps(own, sort_keys=True, separators=(",", ":"), default=_tagged)
    return hashlib.blake2b(text.encode("ascii"), digest_size=_DIGEST_BYTES).hexdigest()


def already_stored(row: dict[str, Any], known: Mapping[str, str], key: str) -> bool:
    """True when the destination holds `row` exactly so: `known` maps its id (`row[key]`)
    to its digest. Otherwise the row gets its digest in column record_hash, to be loaded."""
    digest = record_hash(row)
    if known.get(row[key]) == digest:
        return True
    row[RECORD_HASH] = digest
    return False


@dataclass(frozen=True)
class KnownRows:
    """id -> record_hash of rows the destination holds that this run may read again.

    Empty maps (the default) skip nothing: every row read is loaded.
    """

    restores: Mapping[str, str] = field(default_factory=dict)
    backups: Mapping[str, str] = field(default_factory=dict)
    instances: Mapping[str, str] = field(default_factory=dict)
