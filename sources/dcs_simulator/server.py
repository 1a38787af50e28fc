"""Loopback HTTP server answering DCS v2 requests from a World, with auth, faults and a log."""

from __future__ import annotations

import socket
import struct
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl

from dcs_simulator import api
from dcs_simulator.api import Reply, gateway_error
from dcs_simulator.faults import PASS_THROUGH, FaultPlan, TokenBucket, fault_reply, spoil
from dcs_simulator.gate import Gate
from dcs_simulator.world import World

DEMO_ACCESS_KEY = "SIMULATORDEMOAK00000"
DEMO_SECRET_KEY = "SimulatorDemoSecretKeyNotReal0000000000"
DEMO_AUTH_TOKEN = "MIIsimulator-demo-token-not-a-real-iam-token"
_ADMIN_ROUTES = "POST /_sim/advance?seconds=N, POST /_sim/now?at=ISO, GET /_sim/stats"
_NO_ROUTE = "The API does not exist or has not been published in the environment"


@dataclass(frozen=True)
class RequestRecord:
    """One request as the simulator saw it; of the headers only X-Sdk-Date, never credentials."""

    method: str
    path: str
    query: dict[str, str]
    status: int  # 0 when the connection was reset without an answer
    instance_id: str | None
    kind: str  # "instances", "instance", "restores", "backups" or "other"
    auth_ok: bool
    at: float  # real clock, epoch seconds
    fault: str | None = None  # fault kind that fired, or "throttle"
    # the signing time as sent: a retry must carry a fresh one (not secret, unlike the keys)
    sdk_date: str | None = None


