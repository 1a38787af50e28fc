"""HTTP client for the DCS API: signs every attempt and retries only what is worth retrying."""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode

import requests
from dlt.common import logger

from . import auth
from .config import Credentials, SourceSettings
from .hints import NO_ROUTE_HINT, auth_hint
from .limiter import AdaptiveLimiter
from .settings import DEFAULT_RETRY_BACKOFF_S

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


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
    delay = min(max_delay, DEFAULT_RETRY_BACKOFF_S * 2 ** (attempt - 1)) * (0.5 + rand() / 2)
    if retry_after is not None:
        delay = max(delay, retry_after * (1 + rand() / 5))
    return min(max_delay, delay)


class DcsApiError(Exception):
    """A request that failed for good; `str()` is one line naming the instance and the code."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        instance_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.instance_id = instance_id


class Cancelled(Exception):
    """The run stopped before this request (or its instance) was done."""


class DcsAuthError(DcsApiError):
    """401 or 403: never retried, since repeated bad AK/SK tries lock the key."""


class DcsNotFound(DcsApiError):
    """404: for an instance, it was deleted between listing and reading."""


@dataclass
class _Failure:
    status: int | None
    code: str | None
    message: str
    retry_after: float | None = None


def _transport_failure(exc: requests.RequestException, timeout: float) -> _Failure:
    """Classify a request that got no complete answer; all of these are retried."""
    if isinstance(exc, requests.Timeout):
        return _Failure(None, "timeout", f"timeout: no answer within {timeout:g}s")
    if isinstance(
        exc, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError
    ):
        return _Failure(None, "truncated_body", "truncated_body: the answer broke off mid-body")
    cause: BaseException = exc
    for _ in range(8):  # requests and urllib3 nest the OS error a few levels deep
        inner = cause.__cause__ or next(
            (arg for arg in reversed(cause.args) if isinstance(arg, BaseException)), None
        )
        if inner is None:
            break
        cause = inner
    kind = "connection_error" if isinstance(exc, requests.ConnectionError) else "transport_error"
    return _Failure(None, kind, f"{kind}: {type(cause).__name__}")


def _error_fields(response: requests.Response) -> tuple[str | None, str]:
    try:
        body = response.json()
    except ValueError:
        return None, response.reason or f"HTTP {response.status_code}"
    if not isinstance(body, dict):
        return None, f"HTTP {response.status_code}"
    code = body.get("error_code") or body.get("errorCode") or body.get("code")
    message = body.get("error_msg") or body.get("errorMsg") or body.get("message") or ""
    return (str(code) if code else None), str(message).replace("\n", " ")[:200]


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
        except (TypeError, ValueError):
            return None


class DcsClient:
    """Signed GET requests against one project's DCS endpoint, shared by worker threads."""

    def __init__(self, settings: SourceSettings, limiter: AdaptiveLimiter | None = None) -> None:
        self.endpoint = settings.endpoint
        self.project_id = settings.project_id
        self._credentials: Credentials = settings.credentials
        self._max_attempts = settings.max_attempts
        self._max_delay = settings.max_retry_delay
        self._timeout = (min(10.0, settings.request_timeout), settings.request_timeout)
        self.limiter = limiter or AdaptiveLimiter(settings.concurrency)
        self._local = threading.local()
        self._lock = threading.Lock()
        # the first request runs alone: if the credentials are wrong, exactly one request fails
        self._verified = threading.Event()
        self._first = threading.Lock()
        self._auth_failed: DcsAuthError | None = None
        self.stats: Counter[str] = Counter()
        # set when the run stops: retries then end at once instead of sleeping on
        self.cancel: threading.Event | None = None

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
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
        headers = {"Content-Type": "application/json", "X-Project-Id": self.project_id}
        creds = self._credentials
        if creds.auth_token:
            headers["X-Auth-Token"] = creds.auth_token
            return headers
        if creds.security_token:
            headers["X-Security-Token"] = creds.security_token
        assert creds.access_key and creds.secret_key
        return auth.sign_headers(method, url, headers, b"", creds.access_key, creds.secret_key)

    def _count(self, key: str) -> None:
        with self._lock:
            self.stats[key] += 1

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
            DcsAuthError: 401/403, or an earlier request of this client failed authentication.
            DcsNotFound: 404.
            DcsApiError: any other failure, after the retries it deserves.
        """
        if self._auth_failed is not None:
            raise self._auth_failed
        if not self._verified.is_set():
            with self._first:
                if self._auth_failed is not None:
                    raise self._auth_failed
                if not self._verified.is_set():
                    result = self._get_with_retries(path, params, instance_id, list_key)
                    self._verified.set()
                    return result
        return self._get_with_retries(path, params, instance_id, list_key)

    def _get_with_retries(
        self, path: str, params: dict[str, Any], instance_id: str | None, list_key: str | None
    ) -> Any:
        # sorted query: the same order the signature canonicalises, as the SDK sends it
        query = urlencode(sorted((k, str(v)) for k, v in params.items() if v is not None))
        url = f"{self.endpoint}{path}" + (f"?{query}" if query else "")
        where = f"instance {instance_id}" if instance_id else f"GET {path}"
        failure: _Failure | None = None
        started = time.monotonic()
        for attempt in range(1, self._max_attempts + 1):
            if self._auth_failed is not None:
                raise self._auth_failed
            if self.cancel is not None and self.cancel.is_set():
                raise Cancelled()
            with self.limiter.slot():
                outcome = self._attempt(url, where, instance_id, list_key)
            if not isinstance(outcome, _Failure):
                self.limiter.on_success()
                return outcome
            failure = outcome
            if failure.status == 429:
                self.limiter.on_throttle()
            if attempt == self._max_attempts:
                break
            delay = retry_delay(attempt, self._max_delay, failure.retry_after)
            self._count("retries")
            logger.warning(
                f"{where}: {failure.message}; retry {attempt}/{self._max_attempts - 1} "
                f"in {delay:.1f}s"
            )
            if self.cancel is not None:
                if self.cancel.wait(delay):
                    raise Cancelled()
            else:
                time.sleep(delay)
        assert failure is not None
        raise DcsApiError(
            f"{where}: {failure.message} (gave up after {self._max_attempts} attempts in "
            f"{time.monotonic() - started:.0f}s)",
            status=failure.status,
            code=failure.code,
            instance_id=instance_id,
        )

    def _attempt(self, url: str, where: str, instance_id: str | None, list_key: str | None) -> Any:
        # signed per attempt, so a retry carries a fresh X-Sdk-Date
        headers = self._headers("GET", url)
        self._count("requests")
        try:
            # no redirects: requests would forward X-Auth-Token / X-Security-Token to any host
            response = self._session().get(
                url, headers=headers, timeout=self._timeout, allow_redirects=False
            )
            body = response.content
        except requests.RequestException as exc:
            return _transport_failure(exc, self._timeout[1])
        status = response.status_code
        if status == 204:
            return None
        if status == 200:
            kind = response.headers.get("Content-Type", "?").split(";")[0]
            try:
                decoded = json.loads(body)
            except ValueError:
                return _Failure(
                    200, "malformed_body", f"malformed_body: HTTP 200 with a {kind} body, not JSON"
                )
            if list_key is not None and not (
                isinstance(decoded, dict) and isinstance(decoded.get(list_key, []), list | None)
            ):
                return _Failure(
                    200, "malformed_body", f"malformed_body: HTTP 200 without a {list_key} list"
                )
            return decoded
        code, message = _error_fields(response)
        message = self._redact(message)
        label = f"HTTP {status} {code or ''}".strip() + (f": {message}" if message else "")
        if status in RETRY_STATUSES:
            return _Failure(status, code, label, _retry_after(response))
        if status in (401, 403):
            self._count("auth_failures")
            hint = auth_hint(code, status, self._credentials.mode)
            error = DcsAuthError(
                f"{where}: {label}; {hint}", status=status, code=code, instance_id=instance_id
            )
            self._auth_failed = error
            raise error
        if status == 404:
            hint = "" if code and code.startswith("DCS.") else f"; {NO_ROUTE_HINT}"
            raise DcsNotFound(
                f"{where}: {label}{hint}", status=status, code=code, instance_id=instance_id
            )
        raise DcsApiError(f"{where}: {label}", status=status, code=code, instance_id=instance_id)

    def _redact(self, text: str) -> str:
        # a gateway that echoes a header back must not put a secret into a log or an error
        for secret in self._credentials.secrets():
            text = text.replace(secret, "***")
        return text
