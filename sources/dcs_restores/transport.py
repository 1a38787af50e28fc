"""Bounded HTTP answers: a deadline per attempt, a size bound on the body, tolerant decoding.

A socket timeout bounds one read, not an answer: a server that sends a byte a second never
times out. A watchdog thread therefore shuts down the socket of every attempt that passed its
deadline, or whose run stopped, which wakes up the blocked read at once wherever it is (status
line, headers or body). The body is read compressed, counted, and inflated with a bounded
output, so neither a large body nor a small gzip bomb can take more than `max_body_bytes`.
"""

from __future__ import annotations

import codecs
import contextlib
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.poolmanager import PoolManager

from .settings import READ_CHUNK_BYTES, WATCHDOG_POLL_S

ACCEPT_ENCODING = "gzip, deflate"  # the only encodings read_body inflates itself

_current = threading.local()


class BodyTooLarge(Exception):
    """The answer (announced, received or inflated) exceeds the configured bound."""


class Aborted(Exception):
    """The watchdog shut the attempt down: `reason` is "deadline" or "cancelled"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Flight:
    """One attempt in flight: its deadline, the run's stop event and its connection."""

    def __init__(self, deadline: float, cancel: threading.Event | None) -> None:
        self.deadline = deadline
        self.cancel = cancel
        self.reason: str | None = None
        self.conn: HTTPConnection | None = None
        # kept apart from conn.sock: http.client drops that reference when it hands the
        # socket over to a response that reads until the connection closes
        self.sock: socket.socket | None = None

    def check(self) -> None:
        """Raise `Aborted` when the watchdog has shut this attempt down."""
        if self.reason is not None:
            raise Aborted(self.reason)

    def _abort(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason
        for sock in (self.sock, getattr(self.conn, "sock", None)):
            if sock is not None:
                # shutdown (not close) from another thread: a blocked recv returns at once,
                # and the descriptor stays valid until the attempt's own thread closes it
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


class _Watchdog:
    """One daemon thread per process that aborts late or cancelled attempts."""

    def __init__(self) -> None:
        self._flights: set[Flight] = set()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    @contextlib.contextmanager
    def watch(self, flight: Flight) -> Iterator[Flight]:
        with self._cond:
            self._flights.add(flight)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="dcs-watchdog", daemon=True)
                self._thread.start()
            self._cond.notify()
        _current.flight = flight
        try:
            yield flight
        finally:
            _current.flight = None
            with self._cond:
                self._flights.discard(flight)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._flights:
                    self._cond.wait()
                flights = list(self._flights)
            now = time.monotonic()
            for flight in flights:
                if flight.cancel is not None and flight.cancel.is_set():
                    flight._abort("cancelled")
                elif now >= flight.deadline:
                    # repeated every poll: a socket still connecting has none to shut yet
                    flight._abort("deadline")
            time.sleep(WATCHDOG_POLL_S)


WATCHDOG = _Watchdog()


def _register(conn: HTTPConnection) -> None:
    flight: Flight | None = getattr(_current, "flight", None)
    if flight is not None:
        flight.conn = conn
        if conn.sock is not None:
            flight.sock = conn.sock


