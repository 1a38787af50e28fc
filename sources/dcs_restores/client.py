"""HTTP client for the DCS API: signs every attempt and retries only what is worth retrying."""

from __future__ import annotations

import http.client
import json
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
from urllib3.exceptions import NameResolutionError, ProtocolError, ReadTimeoutError

from . import auth, errors
from . import log as logger
from .advice import NO_ROUTE_ADVICE, auth_advice
from .errors import Cancelled, DcsApiError, DcsAuthError, DcsNotFound
from .limiter import AdaptiveLimiter
from .settings import DEFAULT_RETRY_BACKOFF_S, DNS_MAX_ATTEMPTS, env_var
from .stats import REQUEST_COUNTERS, ExtractStats
from .transport import (
    ACCEPT_ENCODING,
    WATCHDOG,
    Aborted,
    BodyTooLarge,
    Flight,
    TruncatedBody,
    decode_text,
    read_body,
    watched_session,
)
from .validation import Credentials, SourceSettings

# the errors live in errors.py; importing them from here keeps working
__all__ = ["Cancelled", "DcsApiError", "DcsAuthError", "DcsClient", "DcsNotFound", "retry_delay"]
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# answers that refuse the credentials themselves (not one route): every later request of the
# client is refused without being sent, since repeated bad AK/SK tries lock the key
CREDENTIAL_CODES = frozenset(
    {"APIGW.0301", "APIGW.0307", "DCS.1001", "DCS.1002", "DCS.1003", "DCS.1004"}
)
_ROUTE_KINDS = frozenset({"instances", "restores", "backups"})


_MISSING = object()


def _url(endpoint: str, path: str, params: dict[str, Any]) -> str:
    # sorted query: the same order the signature canonicalises, as the SDK sends it
    query = urlencode(sorted((k, str(v)) for k, v in params.items() if v is not None))
    return f"{endpoint}{path}" + (f"?{query}" if query else "")


def credential_failure(error: BaseException) -> bool:
    """True for an answer that refuses the credentials (any 401, or a credential code): no
    route of the project can be read with them."""
    return isinstance(error, DcsAuthError) and (
        error.status == 401 or (error.code or "") in CREDENTIAL_CODES
    )


def route_kind(path: str) -> str:
    """The kind of route `path` is ("instances", "restores", "backups", or "instance"): a
    refusal by policy holds for every request of that kind, not for the others."""
    last = path.rstrip("/").rsplit("/", 1)[-1]
    return last if last in _ROUTE_KINDS else "instance"


def retry_delay(
    attempt: int,
    max_delay: float,
    retry_after: float | None = None,
    rand: Callable[[], float] = random.random,
) -> float:
    """Return the seconds to wait after failed attempt number `attempt` (1-based).

    Exponential back-off with equal jitter (half fixed, half random), so workers that failed
    together do not come back together; at least the server's Retry-After (plus up to 20 %,
    for the same reason); never more than `max_delay`, which bounds a run's time.
    """
    delay: float = min(max_delay, DEFAULT_RETRY_BACKOFF_S * 2 ** (attempt - 1))
    delay *= 0.5 + rand() / 2
    if retry_after is not None:
        delay = max(delay, retry_after * (1 + rand() / 5))
    return min(max_delay, delay)


@dataclass(frozen=True)
class _Refusal:
    """A 401/403 answer or a gateway 404 (no such route), remembered to refuse later requests
    without sending them; each is raised as a new error naming its own request."""

    kind: type[DcsAuthError] | type[DcsNotFound]
    status: int
    code: str | None
    text: str

    def error(self, where: str, instance_id: str | None) -> DcsApiError:
        return self.kind(
            f"{where}: {self.text}", status=self.status, code=self.code, instance_id=instance_id
        )


@dataclass
class _Failure:
    status: int | None
    code: str | None
    message: str
    retry_after: float | None = None
    # fewer attempts than max_attempts for failures that retrying rarely cures
    max_attempts: int | None = None


