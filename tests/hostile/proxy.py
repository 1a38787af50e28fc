"""A hostile stand-in for the DCS API: the simulator's answers, damaged by a test's hook.

`HostileServer` listens on loopback and asks a `DcsSimulator` (in process, signatures checked
as usual) for the honest answer to every request. A hook sees that answer and may replace it
with anything a broken or malicious server could send: other bytes, headers or status, a body
sent slowly, an endless body, or a connection closed mid-way. Setting `hook = None` "clears the
fault", so a test can check that the next run converges on the simulator's ground truth.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl

from dcs_simulator import DcsSimulator
from dcs_simulator.api import route


@dataclass
class Exchange:
    """One request and the simulator's honest answer to it."""

    method: str
    path: str
    query: dict[str, str]
    kind: str  # "instances", "instance", "restores" or "other"
    instance_id: str | None
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Answer:
    """What the hostile server sends instead.

    `body` is bytes, or an iterable of chunks sent one by one with `chunk_delay_s` between
    them (an endless generator makes an endless body). `content_length` None sends the length
    of a bytes body, or none at all (the body then ends when the connection closes).
    """

    status: int = 200
    body: bytes | Iterable[bytes] = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = "application/json;charset=UTF-8"
    chunk_delay_s: float = 0.0
    content_length: int | None = None
    close: bool = False  # close the connection after the body (or after the headers)


Hook = Callable[[Exchange], Answer | None]


def json_answer(payload: Any, status: int = 200, **options: Any) -> Answer:
    """An answer with `payload` as its JSON body."""
    return Answer(status=status, body=json.dumps(payload).encode(), **options)


def restores_page(exchange: Exchange) -> dict[str, Any]:
    """The honest restores page of `exchange`, as a dict to damage (a 204 gives an empty one)."""
    page = exchange.json()
    return page if isinstance(page, dict) else {"total_num": 0, "restore_record_response": []}


class HostileServer:
    """A loopback server answering like `simulator`, except where `hook` says otherwise."""

    def __init__(self, simulator: DcsSimulator, hook: Hook | None = None) -> None:
        self.simulator = simulator
        self.hook = hook
        self.stopping = threading.Event()
        self.seen: list[Exchange] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> HostileServer:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> HostileServer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def exchange(self, method: str, target: str, headers: dict[str, str]) -> Exchange:
        reply = self.simulator.handle(method, target, headers, b"")
        raw_path, _, query = target.partition("?")
        where = route(method, raw_path)
        body = reply.body() if reply.status != 204 else b""
        found = Exchange(
            method=method,
            path=raw_path,
            query=dict(parse_qsl(query, keep_blank_values=True)),
            kind=where.kind,
            instance_id=where.instance_id,
            status=reply.status,
            headers={**reply.headers, "Content-Type": reply.content_type},
            body=body,
        )
        with self._lock:
            self.seen.append(found)
        return found


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    owner: HostileServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up on a hostile answer is the point; stay quiet."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server
    timeout = 30

    def _reply(self) -> None:
        owner = self.server.owner
        headers = {name.lower(): value for name, value in self.headers.items()}
        exchange = owner.exchange(self.command, self.path, headers)
        hook = owner.hook
        answer = hook(exchange) if hook is not None else None
        if answer is None:
            answer = Answer(
                status=exchange.status,
                body=exchange.body,
                headers={k: v for k, v in exchange.headers.items() if k != "Content-Type"},
                content_type=exchange.headers.get("Content-Type"),
            )
        self._send(answer, owner.stopping)

    def _send(self, answer: Answer, stopping: threading.Event) -> None:
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        if answer.content_type and answer.status != 204:
            self.send_header("Content-Type", answer.content_type)
        length = answer.content_length
        if length is None and isinstance(answer.body, bytes):
            length = len(answer.body)
        if length is not None and answer.status != 204:
            self.send_header("Content-Length", str(length))
        if length is None or answer.close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        chunks: Iterator[bytes] = (
            iter([answer.body]) if isinstance(answer.body, bytes) else iter(answer.body)
        )
        for chunk in chunks:
            if stopping.is_set():
                break
            self.wfile.write(chunk)
            self.wfile.flush()
            if answer.chunk_delay_s:
                time.sleep(answer.chunk_delay_s)

    do_GET = _reply

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read stdout."""
