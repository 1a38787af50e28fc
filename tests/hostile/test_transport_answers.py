"""Hostile answers: anything that breaks the client, errors dressed as pages, secrets echoed
back and unreachable hosts fail one request (then one instance), never the client."""

from __future__ import annotations

import json
import math
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from dcs_restores import client as client_module
from dcs_restores.client import DcsApiError, DcsClient
from dcs_restores.settings import INSTANCES_PATH
from dcs_simulator import DEMO_SECRET_KEY

from tests.conftest import Runner
from tests.hostile.conftest import Start
from tests.hostile.proxy import Answer, Exchange, json_answer, restores_page
from tests.hostile.transport_support import (
    assert_converges,
    damaged_world,
    fetch,
    only_target,
    run,
    run_failing,
)
from tests.support.leaks import secret_leaks
from tests.support.truth import truth_for

# --- 4. answers that make the client raise ----------------------------------------------------

BREAKING: dict[str, Callable[[Exchange], Answer]] = {
    "nested-json": lambda e: Answer(body=b"[" * 200_000 + b"]" * 200_000),
    "nested-object": lambda e: Answer(body=b'{"a":' * 100_000 + b"1" + b"}" * 100_000),
    "redirect-bad-ipv6": lambda e: Answer(status=302, headers={"Location": "http://[::1"}),
    "redirect-latin1-location": lambda e: Answer(
        status=301, headers={"Location": "http://\xe4\xff.example/"}
    ),
    "unknown-encoding": lambda e: Answer(body=e.body, headers={"Content-Encoding": "br"}),
    "corrupt-gzip": lambda e: Answer(
        body=b"\x1f\x8b\x08\x00garbage-not-deflate", headers={"Content-Encoding": "gzip"}
    ),
    "two-content-lengths": lambda e: Answer(
        body=e.body, headers={"Content-Length": "1"}, close=True
    ),
}


@pytest.mark.parametrize("pattern", ["nested-json"])
def test_an_answer_that_breaks_the_client_fails_only_its_instance(
    runner: Runner, hostile: Start, pattern: str
) -> None:
    damaged = damaged_world(hostile, seed=91)
    damaged.server.hook = only_target(damaged, BREAKING[pattern])
    line = run_failing(runner, damaged, 15)
    assert "malformed_" in line and "gave up after 2 attempts" in line
    assert_converges(runner, damaged)


@pytest.mark.parametrize("pattern", list(BREAKING))
def test_every_breaking_answer_is_a_malformed_answer_retried_to_the_budget(
    runner: Runner, hostile: Start, pattern: str
) -> None:
    damaged = damaged_world(hostile, seed=92)
    damaged.server.hook = only_target(damaged, BREAKING[pattern])
    error, elapsed = fetch(runner, damaged, max_attempts=3)
    assert isinstance(error, DcsApiError), error
    assert error.code in ("malformed_answer", "malformed_body", "truncated_body"), error.code
    message = str(error)
    assert message.startswith(f"instance {damaged.target}: ") and "\n" not in message
    assert "gave up after 3 attempts" in message
    assert damaged.hits() == 3 and elapsed < 10


def test_nan_and_infinity_do_not_fail_the_page(runner: Runner, hostile: Start) -> None:
    """JSON's non-standard constants decode (as non-finite floats, which the record layer
    sets aside and flags); the page is not taken for malformed."""
    damaged = damaged_world(hostile, seed=93)
    tokens = ("NaN", "Infinity", "-Infinity")

    def constants(exchange: Exchange) -> Answer:
        page = restores_page(exchange)
        for number, record in enumerate(page.get("restore_record_response") or []):
            record["progress"] = tokens[number % 3]
        text = json.dumps(page)
        for token in tokens:
            text = text.replace(f'"{token}"', token)
        return Answer(body=text.encode())

    damaged.server.hook = only_target(damaged, constants)
    page, _ = fetch(runner, damaged)
    progress = [r["progress"] for r in page["restore_record_response"]]
    assert len(progress) > 2 and damaged.hits() == 1
    assert all(isinstance(p, float) and not math.isfinite(p) for p in progress)


# --- 5. errors dressed as a 200 page ----------------------------------------------------------

DISGUISED: dict[str, Any] = {
    "error-fields": {"error_code": "DCS.4001", "error_msg": "instance busy"},
    "error-code-only": {"error_code": "APIGW.0101"},
    "null-list-with-total": {"total_num": 7, "restore_record_response": None},
    "missing-list-with-total": {"total_num": 3},
    "total-as-text": {"total_num": "12"},
    "array": [],
    "string": "ok",
    "number": 42,
    "null": None,
}