class _Connection(HTTPConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        _register(self)  # a reused connection: its socket; a new one: connect() below
        super().request(*args, **kwargs)

    def connect(self) -> None:
        super().connect()
        _register(self)


class _TLSConnection(HTTPSConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        _register(self)
        super().request(*args, **kwargs)

    def connect(self) -> None:
        super().connect()
        _register(self)


class _Pool(HTTPConnectionPool):
    ConnectionCls = _Connection


class _TLSPool(HTTPSConnectionPool):
    ConnectionCls = _TLSConnection


def _watched(manager: PoolManager) -> PoolManager:
    # only urllib3's own pools: a SOCKS proxy manager brings pools of its own, which keep
    # working (their attempts then end at the socket timeouts, not at the deadline)
    if manager.pool_classes_by_scheme.get("http") is HTTPConnectionPool:
        manager.pool_classes_by_scheme = {"http": _Pool, "https": _TLSPool}
    return manager


class WatchedAdapter(HTTPAdapter):
    """An adapter whose connections the watchdog can shut down (directly or via a proxy)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        _watched(self.poolmanager)

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> PoolManager:
        return _watched(super().proxy_manager_for(proxy, **kwargs))


def watched_session() -> requests.Session:
    session = requests.Session()
    adapter = WatchedAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class _Inflater:
    """Bounded gzip/deflate decoding: never more than `limit + 1` bytes of output."""

    def __init__(self, encoding: str, limit: int) -> None:
        self._gzip = encoding in ("gzip", "x-gzip")
        self._limit = limit
        self._raw_deflate = False
        self._first = True
        self._obj = self._new()
        self.size = 0
        # one growing buffer rather than parts joined at the end: no second copy at the peak
        self.out = bytearray()

    def _new(self) -> Any:
        if self._gzip:
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        return zlib.decompressobj(-zlib.MAX_WBITS if self._raw_deflate else zlib.MAX_WBITS)

    def feed(self, data: bytes) -> None:
        while data:
            # in steps: one 64 KiB chunk of a bomb can inflate to 64 MiB in a single call
            room = min(self._limit + 1 - self.size, READ_CHUNK_BYTES * 16)
            try:
                out = self._obj.decompress(data, room)
            except zlib.error:
                if self._gzip or not self._first or self._raw_deflate:
                    raise
                # "deflate" is sent raw by some servers: retry the start without the header
                self._raw_deflate = True
                self._obj = self._new()
                continue
            self._first = False
            self.size += len(out)
            if self.size > self._limit:
                self.out.clear()  # a traceback kept in a report must not keep the bytes
                raise BodyTooLarge()
            self.out += out
            data = self._obj.unconsumed_tail
            if self._obj.eof:
                data = self._obj.unused_data
                if data and self._gzip:
                    self._obj = self._new()  # the next gzip member
                else:
                    data = b""

    def finish(self) -> bytearray:
        if not self._obj.eof:
            # more output could be pending only without eof: an incomplete stream
            raise TruncatedBody()
        return self.out


class TruncatedBody(Exception):
    """The compressed body ended before its stream did."""


class UnknownEncoding(Exception):
    """A Content-Encoding that was not asked for."""


def content_length(response: Any) -> int | None:
    value = response.headers.get("Content-Length")
    if value is None:
        return None
    try:
        return int(str(value).split(",")[0].strip())
    except ValueError:
        return None


def read_body(response: Any, limit: int, flight: Flight) -> bytearray:
    """Read the whole body of a `stream=True` response within `limit` bytes.

    Raises:
        BodyTooLarge: announced, received or inflated size over `limit`.
        Aborted: the watchdog shut the attempt down.
        TruncatedBody, UnknownEncoding, urllib3 errors: an incomplete or unreadable answer.
    """
    announced = content_length(response)
    if announced is not None and announced > limit:
        raise BodyTooLarge()
    encoding = str(response.headers.get("Content-Encoding", "")).strip().lower()
    inflater: _Inflater | None = None
    if encoding in ("gzip", "x-gzip", "deflate"):
        inflater = _Inflater(encoding, limit)
    elif encoding not in ("", "identity"):
        raise UnknownEncoding(encoding[:40])
    body = bytearray()
    received = 0
    raw = response.raw
    while True:
        flight.check()
        try:
            chunk = raw.read(READ_CHUNK_BYTES, decode_content=False)
        except Exception:
            flight.check()  # an abort surfaces as whatever the shut socket raised
            raise
        if not chunk:
            break
        received += len(chunk)
        if received > limit:
            body.clear()  # a traceback kept in a report must not keep the bytes
            raise BodyTooLarge()
        if inflater is not None:
            inflater.feed(chunk)
        else:
            body += chunk
    # a socket shut down mid-body reads as a clean end of a body without a length
    flight.check()
    return inflater.finish() if inflater is not None else body


def declared_charset(content_type: str) -> str | None:
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip("\"'")
            try:
                return codecs.lookup(charset).name
            except (LookupError, ValueError):
                return None
    return None


def decode_text(body: bytes | bytearray, content_type: str) -> tuple[str, str | None]:
    """Decode `body`: strict UTF-8, else the declared charset, else UTF-8 with U+FFFD.

    Returns the text and, when it was not valid UTF-8, how it was decoded instead.
    """
    try:
        return body.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    charset = declared_charset(content_type)
    if charset and charset != "utf-8":
        try:
            return body.decode(charset), charset
        except (UnicodeDecodeError, LookupError):
            pass
    return body.decode("utf-8", "replace"), "utf-8 with replacement characters"
