"""Several projects and regions in one run: rows say where they came from, failures stay local."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from dcs_restores.configuration import ConfigError
from dcs_restores.targets import load_targets
from dcs_restores_pipeline.runner import RunFailed, run
from dcs_simulator import DEMO_ACCESS_KEY, DEMO_SECRET_KEY, World

from tests.conftest import Runner, expected_restores

NOW = datetime(2025, 2, 20, tzinfo=UTC)
SECOND_PROJECT = "fedcba9876543210fedcba9876543210"
SECOND_AK, SECOND_SK = "SECONDREGIONAK000001", "second-region-secret-key"
PREFIX = "SOURCES__DCS_RESTORES__"


def two_regions(serve):  # type: ignore[no-untyped-def]
    first = World.generate(seed=31, instances=3, restores_per_instance=12)
    second = World.generate(
        seed=32, project_id=SECOND_PROJECT, instances=2, restores_per_instance=7
    )
    return (
        first,
        serve(first, now=NOW),
        second,
        serve(second, now=NOW, credentials={SECOND_AK: SECOND_SK}),
    )


def configure(
    monkeypatch: pytest.MonkeyPatch, sim_a, sim_b, second_secret: str = SECOND_SK
) -> None:  # type: ignore[no-untyped-def]
    targets = [
        {"endpoint": sim_a.base_url, "project_id": sim_a.world.project_id},
        {
            "endpoint": sim_b.base_url,
            "project_id": SECOND_PROJECT,
            "credentials": {"access_key": SECOND_AK, "secret_key": second_secret},
        },
    ]
    monkeypatch.setenv(PREFIX + "TARGETS", json.dumps(targets))
    monkeypatch.setenv(PREFIX + "CREDENTIALS__ACCESS_KEY", DEMO_ACCESS_KEY)
    monkeypatch.setenv(PREFIX + "CREDENTIALS__SECRET_KEY", DEMO_SECRET_KEY)
    monkeypatch.setenv(PREFIX + "PAGE_SIZE", "5")


def test_two_projects_in_two_regions(
    serve, runner: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    world_a, sim_a, world_b, sim_b = two_regions(serve)
    configure(monkeypatch, sim_a, sim_b)
    summary = run(database=runner.database, pipelines_dir=runner.pipelines_dir)
    expected = sorted(
        expected_restores(world_a, NOW) + expected_restores(world_b, NOW),
        key=lambda r: r["restore_id"],
    )
    assert runner.restores() == expected
    assert summary.restores_new == len(expected)
    assert {r["project_id"] for r in expected} == {world_a.project_id, SECOND_PROJECT}
    assert [t["project_id"] for t in summary.targets] == [world_a.project_id, SECOND_PROJECT]
    by_project = dict(
        runner.query(
            "select project_id, count(distinct endpoint) from dcs.restores group by project_id"
        )
    )
    assert by_project == {world_a.project_id: 1, SECOND_PROJECT: 1}
    endpoints = dict(runner.query("select distinct project_id, endpoint from dcs.instances"))
    assert endpoints == {world_a.project_id: sim_a.base_url, SECOND_PROJECT: sim_b.base_url}
    # a target's own secret key reaches no file: not the database, state, trace or logs
    leaks = [
        p
        for p in runner.database.parent.rglob("*")
        if p.is_file() and SECOND_SK.encode() in p.read_bytes()
    ]
    assert leaks == []
    per_project = dict(
        runner.query("select project_id, sum(finished) from dcs.restore_failure_rates group by 1")
    )
    finished = {world_a.project_id: 0, SECOND_PROJECT: 0}
    for r in expected:
        finished[r["project_id"]] += r["status"] in ("succeed", "failed")
    assert per_project == finished


def test_one_failing_target_does_not_stop_the_other(
    serve, runner: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    world_a, sim_a, _, sim_b = two_regions(serve)
    configure(monkeypatch, sim_a, sim_b, second_secret="wrong-second-secret")
    with pytest.raises(RunFailed) as info:
        run(database=runner.database, pipelines_dir=runner.pipelines_dir)
    message = str(info.value)
    assert "APIGW.0301" in message and "\n" not in message
    assert "wrong-second-secret" not in message
    assert runner.restores() == expected_restores(world_a, NOW)
    assert sim_b.auth_failures == 1
    summary = info.value.summary
    assert summary is not None
    assert [bool(t["errors"]) for t in summary.targets] == [False, True]
    assert "FAILED" in summary.text()


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        ("not a list", "targets is not a list: set SOURCES__DCS_RESTORES__TARGETS"),
        ("[]", "targets must be a non-empty list"),
        ('[{"endpoint": "https://a.example.com"}]', "targets[0]: no project id"),
        (
            '[{"region": "eu-de", "project_id": "' + "a" * 32 + '", "zone": 1}]',
            "targets[0] has unknown keys ['zone']",
        ),
        (
            '[{"region": "eu-de", "project_id": "'
            + "a" * 32
            + '"}, {"region": "eu-de", "project_id": "'
            + "a" * 32
            + '"}]',
            "the same endpoint and project_id twice",
        ),
    ],
)
def test_bad_targets_one_line(monkeypatch: pytest.MonkeyPatch, targets: str, message: str) -> None:
    monkeypatch.setenv(PREFIX + "TARGETS", targets)
    monkeypatch.setenv(PREFIX + "CREDENTIALS__ACCESS_KEY", DEMO_ACCESS_KEY)
    monkeypatch.setenv(PREFIX + "CREDENTIALS__SECRET_KEY", DEMO_SECRET_KEY)
    with pytest.raises(ConfigError) as info:
        load_targets()
    assert message in str(info.value)
    assert "\n" not in str(info.value)