@pytest.mark.parametrize("pattern", ["error-fields"])
def test_an_error_dressed_as_a_page_fails_its_instance(
    runner: Runner, hostile: Start, pattern: str
) -> None:
    damaged = damaged_world(hostile, seed=94)
    damaged.server.hook = only_target(damaged, lambda e: json_answer(DISGUISED[pattern]))
    line = run_failing(runner, damaged, 15)
    assert "malformed_body: HTTP 200 carrying error DCS.4001: instance busy" in line
    assert_converges(runner, damaged)


@pytest.mark.parametrize("pattern", list(DISGUISED))
def test_every_error_in_disguise_is_malformed_and_retried(
    runner: Runner, hostile: Start, pattern: str
) -> None:
    damaged = damaged_world(hostile, seed=95)
    damaged.server.hook = only_target(damaged, lambda e: json_answer(DISGUISED[pattern]))
    error, _ = fetch(runner, damaged, max_attempts=3)
    assert isinstance(error, DcsApiError) and error.code == "malformed_body", error
    assert str(error).startswith(f"instance {damaged.target}: malformed_body: HTTP 200 ")
    assert damaged.hits() == 3


@pytest.mark.parametrize("body", [{"total_num": 0}, {}, {"total_num": 0, "other": []}])
def test_an_object_without_a_list_and_no_total_is_an_empty_page(
    runner: Runner, hostile: Start, body: dict[str, Any]
) -> None:
    damaged = damaged_world(hostile, seed=96)
    damaged.server.hook = only_target(damaged, lambda e: json_answer(body))
    page, _ = fetch(runner, damaged)
    assert page == body and damaged.hits() == 1


# --- 6. secrets a server echoes back ----------------------------------------------------------

SECRET = DEMO_SECRET_KEY
ESCAPED = "".join(f"\\u{ord(ch):04x}" for ch in SECRET)


def _remark_echo(exchange: Exchange) -> Answer:
    page = restores_page(exchange)
    for number, record in enumerate(page.get("restore_record_response") or []):
        record["restore_remark"] = f"key {SECRET} seen"
        record["backup_name"] = f"@@{number}@@"
    # one field spells the secret with JSON escapes only
    text = json.dumps(page).replace("@@0@@", ESCAPED)
    return Answer(body=text.encode())


SECRET_ANSWERS: dict[str, Callable[[Exchange], Answer]] = {
    "error-msg-503": lambda e: json_answer(
        {"error_code": "DCS.5000", "error_msg": f"sk={SECRET}"}, status=503
    ),
    "error-code-500": lambda e: json_answer(
        {"error_code": f"X{SECRET}", "error_msg": "boom"}, status=500
    ),
    "disguised-200": lambda e: json_answer({"error_code": SECRET, "error_msg": SECRET}),
    "content-type-200": lambda e: Answer(body=b"<html>", content_type=f"text/html; k={SECRET}"),
    "escaped-error-400": lambda e: Answer(
        status=400, body=f'{{"error_code": "DCS.4000", "error_msg": "{ESCAPED}"}}'.encode()
    ),
    "latin1-remark-200": lambda e: Answer(
        body=f'{{"total_num": 1, "restore_record_response": [], "x": "{SECRET}\xe9"}}'.encode(
            "latin-1"
        ),
        content_type=f"application/json; charset={SECRET}",
    ),
}


@pytest.mark.parametrize("pattern", list(SECRET_ANSWERS))
def test_no_secret_a_server_echoes_reaches_logs_errors_or_results(
    runner: Runner, hostile: Start, monkeypatch: pytest.MonkeyPatch, pattern: str
) -> None:
    warnings: list[str] = []
    monkeypatch.setattr(client_module.logger, "warning", warnings.append)
    damaged = damaged_world(hostile, seed=97)
    damaged.server.hook = only_target(damaged, SECRET_ANSWERS[pattern])
    result, _ = fetch(runner, damaged)
    texts = [*warnings, str(result), repr(result)]
    assert secret_leaks([SECRET], texts=texts) == []
    if pattern not in ("latin1-remark-200", "content-type-200"):
        assert "***" in str(result)  # the message still says what the server said


