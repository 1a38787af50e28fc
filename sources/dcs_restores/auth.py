"""SDK-HMAC-SHA256 request signing (Huawei Cloud / OTC API Gateway) and IAM token headers."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote, unquote, urlsplit

ALGORITHM = "SDK-HMAC-SHA256"
SDK_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
EMPTY_BODY_SHA256 = hashlib.sha256(b"").hexdigest()


def _encode(value: str) -> str:
    # RFC 3986: only unreserved characters stay literal, hex digits upper case
    return quote(value, safe="-_.~")


def canonical_uri(path: str) -> str:
    """Return the path with every segment percent-encoded and a trailing slash.

    The gateway signs the path with a trailing slash even when the request omits it.
    """
    segments = [_encode(unquote(segment)) for segment in path.split("/")]
    uri = "/".join(segments)
    return uri if uri.endswith("/") else uri + "/"


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    """Return the query as sorted `name=value` pairs joined by `&` (empty when no query)."""
    encoded = sorted((_encode(name), _encode(value)) for name, value in pairs)
    return "&".join(f"{name}={value}" for name, value in encoded)


def canonical_request(
    method: str,
    path: str,
    query_pairs: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    signed_headers: list[str],
    body: bytes = b"",
) -> str:
    """Build the canonical request that SDK-HMAC-SHA256 hashes.

    Args:
        method: HTTP method.
        path: URL path as sent (percent-encoded or not).
        query_pairs: decoded query parameters.
        headers: request headers; lookup is case-insensitive.
        signed_headers: lower-case names of the headers to sign, sorted.
        body: raw request body.

    Returns:
        The six canonical parts joined by newlines.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    header_lines = "".join(f"{name}:{lowered.get(name, '').strip()}\n" for name in signed_headers)
    return "\n".join(
        [
            method.upper(),
            canonical_uri(path),
            canonical_query(query_pairs),
            header_lines,
            ";".join(signed_headers),
            hashlib.sha256(body).hexdigest(),
        ]
    )


def string_to_sign(canonical: str, sdk_date: str) -> str:
    """Return the string that is HMAC-signed: algorithm, date and the canonical request hash."""
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{sdk_date}\n{digest}"


def signature(secret_key: str, to_sign: str) -> str:
    """Return the lower-case hex HMAC-SHA256 of `to_sign`, keyed with the raw secret key."""
    return hmac.new(secret_key.encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def host_header(url: str) -> str:
    """Return the Host header value: the host, plus the port only when it is not the default."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    default_port = 443 if parts.scheme == "https" else 80
    if parts.port and parts.port != default_port:
        return f"{host}:{parts.port}"
    return host


def sign_headers(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    access_key: str,
    secret_key: str,
    now: datetime | None = None,
) -> dict[str, str]:
    """Return `headers` plus Host, X-Sdk-Date and the Authorization header for one request.

    Every header passed in is signed (except names containing `_`, as the SDK does), so
    X-Project-Id and X-Security-Token must already be in `headers`.

    Args:
        method: HTTP method.
        url: full request URL including the query string.
        headers: headers to send and sign.
        body: raw request body.
        access_key: AK.
        secret_key: SK; used only as the HMAC key.
        now: signing time (UTC); defaults to the current time.

    Returns:
        A new header dict ready to send.
    """
    parts = urlsplit(url)
    signed = {k: v for k, v in headers.items() if k.lower() not in {"authorization", "x-sdk-date"}}
    signed["Host"] = host_header(url)
    sdk_date = (now or datetime.now(UTC)).strftime(SDK_DATE_FORMAT)
    signed["X-Sdk-Date"] = sdk_date
    names = sorted(name.lower() for name in signed if "_" not in name)
    canonical = canonical_request(
        method,
        parts.path or "/",
        parse_qsl(parts.query, keep_blank_values=True),
        signed,
        names,
        body,
    )
    sig = signature(secret_key, string_to_sign(canonical, sdk_date))
    signed["Authorization"] = (
        f"{ALGORITHM} Access={access_key}, SignedHeaders={';'.join(names)}, Signature={sig}"
    )
    return signed


def parse_authorization(value: str) -> dict[str, str] | None:
    """Split an `SDK-HMAC-SHA256 Access=..., SignedHeaders=..., Signature=...` header.

    Returns:
        The parts keyed by name, or None when the header is not of this form.
    """
    prefix = ALGORITHM + " "
    if not value.startswith(prefix):
        return None
    parts: dict[str, str] = {}
    for item in value[len(prefix) :].split(","):
        name, sep, val = item.strip().partition("=")
        if not sep:
            return None
        parts[name] = val
    if not {"Access", "SignedHeaders", "Signature"} <= parts.keys():
        return None
    return parts
