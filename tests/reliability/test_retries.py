"""Throttling and server errors: retried with back-off and jitter, re-signed every time, bounded
in time; after the retry budget the run fails on one line and keeps what it loaded."""

from __future__ import annotations

import itertools
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from dcs_restores.client import DcsApiError, DcsClient, retry_delay
from dcs_restores.settings import RESTORES_PATH
from dcs_restores_pipeline.runner import RunFailed
from dcs_simulator import FaultPlan, FaultRule

from tests.conftest import Runner
from tests.support.cli import cli_env, run_cli
from tests.support.truth import (
    assert_matches_truth,
    assert_partial_load_exact,
    cursors,
    local_state,
)
from tests.support.worlds import quick_run, small_world

# fault kind -> what the client must make of it when it persists (the code in the error)
TRANSIENT = {
    "429": "APIGW.0308",
    "500": "DCS.5000",
    "502": "APIGW.0201",
    "503": "APIGW.0201",
    "504": "APIGW.0201",
    "reset": "connection_error",
    "truncate": "truncated_body",
    "timeout": "timeout",
    "html200": "malformed_body",
    "garbage200": "malformed_body",
    "shape200": "malformed_body",
}
TIMEOUT_OPTIONS: dict[str, Any] = {"request_timeout": 0.2}


def _rule(kind: str, **options: Any) -> FaultRule:
    # a "timeout" answers only after the client's request_timeout
    return FaultRule(kind, delay_s=0.5 if kind == "timeout" else 0.0, **options)


def test_every_transient_fault_is_retried_and_the_data_is_exact(serve, runner: Runner) -> None:
    # no empty instance: a 204 has no body that "truncate" could cut
    world = small_world(seed=31, empty=0)
    kinds = list(TRANSIENT)
    plan = FaultPlan(
        [_rule("503", match="instances", times=1)]
        + [_rule(kind, match="restores", times=1) for kind in kinds]
    )
    simulator = serve(world, faults=plan)
    # more attempts than faults: even one page that meets all of them in a row gets through
    summary = quick_run(runner, simulator, max_attempts=len(kinds) + 2, **TIMEOUT_OPTIONS)
    assert plan.fired == {kind: 1 for kind in kinds} | {"503": 2}
    assert summary.retries == len(kinds) + 1
    assert_matches_truth(runner, simulator)


@pytest.mark.parametrize("kind", list(TRANSIENT))
def test_each_fault_fails_for_good_only_after_the_budget(serve, runner: Runner, kind: str) -> None:
    """The client alone (no pipeline): the error is one line with the instance and the code."""
    world = small_world(seed=35, instances=2)
    iid = world.instance_ids[0]
    plan = FaultPlan([_rule(kind, match="any")])
    simulator = serve(world, faults=plan)
    client = DcsClient(
        runner.settings(simulator, max_attempts=3, max_retry_delay=0.01, **TIMEOUT_OPTIONS)
    )
    path = RESTORES_PATH.format(project_id=world.project_id, instance_id=iid)
    with pytest.raises(DcsApiError) as info:
        client.get(path, {"offset": 0, "limit": 10}, iid, list_key="restore_record_response")
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"instance {iid}: ")
    assert TRANSIENT[kind] in message and "gave up after 3 attempts" in message
    assert info.value.code == TRANSIENT[kind] and info.value.instance_id == iid
    # counted when the request arrives (a timed-out one is logged only once answered)
    assert plan.fired[kind] == 3 and client.stats.retries == 2


def test_429_with_retry_after_waits_and_every_attempt_is_signed_anew(serve, runner: Runner) -> None:
    """Real clock: Retry-After 1 s makes the retry carry the next second's X-Sdk-Date, and the
    gateway, which checks each signature, accepts it."""
    world = small_world(seed=32, instances=2)
    iid = world.instance_ids[0]
    plan = FaultPlan([FaultRule("429", match=iid, times=1, retry_after=1.0)])
    simulator = serve(world, faults=plan)
    quick_run(runner, simulator, max_retry_delay=2.0)
    first_page = [r for r in simulator.restore_requests(iid) if r.query["offset"] == "0"]
    assert [r.status for r in first_page] == [429, 200]
    assert all(r.auth_ok for r in first_page)
    dates = [r.sdk_date for r in first_page]
    assert len(set(dates)) == 2, dates
    assert [datetime.strptime(d or "", "%Y%m%dT%H%M%SZ") for d in dates] == sorted(
        datetime.strptime(d or "", "%Y%m%dT%H%M%SZ") for d in dates
    )
    waits = [b.at - a.at for a, b in itertools.pairwise(first_page)]
    assert all(wait >= 1.0 for wait in waits), waits
    assert_matches_truth(runner, simulator)


