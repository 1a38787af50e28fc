"""Hostile transport: slow answers meet a deadline, large bodies a bound, odd charsets a
tolerant decoder; each time only the damaged instance fails and the next run converges."""

from __future__ import annotations

import functools
import gzip
import json
import time
import zlib
from collections.abc import Callable, Iterator

import pytest
from dcs_restores import client as client_module
from dcs_restores.client import DcsApiError

from tests.conftest import Runner
from tests.hostile.conftest import Start
from tests.hostile.proxy import Answer, Exchange, restores_page
from tests.hostile.transport_support import (
    assert_converges,
    assert_healthy,
    damaged_world,
    fetch,
    only_target,
    run,
    run_failing,
)
from tests.support.truth import truth_for

# --- 1. a deadline for the whole answer ---------------------------------------------------------


def _dribble(body: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def _stall_after(body: bytes, sent: int, stall_s: float) -> Iterator[bytes]:
    yield body[:sent]
    time.sleep(stall_s)
    yield body[sent:]


SLOW: dict[str, Callable[[Exchange], Answer]] = {
    # each byte in time for a per-read timeout, the whole far too late
    "byte-per-0.2s": lambda e: Answer(
        body=_dribble(e.body, 1), chunk_delay_s=0.2, content_length=len(e.body)
    ),
    "16-bytes-per-0.5s-no-length": lambda e: Answer(
        body=_dribble(e.body, 16), chunk_delay_s=0.5, close=True
    ),
    "stall-mid-body": lambda e: Answer(
        body=_stall_after(e.body, len(e.body) // 2, 20), content_length=len(e.body)
    ),
    "stall-before-body": lambda e: Answer(
        body=_stall_after(e.body, 0, 20), content_length=len(e.body)
    ),
}


def _late_headers(exchange: Exchange) -> Answer | None:
    time.sleep(4)  # nothing at all, well past the deadline
    return None


SLOW["late-headers"] = _late_headers


@pytest.mark.parametrize("pattern", ["byte-per-0.2s"])
def test_a_slow_answer_fails_its_instance_within_the_deadline(
    runner: Runner, hostile: Start, pattern: str
) -> None:
    damaged = damaged_world(hostile, seed=81)
    damaged.server.hook = only_target(damaged, SLOW[pattern])
    timeout, attempts = 1.0, 2
    # attempts x request_timeout, the back-off and the healthy instances' own work
    line = run_failing(
        runner, damaged, attempts * timeout + 6, request_timeout=timeout, max_attempts=attempts
    )
    assert f"timeout: answer not complete within {timeout:g}s" in line
    assert f"gave up after {attempts} attempts" in line
    assert_converges(runner, damaged)


@pytest.mark.parametrize("pattern", list(SLOW))
@pytest.mark.parametrize("timeout", [0.4])
def test_every_slow_pattern_meets_the_deadline_of_each_attempt(
    runner: Runner, hostile: Start, pattern: str, timeout: float
) -> None:
    damaged = damaged_world(hostile, seed=84)
    damaged.server.hook = only_target(damaged, SLOW[pattern])
    error, elapsed = fetch(runner, damaged, request_timeout=timeout, max_attempts=2)
    assert isinstance(error, DcsApiError) and error.code == "timeout"
    assert f"timeout: answer not complete within {timeout:g}s" in str(error)
    assert damaged.hits() == 2
    # 2 deadlines, the watchdog's poll and the back-off
    assert 2 * timeout <= elapsed < 2 * timeout + 1.5, elapsed


# --- 2. a bound on the body ---------------------------------------------------------------------

MIB = 1024 * 1024


def _endless(chunk: bytes, total: int) -> Iterator[bytes]:
    for _ in range(total // len(chunk)):
        yield chunk


@functools.cache
def _packed(encoding: str, inflated: int) -> bytes:
    payload = b'{"total_num": 1, "restore_record_response": [' + b" " * inflated + b"]}"
    packed = gzip.compress(payload, 6) if encoding == "gzip" else zlib.compress(payload, 6)
    assert len(packed) < MIB // 4  # small on the wire, large once inflated
    return packed


def _bomb(encoding: str, inflated: int) -> Callable[[Exchange], Answer]:
    return lambda e: Answer(
        body=_packed(encoding, inflated), headers={"Content-Encoding": encoding}
    )


OVERSIZED: dict[str, Callable[[Exchange], Answer]] = {
    # refused on the header, before reading (the body is never sent in full)
    "announced-3MiB": lambda e: Answer(body=b"{", content_length=3 * MIB, close=True),
    "streamed-5MiB-no-length": lambda e: Answer(body=_endless(b" " * 65536, 5 * MIB), close=True),
    "gzip-bomb-20MiB": _bomb("gzip", 20 * MIB),
    "deflate-bomb-3MiB": _bomb("deflate", 3 * MIB),
}


@pytest.mark.parametrize("pattern", ["gzip-bomb-20MiB"])
def test_a_body_over_max_body_mb_fails_its_instance_at_once(
    runner: Runner, hostile: Start, pattern: str
) -> None:
    damaged = damaged_world(hostile, seed=82)
    damaged.server.hook = only_target(damaged, OVERSIZED[pattern])
    line = run_failing(runner, damaged, 15, max_body_bytes=2 * MIB, max_attempts=4)
    assert (
        f"instance {damaged.target}: body_too_large: the answer exceeds max_body_mb=2 "
        "(SOURCES__DCS_RESTORES__MAX_BODY_MB)"
    ) in line
    assert damaged.hits() == 1  # deterministic: never retried
    assert_converges(runner, damaged)


@pytest.mark.parametrize("pattern", list(OVERSIZED))
@pytest.mark.parametrize("bound_mb", [1])
def test_every_oversized_body_is_refused_without_a_retry(
    runner: Runner, hostile: Start, pattern: str, bound_mb: int
) -> None:
    damaged = damaged_world(hostile, seed=85)
    damaged.server.hook = only_target(damaged, OVERSIZED[pattern])
    error, elapsed = fetch(runner, damaged, max_body_bytes=bound_mb * MIB, max_attempts=5)
    assert isinstance(error, DcsApiError) and error.code == "body_too_large"
    assert str(error) == (
        f"instance {damaged.target}: body_too_large: the answer exceeds "
        f"max_body_mb={bound_mb} (SOURCES__DCS_RESTORES__MAX_BODY_MB)"
    )
    assert damaged.hits() == 1 and elapsed < 5


def test_a_body_just_under_the_bound_loads() -> None:
    """The bound is on size, not on shape: an inflated body under it is read in full."""
    from dcs_restores.transport import BodyTooLarge, Flight, read_body

    class Raw:
        def __init__(self, data: bytes) -> None:
            self.data = data

        def read(self, amt: int, decode_content: bool = False) -> bytes:
            chunk, self.data = self.data[:amt], self.data[amt:]
            return chunk

    class Response:
        def __init__(self, data: bytes, headers: dict[str, str]) -> None:
            self.raw = Raw(data)
            self.headers = headers

    inflated = b"x" * (MIB - 1)
    packed = gzip.compress(inflated)
    flight = Flight(time.monotonic() + 60, None)
    assert read_body(Response(packed, {"Content-Encoding": "gzip"}), MIB, flight) == inflated
    with pytest.raises(BodyTooLarge):
        two_members = packed + gzip.compress(b"xx")
        read_body(Response(two_members, {"Content-Encoding": "gzip"}), MIB, flight)
    with pytest.raises(BodyTooLarge):
        read_body(Response(b"", {"Content-Length": str(MIB + 1)}), MIB, flight)


# --- 3. bodies that are not UTF-8 -------------------------------------------------------------


def _recoded(remark: str, encoding: str, content_type: str) -> Callable[[Exchange], Answer]:
    def answer(exchange: Exchange) -> Answer:
        page = restores_page(exchange)
        for record in page.get("restore_record_response") or []:
            record["restore_remark"] = remark
        text = json.dumps(page, ensure_ascii=False)
        return Answer(body=text.encode(encoding), content_type=content_type)

    return answer


# (remark, how the server encodes the body, its Content-Type, the remark as it must load)
CHARSETS = {
    "latin1-declared": ("café", "latin-1", "application/json;charset=ISO-8859-1", "café"),
    "latin1-undeclared": ("café", "latin-1", "application/json", "caf\ufffd"),
    "latin1-declared-utf8": ("naïve", "latin-1", "application/json; charset=UTF-8", "na\ufffdve"),
    "cp1252-declared": ("€ 5", "cp1252", 'application/json; charset="windows-1252"', "€ 5"),
    "unknown-charset": ("été", "latin-1", "application/json;charset=x-no-such", "\ufffdt\ufffd"),
    "utf8-bom": ("ok ✓", "utf-8-sig", "application/json", "ok ✓"),
}


@pytest.mark.parametrize("case", ["latin1-undeclared"])
def test_a_body_in_another_charset_loads_with_one_warning(
    runner: Runner, hostile: Start, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    remark, encoding, content_type, loaded = CHARSETS[case]
    warnings: list[str] = []
    monkeypatch.setattr(client_module.logger, "warning", warnings.append)
    damaged = damaged_world(hostile, seed=83)
    damaged.server.hook = only_target(damaged, _recoded(remark, encoding, content_type))
    summary = run(runner, damaged)
    assert summary.errors == []
    assert_healthy(runner, damaged)
    expected = [
        row | {"restore_remark": loaded}
        for row in truth_for(damaged.world, damaged.sim.now, [damaged.target])
    ]
    assert [r for r in runner.restores() if r["instance_id"] == damaged.target] == expected
    recoded = [w for w in warnings if "not valid UTF-8" in w]
    if encoding == "utf-8-sig":
        assert recoded == []
    else:
        # one warning for the instance, however many of its pages were recoded
        assert len(recoded) == 1 and f"instance {damaged.target}: " in recoded[0]
    # no convergence step: the recoded rows are final restores, which an incremental run
    # does not read again; what the server sent is what loaded, and nothing failed


@pytest.mark.parametrize("case", list(CHARSETS))
def test_every_charset_decodes_strictly_then_declared_then_with_replacement(
    runner: Runner, hostile: Start, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    remark, encoding, content_type, loaded = CHARSETS[case]
    warnings: list[str] = []
    monkeypatch.setattr(client_module.logger, "warning", warnings.append)
    damaged = damaged_world(hostile, seed=86)
    damaged.server.hook = only_target(damaged, _recoded(remark, encoding, content_type))
    page, _ = fetch(runner, damaged)
    records = page["restore_record_response"]
    assert records and {r["restore_remark"] for r in records} == {loaded}
    assert len([w for w in warnings if f"instance {damaged.target}: " in w]) == (
        0 if encoding == "utf-8-sig" else 1
    )


def test_direct_and_proxied_connections_are_both_under_the_watchdog() -> None:
    from dcs_restores.transport import watched_session

    adapter = watched_session().get_adapter("https://dcs.example.com")
    direct = adapter.poolmanager.connection_from_url("https://dcs.example.com")
    proxied = adapter.proxy_manager_for("http://proxy.example:3128").connection_from_url(
        "https://dcs.example.com"
    )
    # the connection classes that report their socket to the watchdog (nothing is connected)
    for pool in (direct, proxied):
        assert pool.ConnectionCls.__module__ == "dcs_restores.transport"
