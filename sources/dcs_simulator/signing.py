"""The gateway's own check of SDK-HMAC-SHA256 signatures, written apart from the client's signer.

A test double that verified requests with the client's functions would accept any signing bug
the client has. This module follows the published algorithm on its own (Huawei Cloud API
Gateway, "AK/SK signing"), and tests/simulator/test_signing.py holds it to the published vectors.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from urllib.parse import quote, unquote

SCHEME = "SDK-HMAC-SHA256"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
_HEADER = re.compile(
    r"^SDK-HMAC-SHA256\s+Access=(?P<access>[^,\s]+),\s*SignedHeaders=(?P<signed>[^,\s]+),"
    r"\s*Signature=(?P<signature>[0-9a-fA-F]+)\s*$"
)


def _rfc3986(text: str) -> str:
    # unreserved characters stay, everything else is %XY with upper-case hex
    return quote(text, safe="-_.~")


def _path(raw_path: str) -> str:
    segments = [_rfc3986(unquote(segment)) for segment in raw_path.split("/")]
    path = "/".join(segments)
    return path if path.endswith("/") else path + "/"


def _query(pairs: Sequence[tuple[str, str]]) -> str:
    encoded = sorted((_rfc3986(name), _rfc3986(value)) for name, value in pairs)
    return "&".join(f"{name}={value}" for name, value in encoded)


def authorization_parts(value: str) -> tuple[str, list[str], str] | None:
    """(access key, signed header names, signature) of an Authorization header, or None."""
    found = _HEADER.match(value.strip())
    if not found:
        return None
    signed = [name.strip().lower() for name in found["signed"].split(";") if name.strip()]
    return found["access"], signed, found["signature"].lower()


def canonical_request_hash(
    method: str,
    raw_path: str,
    query_pairs: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    signed: Sequence[str],
    body: bytes,
) -> str:
    """Hex SHA-256 of the canonical request, as the gateway rebuilds it from what it received.

    `raw_path` is the path as sent (percent-encoded), `headers` have lower-case names.
    """
    lines = "".join(f"{name}:{headers.get(name, '').strip()}\n" for name in sorted(signed))
    canonical = "\n".join(
        [
            method.upper(),
            _path(raw_path),
            _query(query_pairs),
            lines,
            ";".join(sorted(signed)),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def expected_signature(secret_key: str, sdk_date: str, request_hash: str) -> str:
    """The signature the gateway expects for a canonical request hash."""
    to_sign = f"{SCHEME}\n{sdk_date}\n{request_hash}"
    return hmac.new(secret_key.encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