def test_records_that_carry_a_secret_load_redacted(
    runner: Runner, hostile: Start, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    warnings: list[str] = []
    monkeypatch.setattr(client_module.logger, "warning", warnings.append)
    damaged = damaged_world(hostile, seed=98)
    damaged.server.hook = only_target(damaged, _remark_echo)
    summary = run(runner, damaged)
    assert summary.errors == []
    mine = [r for r in runner.restores() if r["instance_id"] == damaged.target]
    truth = truth_for(damaged.world, damaged.sim.now, [damaged.target])
    assert len(mine) == len(truth) > 0
    assert {r["restore_remark"] for r in mine} == {"key *** seen"}
    assert "***" in {r["backup_name"] for r in mine}
    captured = capsys.readouterr()
    leaks = secret_leaks(
        [SECRET],
        roots=[Path(runner.pipelines_dir)],
        database=runner.database,
        texts=[*warnings, captured.out, captured.err, repr(summary)],
    )
    assert leaks == []


# --- 7. hosts that cannot be reached ----------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_refused_connection_names_host_and_port(tmp_path: Path, hostile: Start) -> None:
    damaged = damaged_world(hostile, seed=99)
    port = _closed_port()
    settings = Runner(tmp_path).settings(
        damaged.sim, endpoint=f"http://127.0.0.1:{port}", max_attempts=3, max_retry_delay=0.01
    )
    with pytest.raises(DcsApiError) as info:
        DcsClient(settings).get(INSTANCES_PATH.format(project_id=damaged.world.project_id), {})
    assert f"connection_error: connection refused by 127.0.0.1:{port}" in str(info.value)
    assert "gave up after 3 attempts" in str(info.value)


@pytest.mark.parametrize("host", ["dcs.example.com", "dcs.eu-de.otc.t-systems.com"])
def test_a_host_that_does_not_resolve_is_tried_twice_and_named(
    tmp_path: Path, hostile: Start, monkeypatch: pytest.MonkeyPatch, host: str
) -> None:
    import urllib3.util.connection

    looked_up: list[str] = []

    def no_dns(name: Any, *args: Any, **kwargs: Any) -> Any:
        looked_up.append(str(name))
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    # no real resolver is asked: the test machine has no network
    monkeypatch.setattr(urllib3.util.connection.socket, "getaddrinfo", no_dns)
    damaged = damaged_world(hostile, seed=99)
    settings = Runner(tmp_path).settings(
        damaged.sim, endpoint=f"https://{host}", max_attempts=6, max_retry_delay=0.01
    )
    started = time.monotonic()
    with pytest.raises(DcsApiError) as info:
        DcsClient(settings).get(INSTANCES_PATH.format(project_id=damaged.world.project_id), {})
    assert f"connection_error: cannot resolve host {host}" in str(info.value)
    assert "gave up after 2 attempts" in str(info.value)
    assert looked_up == [host, host] and time.monotonic() - started < 5


def _raw_server(head: bytes) -> tuple[socket.socket, threading.Thread]:
    """A server that answers every connection with `head` (status line and headers) verbatim:
    what http.server cannot send, e.g. a reason phrase of the server's choosing."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                conn.sendall(head)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener, thread


@pytest.mark.parametrize(
    "head",
    [
        f"HTTP/1.1 503 Down {SECRET}\r\nContent-Length: 0\r\n\r\n",
        f"HTTP/1.1 500 x{SECRET}x\r\nContent-Length: 4\r\n\r\nnope",
        f"HTTP/1.1 200 OK\r\nContent-Type: text/{SECRET}\r\nContent-Length: 4\r\n\r\nnope",
    ],
    ids=["reason-503", "reason-500-text-body", "content-type-200"],
)
def test_a_secret_in_the_status_line_or_headers_is_redacted(
    tmp_path: Path, hostile: Start, monkeypatch: pytest.MonkeyPatch, head: str
) -> None:
    warnings: list[str] = []
    monkeypatch.setattr(client_module.logger, "warning", warnings.append)
    damaged = damaged_world(hostile, seed=90)
    listener, _ = _raw_server(head.encode("latin-1"))
    try:
        port = listener.getsockname()[1]
        settings = Runner(tmp_path).settings(
            damaged.sim, endpoint=f"http://127.0.0.1:{port}", max_attempts=2, max_retry_delay=0.01
        )
        with pytest.raises(DcsApiError) as info:
            DcsClient(settings).get(INSTANCES_PATH.format(project_id=damaged.world.project_id), {})
    finally:
        listener.close()
    texts = [*warnings, str(info.value)]
    assert secret_leaks([SECRET], texts=texts) == []
    assert "***" in str(info.value) and "gave up after 2 attempts" in str(info.value)
