"""Tests of the DCS simulator over real loopback HTTP, signed with the project's own signer."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from dcs_restores.auth import sign_headers
from dcs_simulator import (
    DEMO_ACCESS_KEY,
    DEMO_AUTH_TOKEN,
    DEMO_SECRET_KEY,
    DcsSimulator,
    FaultPlan,
    FaultRule,
    World,
)

from tests.support.signed import call

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def world() -> World:
    return World.generate(seed=11, instances=4, restores_per_instance=25, empty_instances=1)


@pytest.fixture
def sim(world: World) -> Iterator[DcsSimulator]:
    with DcsSimulator(world) as simulator:
        yield simulator


def restores(sim: DcsSimulator, iid: str, **params: Any) -> requests.Response:
    return call(sim, f"instances/{iid}/restores", params)


def read_all(sim: DcsSimulator, iid: str, limit: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    while True:
        response = restores(sim, iid, offset=len(rows), limit=limit)
        if response.status_code == 204:
            return rows
        page = response.json()["restore_record_response"]
        rows += page
        if len(page) < limit:
            return rows


def truth(sim: DcsSimulator, iid: str) -> list[str]:
    return [r["restore_id"] for r in sim.world.ground_truth(sim.now) if r["instance_id"] == iid]


@pytest.mark.parametrize("limit", [1, 7, 25, 1000])
def test_offset_paging_covers_ground_truth(sim: DcsSimulator, limit: int) -> None:
    iid = sim.world.instance_ids[0]
    rows = read_all(sim, iid, limit)
    assert [r["restore_id"] for r in rows] == truth(sim, iid)
    assert len({r["restore_id"] for r in rows}) == len(rows) == 25
    assert [r["created_at"] for r in rows] == sorted((r["created_at"] for r in rows), reverse=True)
    page = restores(sim, iid, offset=5, limit=limit).json()
    assert page["total_num"] == 25


def test_listing_and_show_instance(sim: DcsSimulator) -> None:
    body = call(sim, "instances", {"offset": 1, "limit": 2}).json()
    assert body["instance_num"] == 4 and len(body["instances"]) == 2
    everyone = call(sim, "instances", {"limit": 1000}).json()["instances"]
    assert everyone[1:3] == body["instances"]
    shown = call(sim, f"instances/{everyone[0]['instance_id']}").json()
    assert shown.items() >= everyone[0].items() and "launched_at" in shown


def test_page_total_mode(world: World) -> None:
    with DcsSimulator(world, total_num_mode="page") as sim:
        body = restores(sim, world.instance_ids[0], offset=20, limit=10).json()
        assert len(body["restore_record_response"]) == body["total_num"] == 5


def test_no_content_and_past_the_end(sim: DcsSimulator) -> None:
    empty, full = sim.world.instance_ids[3], sim.world.instance_ids[0]
    for response in (
        restores(sim, empty),
        restores(sim, full, begin_time="20300101000000"),
    ):
        assert response.status_code == 204 and response.content == b""
        assert response.headers["X-Request-Id"]
    past = restores(sim, full, offset=500, limit=10)
    assert past.status_code == 200
    assert past.json() == {"restore_record_response": [], "total_num": 25}


def test_time_filter_on_created_at(sim: DcsSimulator) -> None:
    iid = sim.world.instance_ids[1]
    rows = sim.world.ground_truth(sim.now)
    created = sorted(r["created_at"] for r in rows if r["instance_id"] == iid)
    begin, end = created[5], created[15]
    query = {"begin_time": _filter(begin, 1), "end_time": _filter(end, 0), "limit": 100}
    body = restores(sim, iid, **query).json()
    assert sorted(r["created_at"] for r in body["restore_record_response"]) == created[6:15]
    assert body["total_num"] == 9
    # the capital-T spelling from the doc example is not a filter
    assert restores(sim, iid, begin_Time=query["begin_time"]).json()["total_num"] == 25


def test_filter_read_in_another_zone() -> None:
    world = World.empty(filter_tz_offset_hours=2)
    iid = world.add_instance()
    world.add_restore(iid, T0)
    with DcsSimulator(world, now=T0 + timedelta(hours=1)) as sim:
        # a client meaning UTC 13:00 gets the 12:00 restore from begin_time and loses it to end_time
        assert restores(sim, iid, begin_time="20250301130000").json()["total_num"] == 1
        assert restores(sim, iid, end_time="20250301130000").status_code == 204
        assert restores(sim, iid, end_time="20250301140000").json()["total_num"] == 1


@pytest.mark.parametrize(
    ("params", "code", "message"),
    [
        ({"limit": 0}, "DCS.4800", "Invalid limit in the request."),
        ({"limit": 1001}, "DCS.4800", "Invalid limit in the request."),
        ({"limit": "ten"}, "DCS.4800", "Invalid limit in the request."),
        ({"offset": -1}, "DCS.4800", "Invalid offset in the request."),
        ({"begin_time": "2025-03-01"}, "DCS.4800", "Invalid begin_time in the request."),
        ({"begin_time": "20250302000000", "end_time": "20250301000000"}, "DCS.4025", None),
    ],
    ids=["limit-0", "limit-1001", "limit-text", "offset-negative", "begin-iso", "end-before-begin"],
)
def test_bad_parameters(
    sim: DcsSimulator, params: dict[str, Any], code: str, message: str | None
) -> None:
    response = restores(sim, sim.world.instance_ids[0], **params)
    body = response.json()
    assert response.status_code == 400 and body["error_code"] == code
    assert body["error_ext_msg"] is None and (message is None or body["error_msg"] == message)


def test_missing_instance_wrong_project_and_route(sim: DcsSimulator) -> None:
    missing = restores(sim, "00000000-0000-4000-8000-000000000000")
    assert (missing.status_code, missing.json()["error_code"]) == (404, "DCS.3022")
    gone = sim.world.add_instance(created_at=T0 - timedelta(days=1))
    sim.world.delete_instance(gone, sim.now)
    assert call(sim, f"instances/{gone}").status_code == 404
    other_project = "f" * 32
    wrong = call(sim, f"/v2/{other_project}/instances", headers={"X-Project-Id": other_project})
    assert (wrong.status_code, wrong.json()["error_code"]) == (401, "DCS.1004")
    for response in (call(sim, "backups"), call(sim, "instances", method="POST")):
        body = response.json()
        assert (response.status_code, body["error_code"]) == (404, "APIGW.0101") and body[
            "request_id"
        ]


def test_bad_signatures_are_rejected_without_echoing_secrets(sim: DcsSimulator) -> None:
    path = "instances"
    cases = [
        call(sim, path, keys=(DEMO_ACCESS_KEY, "wrong-secret")),
        call(sim, path, keys=("UNKNOWNAK", DEMO_SECRET_KEY)),
        call(sim, path, signed_at=datetime.now(UTC) - timedelta(minutes=20)),
        call(sim, path, headers={"X-Project-Id": "f" * 32}),
        requests.get(f"{sim.base_url}/v2/{sim.world.project_id}/instances", timeout=5),
    ]
    for response in cases:
        assert (response.status_code, response.json()["error_code"]) == (401, "APIGW.0301")
        assert DEMO_SECRET_KEY not in response.text and "wrong-secret" not in response.text
    assert sim.auth_failures == len(cases)
    assert not any(r.auth_ok for r in sim.requests)


def test_signed_headers_must_cover_host_and_date(sim: DcsSimulator) -> None:
    url = f"{sim.base_url}/v2/{sim.world.project_id}/instances"
    signed = sign_headers("GET", url, {}, b"", DEMO_ACCESS_KEY, DEMO_SECRET_KEY)
    signed["Authorization"] = signed["Authorization"].replace("host;x-sdk-date", "x-sdk-date")
    assert requests.get(url, headers=signed, timeout=5).status_code == 401


@pytest.mark.parametrize(("failures", "status"), [(5, 200), (6, 401)])
def test_lockout_after_more_than_five_failures(world: World, failures: int, status: int) -> None:
    with DcsSimulator(world) as sim:
        for _ in range(failures):
            assert call(sim, "instances", keys=(DEMO_ACCESS_KEY, "wrong")).status_code == 401
        assert call(sim, "instances").status_code == status


def test_security_token_is_required_and_signed(world: World) -> None:
    with DcsSimulator(world, security_tokens={DEMO_ACCESS_KEY: "sts-token"}) as sim:
        assert call(sim, "instances").status_code == 401
        assert call(sim, "instances", headers={"X-Security-Token": "other"}).status_code == 401
        assert call(sim, "instances", headers={"X-Security-Token": "sts-token"}).status_code == 200


def test_token_auth(world: World) -> None:
    with DcsSimulator(world, expired_tokens={"old-token"}) as sim:
        url = f"{sim.base_url}/v2/{world.project_id}/instances"
        answers = {
            token: requests.get(url, headers={"X-Auth-Token": token}, timeout=5)
            for token in (DEMO_AUTH_TOKEN, "old-token", "forged")
        }
        assert answers[DEMO_AUTH_TOKEN].status_code == 200
        assert answers["old-token"].status_code == 401
        assert answers["old-token"].json()["error_code"] == "APIGW.0307"
        assert answers["forged"].json()["error_code"] == "APIGW.0301"


def test_status_moves_with_the_simulated_clock() -> None:
    world = World.empty()
    iid = world.add_instance()
    rid = world.add_restore(iid, T0, wait_s=60, duration_s=100, outcome="failed", fail_progress=80)
    with DcsSimulator(world, now=T0 - timedelta(seconds=1)) as sim:
        assert restores(sim, iid).status_code == 204
        seen = []
        for step in (1, 60, 50, 50):
            sim.advance(timedelta(seconds=step))
            record = restores(sim, iid).json()["restore_record_response"][0]
            seen.append((record["restore_id"], record["status"], record["progress"]))
        assert seen == [
            (rid, "waiting", "0.00"),
            (rid, "restoring", "0.00"),
            (rid, "restoring", "40.00"),
            (rid, "failed", "80.00"),
        ]


def _fault_sim(world: World, rule: FaultRule) -> DcsSimulator:
    return DcsSimulator(world, faults=FaultPlan([rule]))


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("429", 429, "APIGW.0308"),
        ("500", 500, "DCS.5000"),
        ("502", 502, "APIGW.0201"),
        ("503", 503, "APIGW.0201"),
        ("504", 504, "APIGW.0201"),
        ("401", 401, "APIGW.0301"),
        ("403", 403, "APIGW.0302"),
    ],
)
def test_error_faults_fire_the_first_times(world: World, kind: str, status: int, code: str) -> None:
    iid = world.instance_ids[0]
    with _fault_sim(world, FaultRule(kind, times=2, retry_after=3)) as sim:
        answers = [restores(sim, iid) for _ in range(3)]
        assert [a.status_code for a in answers] == [status, status, 200]
        assert answers[0].json()["error_code"] == code
        assert (answers[0].headers.get("Retry-After") == "3") == (kind == "429")
        assert [r.fault for r in sim.requests] == [kind, kind, None]
        assert call(sim, "instances").status_code == 200


@pytest.mark.parametrize(
    ("kind", "error"),
    [("reset", requests.ConnectionError), ("truncate", requests.exceptions.ChunkedEncodingError)],
)
def test_broken_connection_faults(world: World, kind: str, error: type[Exception]) -> None:
    with _fault_sim(world, FaultRule(kind, times=1)) as sim:
        with pytest.raises(error):
            restores(sim, world.instance_ids[0])
        assert restores(sim, world.instance_ids[0]).status_code == 200


def test_bad_bodies_with_200(world: World) -> None:
    iid = world.instance_ids[0]
    with _fault_sim(world, FaultRule("html200", times=1)) as sim:
        html = restores(sim, iid)
        assert html.status_code == 200 and html.headers["Content-Type"].startswith("text/html")
    with _fault_sim(world, FaultRule("garbage200", times=1)) as sim:
        garbage = restores(sim, iid)
        assert garbage.headers["Content-Type"].startswith("application/json")
        with pytest.raises(requests.JSONDecodeError):
            garbage.json()
    with _fault_sim(world, FaultRule("bad_record", times=1)) as sim:
        records = restores(sim, iid, limit=3).json()["restore_record_response"]
        assert "restore_id" not in records[0] and records[2]["created_at"] == "not-a-date"


def test_timeout_fault_delays_then_answers(world: World) -> None:
    with _fault_sim(world, FaultRule("timeout", match="any", times=2, delay_s=0.4)) as sim:
        with pytest.raises(requests.Timeout):
            call(sim, "instances", timeout=0.1)
        started = time.perf_counter()
        assert call(sim, "instances").status_code == 200
        assert time.perf_counter() - started >= 0.4
        assert [r.fault for r in sim.requests] == ["timeout", "timeout"]


def test_fault_matching_and_probability(world: World) -> None:
    first, second = world.instance_ids[:2]
    plan = FaultPlan(
        [FaultRule("500", match=second), FaultRule("503", match="any", probability=0.5)], seed=1
    )
    with DcsSimulator(world, faults=plan) as sim:
        assert all(restores(sim, second).status_code == 500 for _ in range(3))
        statuses = [restores(sim, first).status_code for _ in range(20)]
        assert set(statuses) == {200, 503}
        assert plan.fired["500"] == 3 and plan.fired["503"] == statuses.count(503)


def test_throttle_answers_429_over_the_rate(world: World) -> None:
    with DcsSimulator(world, throttle_rps=5) as sim:
        statuses = [call(sim, "instances").status_code for _ in range(12)]
        assert statuses[:5] == [200] * 5 and 429 in statuses
        body = call(sim, "instances").json()
        assert body["error_msg"] == "policy user over ratelimit,limit:5,time:1 second"


def test_latency_overlaps_across_threads(world: World) -> None:
    with DcsSimulator(world, latency_s=0.3) as sim:
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=8) as pool:
            codes = list(pool.map(lambda _: call(sim, "instances").status_code, range(8)))
        assert codes == [200] * 8 and time.perf_counter() - started < 1.5


def test_latency_is_the_time_to_answer(world: World) -> None:
    with DcsSimulator(world, latency_s=0.2) as sim:
        call(sim, "instances")  # a connection and a warm server
        took = []
        for _ in range(3):
            started = time.perf_counter()
            assert call(sim, "instances").status_code == 200
            took.append(time.perf_counter() - started)
    # never faster than configured; the server's own work happens within the latency
    assert min(took) >= 0.2 and min(took) < 0.2 + 0.1


def test_request_log(sim: DcsSimulator) -> None:
    iid = sim.world.instance_ids[0]
    restores(sim, iid, limit=5, offset=10)
    call(sim, "instances")
    call(sim, "instances", keys=(DEMO_ACCESS_KEY, "wrong"))
    logged = sim.restore_requests(iid)
    assert len(logged) == 1 and logged[0].query == {"limit": "5", "offset": "10"}
    assert (logged[0].status, logged[0].kind, logged[0].auth_ok) == (200, "restores", True)
    assert [r.kind for r in sim.requests] == ["restores", "instances", "instances"]
    assert DEMO_SECRET_KEY not in repr(sim.requests) and "Signature" not in repr(sim.requests)
    assert sim.stats()["by_status"] == {"200": 2, "401": 1}
    sim.reset_log()
    assert sim.requests == []


def test_command_line_server() -> None:
    command = [
        sys.executable,
        "-m",
        "dcs_simulator",
        "--restores",
        "5",
        "--latency-ms",
        "1",
    ]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:")
        moved = requests.post(
            f"{base_url}/_sim/advance", params={"seconds": 3600}, timeout=5
        ).json()
        assert moved["now"] == "2025-03-02T01:00:00+00:00"
        assert requests.get(f"{base_url}/v2/x/instances", timeout=5).status_code == 401
        stats = requests.get(f"{base_url}/_sim/stats", timeout=5).json()
        assert stats["auth_failures"] == 1 and stats["by_kind"] == {"instances": 1}
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def _filter(iso_millis: str, round_up: int) -> str:
    """Return the yyyyMMddHHmmss value of a timestamp, plus `round_up` seconds."""
    moment = datetime.strptime(iso_millis, "%Y-%m-%dT%H:%M:%S.%fZ") + timedelta(seconds=round_up)
    return moment.strftime("%Y%m%d%H%M%S")