def _transport_failure(
    exc: BaseException, timeout: float, host: str, port: int, in_body: bool
) -> _Failure:
    """Classify a request that got no complete answer; all of these are retried."""
    chain = list(errors.chain(exc))
    if any(isinstance(c, socket.gaierror | NameResolutionError) for c in chain):
        return _Failure(
            None,
            "connection_error",
            f"connection_error: cannot resolve host {host}",
            max_attempts=DNS_MAX_ATTEMPTS,
        )
    if any(isinstance(c, ConnectionRefusedError) for c in chain):
        return _Failure(
            None, "connection_error", f"connection_error: connection refused by {host}:{port}"
        )
    if any(isinstance(c, requests.Timeout | TimeoutError | ReadTimeoutError) for c in chain):
        return _Failure(None, "timeout", f"timeout: answer not complete within {timeout:g}s")
    if in_body:
        return _Failure(None, "truncated_body", "truncated_body: the answer broke off mid-body")
    kind = "connection_error" if isinstance(exc, requests.ConnectionError) else "transport_error"
    return _Failure(None, kind, f"{kind}: {type(chain[-1]).__name__} talking to {host}:{port}")


def _error_fields(body: Any, status: int, reason: str) -> tuple[str | None, str]:
    if not isinstance(body, dict):
        return None, reason or f"HTTP {status}"
    code = body.get("error_code") or body.get("errorCode") or body.get("code")
    message = body.get("error_msg") or body.get("errorMsg") or body.get("message") or ""
    return (_clip(str(code), 80) if code else None), _clip(str(message), 200)


_LINE_BREAKS = {ord(ch): " " for ch in "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"}


def _clip(text: str, limit: int) -> str:
    # one line: a server must not be able to forge further log lines; other control
    # characters stay, for the command's output to show them escaped
    return text[:limit].translate(_LINE_BREAKS)


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return min(86400.0, max(0.0, float(value)))
    except ValueError:
        try:
            return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
        except (TypeError, ValueError, OverflowError, IndexError):
            return None


def _total(body: dict[str, Any]) -> int:
    value = body.get("total_num")
    if isinstance(value, bool):
        return 0
    try:
        return int(float(value)) if isinstance(value, int | float | str) else 0
    except (ValueError, OverflowError):
        return 0


