"""Authentication and permission errors are never retried (5 bad AK/SK tries lock the key) and
say what to check; an instance deleted between listing and reading is skipped, not fatal."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from dcs_restores.client import DcsAuthError, DcsClient
from dcs_restores.configuration import Credentials
from dcs_restores.settings import INSTANCES_PATH
from dcs_restores_pipeline.runner import RunFailed
from dcs_simulator import DEMO_ACCESS_KEY, DEMO_SECRET_KEY, FaultPlan, FaultRule

from tests.conftest import Runner
from tests.support.truth import (
    assert_matches_truth,
    assert_partial_load_exact,
    cursors,
    local_state,
    truth_for,
)
from tests.support.worlds import quick_run, small_world

EXPIRED_TOKEN = "MIIexpired-token-for-the-reliability-suite"
OTHER_PROJECT = "f" * 32
AKSK = Credentials(access_key=DEMO_ACCESS_KEY, secret_key=DEMO_SECRET_KEY)
TOKEN = Credentials(auth_token=EXPIRED_TOKEN)

# name -> (credentials, simulator options, settings changes, code, words the hint must contain)
CASES: dict[str, tuple[Credentials, dict[str, Any], dict[str, Any], str, tuple[str, ...]]] = {
    "wrong-secret-key": (
        Credentials(access_key=DEMO_ACCESS_KEY, secret_key="wrong-secret-key-000"),
        {},
        {},
        "APIGW.0301",
        ("secret_key", "SOURCES__DCS_RESTORES__CREDENTIALS__SECRET_KEY", "clock"),
    ),
    "unknown-token": (
        Credentials(auth_token="MIIunknown-token-000"),
        {},
        {},
        "APIGW.0301",
        ("auth_token", "SOURCES__DCS_RESTORES__CREDENTIALS__AUTH_TOKEN"),
    ),
    "expired-token": (
        TOKEN,
        {"expired_tokens": [EXPIRED_TOKEN]},
        {},
        "APIGW.0307",
        ("expired", "auth_token"),
    ),
    "expired-temporary-keys": (
        AKSK,
        {"faults": FaultPlan([FaultRule("401", match="any", code="APIGW.0307")])},
        {},
        "APIGW.0307",
        ("temporary keys expired", "security_token"),
    ),
    "other-project": (AKSK, {}, {"project_id": OTHER_PROJECT}, "DCS.1004", ("project_id",)),
    **{
        f"dcs-{code}": (
            AKSK,
            {"faults": FaultPlan([FaultRule("401", match="any", code=code)])},
            {},
            code,
            words,
        )
        for code, words in {
            "DCS.1001": ("token is invalid", "auth_token"),
            "DCS.1002": ("token expired", "auth_token"),
            "DCS.1003": ("secret_key", "auth_token"),
        }.items()
    },
    "forbidden": (
        AKSK,
        {"faults": FaultPlan([FaultRule("403", match="any")])},
        {},
        "APIGW.0302",
        ("permission", "DCS ReadOnlyAccess"),
    ),
    "forbidden-by-dcs": (
        AKSK,
        {"faults": FaultPlan([FaultRule("403", match="any", code="DCS.2003")])},
        {},
        "DCS.2003",
        ("permission",),
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_auth_errors_are_not_retried_and_say_what_to_check(
    serve, runner: Runner, name: str
) -> None:
    credentials, options, changes, code, words = CASES[name]
    world = small_world(seed=41, instances=3)
    simulator = serve(world, **options)
    settings = runner.settings(simulator, credentials=credentials, **changes)
    client = DcsClient(settings)
    path = INSTANCES_PATH.format(project_id=settings.project_id)
    with pytest.raises(DcsAuthError) as info:
        client.get(path, {"offset": 0, "limit": 10}, list_key="instances")
    message = str(info.value)
    assert "\n" not in message and code in message
    assert all(word in message for word in words), message
    assert len(simulator.requests) == 1 and simulator.auth_failures <= 1
    # later requests of the same client fail at once, without asking the gateway again
    with pytest.raises(DcsAuthError):
        client.get(path, {"offset": 10, "limit": 10}, list_key="instances")
    assert len(simulator.requests) == 1


def test_a_run_with_bad_credentials_sends_one_request_and_loads_nothing(
    serve, runner: Runner
) -> None:
    world = small_world(seed=42)
    simulator = serve(world)
    bad = Credentials(access_key=DEMO_ACCESS_KEY, secret_key="wrong-secret-key-001")
    with pytest.raises(RunFailed) as info:
        quick_run(runner, simulator, credentials=bad)
    assert "APIGW.0301" in str(info.value) and "secret_key" in str(info.value)
    assert len(simulator.requests) == 1
    assert runner.query(
        "select count(*) from information_schema.tables where table_name = 'restores'"
    ) == [(0,)]


def test_token_expiring_mid_run_stops_the_run_and_keeps_what_was_read(
    serve, runner: Runner
) -> None:
    world = small_world(seed=43, instances=5)
    listed = [item["instance_id"] for item in world.instances_at(world.default_now)]
    plan = FaultPlan([FaultRule("401", match=listed[2], code="APIGW.0307")])
    simulator = serve(world, faults=plan)
    with pytest.raises(RunFailed) as info:
        quick_run(runner, simulator, concurrency=1)
    assert f"instance {listed[2]}" in str(info.value) and "APIGW.0307" in str(info.value)
    # exactly one 401: neither retried nor repeated by the other instances
    assert [r.status for r in simulator.requests].count(401) == 1
    assert_partial_load_exact(runner, simulator)
    assert listed[2] not in cursors(local_state(runner))

    simulator.faults = None
    quick_run(runner, simulator)
    assert_matches_truth(runner, simulator)


def test_instance_deleted_between_listing_and_reading_is_skipped(
    serve, runner: Runner, caplog: pytest.LogCaptureFixture
) -> None:
    world = small_world(seed=44, instances=4)
    gone = world.instance_ids[0]
    simulator = serve(world, faults=FaultPlan([FaultRule("404", match=gone)]))
    with caplog.at_level(logging.WARNING):
        summary = quick_run(runner, simulator)
    assert summary.instances_skipped == [gone] and not summary.errors
    assert any(gone in r.getMessage() and "DCS.3022" in r.getMessage() for r in caplog.records)
    others = [iid for iid in world.instance_ids if iid != gone]
    assert runner.restores() == truth_for(world, simulator.now, others)
    assert gone not in cursors(local_state(runner))

    # it was not gone after all (or the listing catches up): the next run reads it in full
    simulator.faults = None
    quick_run(runner, simulator)
    assert_matches_truth(runner, simulator)
