"""SDK-HMAC-SHA256 signing against the published and the DCS-shaped test vectors."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlsplit

import pytest
from dcs_restores import auth

PID = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    ("url", "headers", "ak", "sk", "when", "signed", "canonical_hash", "expected"),
    [
        pytest.param(
            "https://service.region.example.com/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs"
            "?limit=2&marker=13551d6b-755d-4757-b956-536f674975c0",
            {"Content-Type": "application/json"},
            "QTWAOYTTINDUT2QVKYUC",
            "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc",
            datetime(2019, 11, 15, 3, 36, 55, tzinfo=UTC),
            "content-type;host;x-sdk-date",
            "b25362e603ee30f4f25e7858e8a7160fd36e803bb2dfe206278659d71a9bcd7a",
            "7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe",
            id="published",
        ),
        pytest.param(
            f"https://dcs.eu-de.otc.t-systems.com/v2/{PID}/instances/"
            "11111111-2222-3333-4444-555555555555/restores"
            "?offset=0&limit=1000&begin_time=20240101000000&end_time=20240131235959",
            {"Content-Type": "application/json", "X-Project-Id": PID},
            "EXAMPLEAK0000000000",
            "EXAMPLESECRETKEYEXAMPLESECRETKEY00000000",
            datetime(2024, 2, 1, 12, 0, 0, tzinfo=UTC),
            "content-type;host;x-project-id;x-sdk-date",
            "7bacf7b51a109724673d64ec5a0663a71379b9dc869a13c1b291218711683028",
            "272296fa32a462f8a514adab7e82f0aa1763311ed9185be948bc0aee121d29f8",
            id="dcs-shaped",
        ),
    ],
)
def test_signature_matches_vector(
    url: str,
    headers: dict[str, str],
    ak: str,
    sk: str,
    when: datetime,
    signed: str,
    canonical_hash: str,
    expected: str,
) -> None:
    result = auth.sign_headers("GET", url, headers, b"", ak, sk, now=when)
    assert result["Authorization"] == (
        f"SDK-HMAC-SHA256 Access={ak}, SignedHeaders={signed}, Signature={expected}"
    )
    parts = urlsplit(url)
    canonical = auth.canonical_request(
        "GET", parts.path, parse_qsl(parts.query), result, signed.split(";"), b""
    )
    assert hashlib.sha256(canonical.encode()).hexdigest() == canonical_hash
    assert result["X-Sdk-Date"] == when.strftime("%Y%m%dT%H%M%SZ")


def test_canonical_query_sorts_and_encodes() -> None:
    assert auth.canonical_query([("b", "x y"), ("B", "1"), ("a", "")]) == "B=1&a=&b=x%20y"
    assert auth.canonical_query([]) == ""


def test_canonical_uri_adds_trailing_slash_and_encodes() -> None:
    assert auth.canonical_uri("/v2/p/instances") == "/v2/p/instances/"
    assert auth.canonical_uri("/a b/c%2Fd/") == "/a%20b/c%2Fd/"


def test_host_header_keeps_only_non_default_port() -> None:
    assert auth.host_header("https://dcs.example.com:443/x") == "dcs.example.com"
    assert auth.host_header("http://127.0.0.1:8123/x") == "127.0.0.1:8123"


def test_signature_changes_with_date_and_secret() -> None:
    url = f"https://dcs.example.com/v2/{PID}/instances"
    one = auth.sign_headers(
        "GET", url, {}, b"", "AKAKAKAKAK", "s1", datetime(2024, 1, 1, tzinfo=UTC)
    )
    two = auth.sign_headers(
        "GET", url, {}, b"", "AKAKAKAKAK", "s1", datetime(2024, 1, 2, tzinfo=UTC)
    )
    three = auth.sign_headers(
        "GET", url, {}, b"", "AKAKAKAKAK", "s2", datetime(2024, 1, 1, tzinfo=UTC)
    )
    assert len({one["Authorization"], two["Authorization"], three["Authorization"]}) == 3
    assert "s1" not in one["Authorization"]


def test_parse_authorization_round_trip() -> None:
    header = auth.sign_headers("GET", "https://h/x", {}, b"", "AKAKAKAKAK", "sk")["Authorization"]
    parts = auth.parse_authorization(header)
    assert parts is not None
    assert parts["Access"] == "AKAKAKAKAK"
    assert parts["SignedHeaders"] == "host;x-sdk-date"
    assert auth.parse_authorization("Bearer abc") is None