class DcsSimulator:
    """A local stand-in for the DCS v2 API over one World; its clock moves only when told.

    Signature dates are checked against the real clock; record statuses follow `now`, which
    defaults to the world's `default_now` (else the real time at construction).
    """

    def __init__(
        self,
        world: World,
        *,
        credentials: Mapping[str, str] | None = None,
        tokens: Iterable[str] = frozenset({DEMO_AUTH_TOKEN}),
        expired_tokens: Iterable[str] = frozenset(),
        security_tokens: Mapping[str, str] | None = None,
        now: datetime | None = None,
        latency_s: float = 0.0,
        faults: FaultPlan | None = None,
        total_num_mode: str = "total",
        page_cap: int | None = None,
        throttle_rps: float | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        admin_routes: bool = True,
    ) -> None:
        if total_num_mode not in ("total", "page"):
            raise ValueError("total_num_mode must be 'total' or 'page'")
        self.world = world
        self.latency_s = latency_s
        self.faults = faults
        self.total_num_mode = total_num_mode
        self.page_cap = page_cap
        self.admin_routes = admin_routes
        self.gate = Gate(
            {DEMO_ACCESS_KEY: DEMO_SECRET_KEY} if credentials is None else credentials,
            tokens,
            expired_tokens,
            security_tokens or {},
        )
        self._bucket = TokenBucket(throttle_rps) if throttle_rps else None
        self._address = (host, port)
        self._now = _aware(now or world.default_now or datetime.now(UTC))
        self._log: list[RequestRecord] = []
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        """Start serving in a daemon thread and return the base URL, e.g. `http://127.0.0.1:PORT`."""
        if self._server is None:
            self._server = _Server(self._address, _Handler)
            self._server.simulator = self
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            )
            self._thread.start()
        return self.base_url

    def stop(self) -> None:
        """Stop serving; open keep-alive connections die with their daemon threads."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join()
            self._server = self._thread = None

    def __enter__(self) -> DcsSimulator:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """Return the URL the server listens on (start() first)."""
        if self._server is None:
            raise RuntimeError("the simulator is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def now(self) -> datetime:
        """Return the simulated time."""
        with self._lock:
            return self._now

    def set_now(self, moment: datetime) -> None:
        """Set the simulated time (aware datetime)."""
        with self._lock:
            self._now = _aware(moment)

    def advance(self, delta: timedelta) -> datetime:
        """Move the simulated time on by `delta` and return the new time."""
        with self._lock:
            self._now += delta
            return self._now

    @property
    def requests(self) -> list[RequestRecord]:
        """Return a snapshot of the request log (admin requests are not logged)."""
        with self._lock:
            return list(self._log)

    @property
    def auth_failures(self) -> int:
        """Return how many requests failed authentication."""
        return self.gate.failures

    def restore_requests(self, instance_id: str | None = None) -> list[RequestRecord]:
        """Return the logged restore-list requests, optionally for one instance."""
        return [
            r
            for r in self.requests
            if r.kind == "restores" and instance_id in (None, r.instance_id)
        ]

    def backup_requests(self, instance_id: str | None = None) -> list[RequestRecord]:
        """Return the logged backup-list requests, optionally for one instance."""
        return [
            r for r in self.requests if r.kind == "backups" and instance_id in (None, r.instance_id)
        ]

    def reset_log(self) -> None:
        """Forget the logged requests."""
        with self._lock:
            self._log.clear()

    def stats(self) -> dict[str, Any]:
        """Return request counts by kind, status and fault, the auth failures and the time."""
        log = self.requests
        return {
            "now": self.now.isoformat(),
            "requests": len(log),
            "by_kind": dict(Counter(r.kind for r in log)),
            "by_status": dict(Counter(str(r.status) for r in log)),
            "faults": dict(Counter(r.fault for r in log if r.fault)),
            "auth_failures": self.auth_failures,
        }

    def await_latency(self, received: float) -> None:
        """Hold an answer until `latency_s` after its request arrived (`time.monotonic()`).

        The latency is the API's time to answer, its own work included, as a client sees it;
        sleeping it on top of that work would make every answer slower than configured.
        """
        remaining = self.latency_s - (time.monotonic() - received)
        if remaining > 0:
            time.sleep(remaining)

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """Return the answer to one request; `headers` have lower-case names."""
        request_id = uuid.uuid4().hex
        raw_path, _, query_string = target.partition("?")
        pairs = parse_qsl(query_string, keep_blank_values=True)
        if self.admin_routes and raw_path.startswith("/_sim/"):
            reply = self._admin(method, raw_path, dict(pairs))
        else:
            reply = self._serve(method, raw_path, pairs, headers, body, request_id)
        reply.headers["X-Request-Id"] = request_id
        return reply

    def _serve(
        self,
        method: str,
        raw_path: str,
        pairs: list[tuple[str, str]],
        headers: Mapping[str, str],
        body: bytes,
        request_id: str,
    ) -> Reply:
        where = api.route(method, raw_path)
        verdict = self.gate.check(method, raw_path, pairs, headers, body, where.project_id)
        fault: str | None = None
        if not verdict.ok:
            reply = gateway_error(401, verdict.code, verdict.message, request_id)
        elif self._bucket is not None and not self._bucket.take():
            reply, fault = self._bucket.reply(request_id), "throttle"
        else:
            reply, fault = self._answer(where, dict(pairs), request_id)
        record = RequestRecord(
            method, raw_path, dict(pairs), 0 if reply.mode == "reset" else reply.status,
            where.instance_id, where.kind, verdict.ok, time.time(), fault,
            headers.get("x-sdk-date"),
        )  # fmt: skip
        with self._lock:
            self._log.append(record)
        return reply

    def _answer(
        self, where: api.Route, query: dict[str, str], request_id: str
    ) -> tuple[Reply, str | None]:
        rule = self.faults.pick(where.kind, where.instance_id) if self.faults else None
        if rule is not None and rule.delay_s > 0:
            time.sleep(rule.delay_s)
        if rule is not None and rule.kind not in PASS_THROUGH:
            return fault_reply(rule, request_id), rule.kind
        if where.kind == "other":
            reply = gateway_error(404, "APIGW.0101", _NO_ROUTE, request_id)
        else:
            reply = api.respond(
                self.world, where, query, self.now, self.total_num_mode == "page", self.page_cap
            )
        if rule is None:
            return reply, None
        return spoil(rule, reply), rule.kind

    def _admin(self, method: str, path: str, query: dict[str, str]) -> Reply:
        try:
            if method == "POST" and path == "/_sim/advance":
                return Reply(
                    200,
                    {"now": self.advance(timedelta(seconds=float(query["seconds"]))).isoformat()},
                )
            if method == "POST" and path == "/_sim/now":
                self.set_now(datetime.fromisoformat(query["at"]))
                return Reply(200, {"now": self.now.isoformat()})
        except (KeyError, ValueError) as error:
            return Reply(400, {"error": f"bad admin request: {error}"})
        if method == "GET" and path == "/_sim/stats":
            return Reply(200, self.stats())
        return Reply(404, {"error": f"admin routes: {_ADMIN_ROUTES}"})


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("the simulated time must be timezone-aware")
    return moment.astimezone(UTC)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    simulator: DcsSimulator

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet when a client hangs up (timeouts, resets); report anything else."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # without it, Nagle's algorithm and delayed ACKs stall every keep-alive reply ~40 ms
    disable_nagle_algorithm = True
    server: _Server
    # idle keep-alive connections are dropped after this many seconds
    timeout = 30

    def _reply(self) -> None:
        received = time.monotonic()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        reply = self.server.simulator.handle(self.command, self.path, headers, body)
        if reply.mode == "reset":
            self.server.simulator.await_latency(received)
            # RST instead of FIN: the client sees a reset connection and no answer
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        data = reply.body()
        self.server.simulator.await_latency(received)
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.status != 204:
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if reply.mode == "truncate":
            data, self.close_connection = data[: len(data) // 2], True
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _reply

    def log_message(self, format: str, *args: Any) -> None:
        """Keep quiet: tests and demos read stdout."""
