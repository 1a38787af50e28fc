"""A scanner that looks for secrets everywhere a run leaves something: files (also inside gzip
and dlt's compressed state), every row of the database, and texts such as logs and errors."""

from __future__ import annotations

import base64
import binascii
import contextlib
import gzip
import re
import zlib
from collections.abc import Iterable
from pathlib import Path

import duckdb
from dlt.common.versioned_state import decompress_state

_BASE64 = re.compile(rb"[A-Za-z0-9+/]{40,}={0,2}")


def _expansions(data: bytes) -> list[bytes]:
    """`data` plus what it hides: gzip members and zlib-compressed base64 (dlt's state)."""
    found = [data]
    if data[:2] == b"\x1f\x8b":
        with contextlib.suppress(OSError, EOFError):
            found.append(gzip.decompress(data))
    for blob in list(found):
        for token in _BASE64.findall(blob):
            body = token.rstrip(b"=")
            try:
                found.append(zlib.decompress(base64.b64decode(body + b"=" * (-len(body) % 4))))
            except (binascii.Error, zlib.error, ValueError):
                continue
    return found


def _database_texts(database: Path) -> list[str]:
    if not database.exists():
        return []
    texts = []
    with duckdb.connect(str(database), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_type = 'BASE TABLE'"
        ).fetchall()
        for schema, table in tables:
            for row in con.execute(f'select * from "{schema}"."{table}"').fetchall():
                texts.append(repr(row))
            if table == "_dlt_pipeline_state":
                for (state,) in con.execute(f'select state from "{schema}"."{table}"').fetchall():
                    texts.append(repr(decompress_state(state)))
    return texts


def secret_leaks(
    secrets: Iterable[str],
    *,
    roots: Iterable[Path] = (),
    database: Path | None = None,
    texts: Iterable[str] = (),
) -> list[str]:
    """Return where any of `secrets` shows up: files under `roots` (decompressed), every row of
    every table of `database` (and dlt's compressed state in it), and `texts` (logs, errors)."""
    needles = [s for s in secrets if s]
    assert needles and all(len(s) >= 8 for s in needles), "scan for real, distinctive secrets"
    leaks = []
    for root in roots:
        for path in sorted(Path(root).rglob("*")):
            if not path.is_file() or path.suffix in (".duckdb", ".wal"):
                continue
            for data in _expansions(path.read_bytes()):
                leaks += [
                    f"{path}: secret #{i}" for i, n in enumerate(needles) if n.encode() in data
                ]
    if database is not None:
        for text in _database_texts(database):
            leaks += [f"{database}: secret #{i}" for i, n in enumerate(needles) if n in text]
    for index, text in enumerate(texts):
        leaks += [f"text #{index}: secret #{i}" for i, n in enumerate(needles) if n in text]
    return sorted(set(leaks))
