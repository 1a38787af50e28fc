"""API Gateway authentication of the simulator: AK/SK signatures, IAM tokens and AK lockout."""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dcs_simulator.signing import (
    DATE_FORMAT,
    authorization_parts,
    canonical_request_hash,
    expected_signature,
)

_BAD_AUTH = "Incorrect IAM authentication information: verify aksk signature fail"
_BAD_TOKEN = "Incorrect IAM authentication information: decrypt token fail"


@dataclass(frozen=True)
class Verdict:
    """Outcome of authentication; on failure, the gateway code and message to answer with."""

    ok: bool
    code: str = ""
    message: str = ""


_OK = Verdict(True)


class Gate:
    """Checks AK/SK signatures (real clock) and IAM tokens; locks AKs that keep failing."""

    def __init__(
        self,
        credentials: Mapping[str, str],
        tokens: Iterable[str],
        expired_tokens: Iterable[str],
        security_tokens: Mapping[str, str],
        *,
        max_skew: timedelta = timedelta(minutes=15),
        lockout_after: int = 5,
        lockout_s: float = 300.0,
    ) -> None:
        self.credentials = dict(credentials)
        self.tokens = frozenset(tokens)
        self.expired_tokens = frozenset(expired_tokens)
        self.security_tokens = dict(security_tokens)
        self.max_skew, self.lockout_after, self.lockout_s = max_skew, lockout_after, lockout_s
        self.failures = 0
        self._streak: dict[str, int] = {}
        self._locked_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def check(
        self,
        method: str,
        raw_path: str,
        query_pairs: list[tuple[str, str]],
        headers: Mapping[str, str],
        body: bytes,
        path_project: str | None,
    ) -> Verdict:
        """Return whether the request is authenticated; `headers` must have lower-case names."""
        if "authorization" in headers:
            parts = authorization_parts(headers["authorization"])
            access_key = parts[0] if parts else ""
            verdict = self._signed(
                method, raw_path, query_pairs, headers, body, parts, path_project
            )
            return self._count(access_key, verdict)
        token = headers.get("x-auth-token")
        if token and any(hmac.compare_digest(token, t) for t in self.tokens):
            return _OK
        if token and token in self.expired_tokens:
            return self._count("", Verdict(False, "APIGW.0307", "The token must be updated."))
        return self._count("", Verdict(False, "APIGW.0301", _BAD_TOKEN))

    def _signed(
        self,
        method: str,
        raw_path: str,
        query_pairs: list[tuple[str, str]],
        headers: Mapping[str, str],
        body: bytes,
        parts: tuple[str, list[str], str] | None,
        path_project: str | None,
    ) -> Verdict:
        fail = Verdict(False, "APIGW.0301", _BAD_AUTH)
        if parts is None or parts[0] not in self.credentials:
            return fail
        access_key, signed, sent_signature = parts
        if self._locked_until.get(access_key, 0.0) > time.monotonic():
            return Verdict(
                False, "APIGW.0301", "Incorrect IAM authentication information: AK locked"
            )
        try:
            sdk_date = datetime.strptime(headers.get("x-sdk-date", ""), DATE_FORMAT).replace(
                tzinfo=UTC
            )
        except ValueError:
            return fail
        if abs(datetime.now(UTC) - sdk_date) > self.max_skew or not {"host", "x-sdk-date"} <= set(
            signed
        ):
            return fail
        needed = self.security_tokens.get(access_key)
        if needed is not None and (
            "x-security-token" not in signed
            or not hmac.compare_digest(headers.get("x-security-token", ""), needed)
        ):
            return fail
        request_hash = canonical_request_hash(method, raw_path, query_pairs, headers, signed, body)
        expected = expected_signature(
            self.credentials[access_key], headers["x-sdk-date"], request_hash
        )
        if not hmac.compare_digest(expected, sent_signature):
            return fail
        project = headers.get("x-project-id")
        if project is not None and path_project is not None and project != path_project:
            return fail
        return _OK

    def _count(self, access_key: str, verdict: Verdict) -> Verdict:
        with self._lock:
            if verdict.ok:
                self._streak.pop(access_key, None)
                return verdict
            self.failures += 1
            if access_key and self._locked_until.get(access_key, 0.0) <= time.monotonic():
                streak = self._streak.get(access_key, 0) + 1
                self._streak[access_key] = streak
                if streak > self.lockout_after:
                    self._locked_until[access_key] = time.monotonic() + self.lockout_s
                    self._streak[access_key] = 0
        return verdict