class DcsClient:
    """Signed GET requests against one project's DCS endpoint, shared by worker threads."""

    def __init__(
        self,
        settings: SourceSettings,
        limiter: AdaptiveLimiter | None = None,
        stats: ExtractStats | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.endpoint = settings.endpoint
        self.project_id = settings.project_id
        self._credentials: Credentials = settings.credentials
        self._max_attempts = settings.max_attempts
        self._max_delay = settings.max_retry_delay
        # the deadline of one attempt, connect to last body byte; the socket timeouts only
        # bound each step, the watchdog of transport.py enforces the deadline
        self._deadline_s = settings.request_timeout
        self._timeout = (min(10.0, settings.request_timeout), settings.request_timeout)
        self._max_body = settings.max_body_bytes
        parts = urlsplit(self.endpoint)
        self._host = parts.hostname or "?"
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._warned: set[str] = set()
        self.limiter = limiter or AdaptiveLimiter(settings.concurrency)
        self._local = threading.local()
        # the first request runs alone: if the credentials are wrong, exactly one request fails
        self._verified = threading.Event()
        self._first = threading.Lock()
        # a refusal of the credentials holds for every route; a refusal by policy (403) or a
        # gateway without the route (404) only for its route kind: restores are still read
        # when only the backups route is refused
        self._auth_failed: _Refusal | None = None
        self._refused: dict[str, _Refusal] = {}
        # requests, retries and authentication failures are counted into the run's statistics
        self.stats = stats if stats is not None else ExtractStats()
        # the run's stop signal: once set, retries end at once instead of sleeping on and
        # requests in flight are aborted
        self._stop = stop if stop is not None else threading.Event()
        # answers fetched ahead of the run (prefetch.py), by URL: each answers its own request
        # once; None when nothing is kept
        self._kept: dict[str, Any] | None = None
        self._keeping: Callable[[str, Any, int], None] | None = None
        self._halt: threading.Event | None = None
        self._kept_lock = threading.Lock()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = watched_session()
            # proxies and CA bundle from the environment, resolved once instead of per request
            # (~0.3 ms of CPU each); without trust_env, a ~/.netrc entry cannot replace the
            # signed Authorization header either
            found = session.merge_environment_settings(self.endpoint, {}, None, None, None)
            session.proxies.update(found["proxies"])
            session.verify = found["verify"]
            session.trust_env = False
            self._local.session = session
        return session

    def _headers(self, method: str, url: str) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "X-Project-Id": self.project_id,
            "Accept-Encoding": ACCEPT_ENCODING,
        }
        creds = self._credentials
        if creds.auth_token:
            headers["X-Auth-Token"] = creds.auth_token
            return headers
        if creds.security_token:
            headers["X-Security-Token"] = creds.security_token
        assert creds.access_key and creds.secret_key
        return auth.sign_headers(method, url, headers, b"", creds.access_key, creds.secret_key)

    def _count(self, key: str) -> None:
        self.stats.count(key)

    def get(
        self,
        path: str,
        params: dict[str, Any],
        instance_id: str | None = None,
        list_key: str | None = None,
    ) -> Any:
        """GET `path` and return the decoded JSON body, or None for 204 No Content.

        A 200 body that is not JSON, or not an object whose `list_key` (when given) is a list
        or absent, is a malformed page and retried like a server error.

        Raises:
            DcsAuthError: 401/403, or an earlier request of this client had its credentials
                refused, or was refused by policy on the same kind of route.
            DcsNotFound: 404.
            DcsApiError: any other failure, after the retries it deserves.
        """
        self._raise_if_refused(path, instance_id)
        if self._halt is not None and self._halt.is_set():
            raise Cancelled()
        url = _url(self.endpoint, path, params)
        if self._kept is not None:
            with self._kept_lock:
                found = self._kept.pop(url, _MISSING)
            if found is not _MISSING:
                self._count("early_answers")
                return found
        if not self._verified.is_set():
            with self._first:
                self._raise_if_refused(path, instance_id)
                if not self._verified.is_set():
                    result = self._get_with_retries(url, path, instance_id, list_key)
                    self._verified.set()
                    return result
        return self._get_with_retries(url, path, instance_id, list_key)

    def keep_answers(self, keep: Callable[[str, Any, int], None], halt: threading.Event) -> None:
        """Fetching ahead (prefetch.py): hand each answer to `keep` with its URL and body size,
        try each request once (a failure costs the run no extra tries), and send nothing more
        once `halt` is set (Cancelled)."""
        self._keeping = keep
        self._halt = halt
        self._max_attempts = 1

    def inherit_refusals(self, other: DcsClient) -> None:
        """Take over what `other` (same endpoint and credentials) was refused: those requests
        fail at once, without being sent."""
        self._auth_failed = other._auth_failed
        self._refused.update(other._refused)
        if other._verified.is_set():
            self._verified.set()

    def answer_from(
        self,
        kept: dict[str, Any],
        settings: SourceSettings,
        stats: ExtractStats,
        stop: threading.Event,
    ) -> None:
        """Become the run's client: answer requests from `kept` (URL -> answer) first, count
        into `stats`, stop with `stop`, and retry as the settings say again."""
        self._keeping = None
        self._halt = None
        self._max_attempts = settings.max_attempts
        for counter in REQUEST_COUNTERS:
            stats.count(counter, getattr(self.stats, counter))
        self.stats = stats
        self._stop = stop
        with self._kept_lock:
            self._kept = kept

    def _where(self, path: str, instance_id: str | None) -> str:
        # redacted: instance ids come from the listing, which the server controls
        return self._redact(f"instance {instance_id}" if instance_id else f"GET {path}")

    def _raise_if_refused(self, path: str, instance_id: str | None) -> None:
        refusal = self._auth_failed or self._refused.get(route_kind(path))
        if refusal is not None:
            raise refusal.error(self._where(path, instance_id), instance_id)

    def _get_with_retries(
        self, url: str, path: str, instance_id: str | None, list_key: str | None
    ) -> Any:
        where = self._where(path, instance_id)
        failure: _Failure | None = None
        started = time.monotonic()
        for attempt in range(1, self._max_attempts + 1):
            self._raise_if_refused(path, instance_id)
            if self._stop.is_set():
                raise Cancelled()
            with self.limiter.slot():
                outcome = self._attempt(url, where, instance_id, list_key, route_kind(path))
            if not isinstance(outcome, _Failure):
                self.limiter.on_success()
                if self._keeping is not None:
                    self._keeping(url, outcome, getattr(self._local, "body_size", 0))
                return outcome
            failure = outcome
            if failure.status == 429:
                self._count("throttled")
                self.limiter.on_throttle()
            if attempt >= min(self._max_attempts, failure.max_attempts or self._max_attempts):
                break
            delay = retry_delay(attempt, self._max_delay, failure.retry_after)
            self._count("retries")
            budget = min(self._max_attempts, failure.max_attempts or self._max_attempts)
            logger.warning(
                self._redact(
                    f"{where}: {failure.message}; retry {attempt}/{budget - 1} in {delay:.1f}s"
                )
            )
            if self._stop.wait(delay):
                raise Cancelled()
        assert failure is not None
        raise DcsApiError(
            self._redact(
                f"{where}: {failure.message} (gave up after {attempt} attempts in "
                f"{time.monotonic() - started:.0f}s)"
            ),
            status=failure.status,
            code=failure.code,
            instance_id=instance_id,
        )

    def _attempt(
        self, url: str, where: str, instance_id: str | None, list_key: str | None, route: str
    ) -> Any:
        # signed per attempt, so a retry carries a fresh X-Sdk-Date
        headers = self._headers("GET", url)
        self._count("requests")
        flight = Flight(time.monotonic() + self._deadline_s, self._stop)
        with WATCHDOG.watch(flight):
            try:
                fetched = self._fetch(url, headers, flight)
            except Aborted as exc:
                if exc.reason == "cancelled":
                    raise Cancelled() from None
                return _Failure(
                    None,
                    "timeout",
                    f"timeout: answer not complete within {self._deadline_s:g}s",
                )
            except BodyTooLarge:
                fetched = None
        if fetched is None:
            # raised outside the handler: no context chain that keeps the read frames alive
            raise DcsApiError(
                f"{where}: body_too_large: the answer exceeds max_body_mb="
                f"{self._max_body // (1024 * 1024)} ({env_var('max_body_mb')})",
                code="body_too_large",
                instance_id=instance_id,
            )
        if isinstance(fetched, _Failure):
            return fetched
        response, body = fetched
        self._local.body_size = len(body)  # what an answer kept early costs (prefetch.py)
        try:
            return self._interpret(response, body, where, instance_id, list_key, route)
        except (DcsApiError, Cancelled):
            raise
        except Exception as exc:  # whatever a hostile answer provokes stays this request's
            return _Failure(
                response.status_code,
                "malformed_answer",
                f"malformed_answer: HTTP {response.status_code} that cannot be read "
                f"({type(exc).__name__})",
            )

    def _fetch(
        self, url: str, headers: dict[str, str], flight: Flight
    ) -> tuple[requests.Response, bytearray] | _Failure:
        """Get the answer and its whole body, within the deadline and the size bound."""
        try:
            # no redirects: requests would forward X-Auth-Token / X-Security-Token to any host
            response = self._session().get(
                url, headers=headers, timeout=self._timeout, allow_redirects=False, stream=True
            )
        except Exception as exc:
            flight.check()
            if isinstance(exc, requests.ConnectionError | requests.Timeout) or (
                # every requests exception is an OSError; the others say the answer is bad
                isinstance(exc, OSError) and not isinstance(exc, requests.RequestException)
            ):
                return _transport_failure(exc, self._timeout[1], self._host, self._port, False)
            # a malformed Location, a header that requests or urllib3 cannot parse, ...
            return _Failure(
                None,
                "malformed_answer",
                f"malformed_answer: an answer that cannot be read ({type(exc).__name__})",
            )
        try:
            flight.check()
            return response, read_body(response, self._max_body, flight)
        except (Aborted, BodyTooLarge):
            raise
        except TruncatedBody:
            return _Failure(None, "truncated_body", "truncated_body: the answer broke off mid-body")
        except (OSError, ProtocolError, ReadTimeoutError, http.client.HTTPException) as exc:
            flight.check()
            return _transport_failure(exc, self._timeout[1], self._host, self._port, True)
        except Exception as exc:  # an unknown Content-Encoding, a corrupt gzip stream, ...
            flight.check()
            return _Failure(
                response.status_code,
                "malformed_body",
                f"malformed_body: a body that cannot be decoded ({type(exc).__name__})",
            )
        finally:
            response.close()
            if flight.reason is not None and flight.conn is not None:
                flight.conn.close()  # shut down by the watchdog: never back to the pool

    def _text(self, body: bytearray, response: requests.Response, where: str) -> str:
        content_type = str(response.headers.get("Content-Type", ""))
        text, fallback = decode_text(body, content_type)
        if fallback is not None and where not in self._warned:
            self._warned.add(where)
            shown = _clip(self._redact(content_type), 80)
            logger.warning(
                self._redact(
                    f"{where}: the answer is not valid UTF-8; decoded as {fallback} "
                    f"(Content-Type {shown!r})"
                )
            )
        return self._redact(text)

    def _interpret(
        self,
        response: requests.Response,
        body: bytearray,
        where: str,
        instance_id: str | None,
        list_key: str | None,
        route: str,
    ) -> Any:
        status = response.status_code
        if status == 204:
            return None
        text = self._text(body, response, where)
        try:
            # NaN and Infinity stay floats: the record layer sets them aside and flags them
            decoded: Any = json.loads(text)
        except ValueError:
            decoded = _NOT_JSON
        if "\\" in text and decoded is not _NOT_JSON:
            # a JSON escape can spell a secret that the text does not contain literally
            decoded = self._redact_tree(decoded)
        if status == 200:
            return self._page(decoded, response, list_key)
        reason = _clip(self._redact(str(response.reason or "")), 80)
        code, message = _error_fields(decoded, status, reason)
        code = self._redact(code) if code else None
        message = self._redact(message)
        label = f"HTTP {status} {code or ''}".strip() + (f": {message}" if message else "")
        if status in RETRY_STATUSES:
            return _Failure(status, code, label, _retry_after(response))
        if status in (401, 403):
            self._count("auth_failures")
            advice = auth_advice(code, status, self._credentials.mode)
            refusal = _Refusal(DcsAuthError, status, code, f"{label}; {advice}")
            error = refusal.error(where, instance_id)
            if credential_failure(error):
                self._auth_failed = refusal
            else:
                self._refused[route] = refusal
            raise error
        if status == 404:
            if code and code.startswith("DCS."):  # about this instance (deleted), not the route
                raise DcsNotFound(
                    f"{where}: {label}", status=status, code=code, instance_id=instance_id
                )
            refusal = _Refusal(DcsNotFound, status, code, f"{label}; {NO_ROUTE_ADVICE}")
            self._refused[route] = refusal
            raise refusal.error(where, instance_id)
        raise DcsApiError(f"{where}: {label}", status=status, code=code, instance_id=instance_id)

    def _page(self, decoded: Any, response: requests.Response, list_key: str | None) -> Any:
        """A 200 body, or the _Failure of a 200 that is not a page (an error in disguise)."""
        if decoded is _NOT_JSON:
            kind = _clip(self._redact(str(response.headers.get("Content-Type", "?"))), 80)
            return _Failure(
                200,
                "malformed_body",
                f"malformed_body: HTTP 200 with a {kind.split(';')[0] or '?'} body, not JSON",
            )
        if list_key is None:
            return decoded
        if not isinstance(decoded, dict):
            return _Failure(
                200,
                "malformed_body",
                f"malformed_body: HTTP 200 with a JSON {type(decoded).__name__}, not an object",
            )
        items = decoded.get(list_key)
        if items is not None and not isinstance(items, list):
            return _Failure(
                200, "malformed_body", f"malformed_body: HTTP 200 without a {list_key} list"
            )
        if items is None:
            error_code = decoded.get("error_code") or decoded.get("errorCode")
            if error_code or decoded.get("error_msg") or decoded.get("errorMsg"):
                code, message = _error_fields(decoded, 200, "")
                label = f"HTTP 200 carrying error {code or '?'}" + (
                    f": {message}" if message else ""
                )
                return _Failure(200, "malformed_body", f"malformed_body: {label}")
            total = _total(decoded)
            if total > 0:
                return _Failure(
                    200,
                    "malformed_body",
                    f"malformed_body: HTTP 200 with total_num={total} but no {list_key} list",
                )
        return decoded

    def _redact_tree(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._redact(value)
        if isinstance(value, list):
            return [self._redact_tree(item) for item in value]
        if isinstance(value, dict):
            return {self._redact(str(k)): self._redact_tree(v) for k, v in value.items()}
        return value

    def _redact(self, text: str) -> str:
        # a gateway that echoes a header back must not put a secret into a log or an error
        for secret in self._credentials.secrets():
            text = text.replace(secret, "***")
        return text


_NOT_JSON = object()