def test_every_retry_is_signed_with_a_fresh_sdk_date(
    serve, runner: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A clock that ticks one second per signature: distinct dates prove one signing per
    attempt without waiting; the gateway still verifies every one of them."""
    from dcs_restores import auth

    real = auth.datetime
    ticks = iter(range(10_000))

    class TickingClock(real):  # type: ignore[misc, valid-type]
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            # starts 5 minutes back: well inside the gateway's 15-minute clock-skew window
            return real.now(tz) + timedelta(seconds=next(ticks) - 300)

    monkeypatch.setattr(auth, "datetime", TickingClock)
    world = small_world(seed=33, instances=2)
    plan = FaultPlan([FaultRule("503", times=4), FaultRule("reset", times=2)])
    simulator = serve(world, faults=plan)
    quick_run(runner, simulator)
    requests = simulator.requests
    assert sum(1 for r in requests if r.fault) == 6
    assert all(r.auth_ok for r in requests)
    assert len({r.sdk_date for r in requests}) == len(requests)
    assert_matches_truth(runner, simulator)


@pytest.mark.parametrize("kind", ["503"])
def test_after_the_budget_the_run_fails_on_one_line_and_keeps_what_it_loaded(
    serve, runner: Runner, kind: str
) -> None:
    world = small_world(seed=34, instances=5)
    listed = [item["instance_id"] for item in world.instances_at(world.default_now)]
    # not the first instance, and one with restores (a 204 has no body to truncate)
    failing = next(i for i in listed[1:] if world.count_restores(i, world.default_now))
    plan = FaultPlan([_rule(kind, match=failing)])
    simulator = serve(world, faults=plan)
    attempts, delay = 3, 0.05
    started = time.monotonic()
    with pytest.raises(RunFailed) as info:
        # one instance at a time, in listing order: the others are read before and after
        quick_run(
            runner,
            simulator,
            concurrency=1,
            max_attempts=attempts,
            max_retry_delay=delay,
            **TIMEOUT_OPTIONS,
        )
    elapsed = time.monotonic() - started
    message = str(info.value)
    assert "\n" not in message
    assert f"instance {failing}" in message and TRANSIENT[kind] in message
    assert f"gave up after {attempts} attempts" in message
    assert len(simulator.restore_requests(failing)) == attempts
    # bounded: attempts x (timeout + delay), with room for the runs' own work
    assert elapsed < attempts * (0.5 + delay) + 5
    summary = info.value.summary
    assert summary is not None and summary.instances_failed == [failing]
    # what was read is loaded and exact; the failed instance's cursor did not move
    assert_partial_load_exact(runner, simulator)
    done = cursors(local_state(runner))
    assert failing not in done and done

    simulator.faults = None
    quick_run(runner, simulator)
    assert_matches_truth(runner, simulator)


def test_retry_delay_is_jittered_capped_and_honours_retry_after() -> None:
    low = [retry_delay(n, 30.0, rand=lambda: 0.0) for n in range(1, 10)]
    high = [retry_delay(n, 30.0, rand=lambda: 1.0) for n in range(1, 10)]
    assert low[:3] == [0.25, 0.5, 1.0] and high[:3] == [0.5, 1.0, 2.0]
    assert max(high) == 30.0 and all(a < b or b == 30.0 for a, b in zip(low, high, strict=True))
    assert retry_delay(1, 30.0, retry_after=3.0, rand=lambda: 0.0) == 3.0
    assert 3.0 <= retry_delay(1, 30.0, retry_after=3.0) <= 3.6
    # Retry-After cannot make one wait longer than max_retry_delay
    assert retry_delay(1, 5.0, retry_after=120.0) == 5.0
    assert len({retry_delay(4, 30.0) for _ in range(20)}) > 1


def test_the_command_reports_the_failure_on_one_line(serve, runner: Runner, tmp_path: Path) -> None:
    world = small_world(seed=36, instances=3)
    failing = world.instance_ids[0]
    simulator = serve(world, faults=FaultPlan([FaultRule("503", match=failing)]))
    env = cli_env(simulator, runner, SOURCES__DCS_RESTORES__MAX_ATTEMPTS="2")
    result = run_cli(["run", "--quiet"], env, tmp_path)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"dcs-restores: error: instance {failing}: HTTP 503 APIGW.0201")
    assert "gave up after 2 attempts" in last
    # the summary still says what was loaded
    assert "failed: 1" in result.stdout
    assert_partial_load_exact(runner, simulator)
