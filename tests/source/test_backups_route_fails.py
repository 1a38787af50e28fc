"""A backups route that fails for every instance sets aside the backups, never the restores.

A 403 policy answer or a gateway 404 on the backups route is the same for every instance:
the backups read of the target stops, while the restores read goes on and loads. A 401
(bad credentials) still stops everything at once: five bad AK/SK tries lock the key.
"""

from __future__ import annotations

import pytest
from dcs_restores.client import DcsClient
from dcs_restores.errors import DcsApiError, DcsAuthError
from dcs_restores.extract import FAILURES_TO_STOP, instance_failure
from dcs_restores.paging import iter_backup_pages, iter_restore_pages
from dcs_restores_pipeline.runner import RunFailed
from dcs_simulator import FaultPlan, FaultRule

from tests.conftest import Runner, expected_restores
from tests.support.worlds import early, quick_run, small_world

CONCURRENCY = 2


@pytest.mark.parametrize(
    ("kind", "code"), [("403", "APIGW.0302"), ("404", "APIGW.0101")], ids=["403", "404"]
)
def test_failing_backups_route_sets_aside_backups_and_restores_load(
    serve, runner: Runner, kind: str, code: str
) -> None:
    world = small_world(seed=8, instances=12, empty=0)
    plan = FaultPlan([FaultRule(kind, match="backups", code=code)])
    sim = serve(world, now=early(world), faults=plan)
    with pytest.raises(RunFailed) as failed:
        quick_run(runner, sim, max_attempts=2, concurrency=CONCURRENCY)
    summary = failed.value.summary
    assert summary is not None

    # every restore loaded, every instance read, none failed
    assert runner.restores() == expected_restores(world, sim.now)
    assert summary.instances_read == 12 and summary.instances_failed == []
    assert len(sim.restore_requests()) >= 12

    # the backups are set aside: each listed instance at most once, no backup row read
    assert summary.backups_rows_extracted == 0
    assert summary.backups_failed, "the backups failures are named"
    assert len(set(summary.backups_failed)) == len(summary.backups_failed)
    assert set(summary.backups_failed) <= set(world.instance_ids)
    # the route is not asked again and again: only the requests in flight when it first failed
    assert 1 <= len(sim.backup_requests()) <= CONCURRENCY
    assert {r.status for r in sim.backup_requests()} == {int(kind)}

    # the run's last line says the backups were set aside, why, and that restores loaded
    line = str(failed.value)
    assert line.startswith(f"backups of project {world.project_id}")
    assert f"HTTP {kind} {code}" in line
    assert "the backups of 12 of 12 instances are set aside" in line
    assert "restores are read and loaded" in line
    assert "set aside for" in summary.text()


def _client(sim, runner: Runner) -> DcsClient:
    return DcsClient(runner.settings(sim, max_attempts=3))


def test_a_refused_route_is_remembered_for_its_kind_only(serve, runner: Runner) -> None:
    world = small_world(seed=8, instances=3, empty=0)
    plan = FaultPlan([FaultRule("403", match="backups", code="APIGW.0302")])
    sim = serve(world, now=early(world), faults=plan)
    client = _client(sim, runner)
    first, second = world.instance_ids[:2]
    with pytest.raises(DcsAuthError) as refused:
        list(iter_backup_pages(client, first, None, 100))
    assert refused.value.instance_id == first and first in str(refused.value)
    # the next instance's backups are not asked again, and its failure names it, not the first
    with pytest.raises(DcsAuthError) as again:
        list(iter_backup_pages(client, second, None, 100))
    assert again.value.instance_id == second
    assert second in str(again.value) and first not in str(again.value)
    assert len(sim.backup_requests()) == 1
    # the restores route is another kind: it is asked and answers
    pages = list(iter_restore_pages(client, second, None, 100))
    assert sum(len(page) for page in pages) > 0
    assert len(sim.restore_requests(second)) >= 1


def test_bad_credentials_are_remembered_for_every_route(serve, runner: Runner) -> None:
    world = small_world(seed=8, instances=3, empty=0)
    plan = FaultPlan([FaultRule("401", match="backups", code="APIGW.0301")])
    sim = serve(world, now=early(world), faults=plan)
    client = _client(sim, runner)
    first, second = world.instance_ids[:2]
    with pytest.raises(DcsAuthError):
        list(iter_backup_pages(client, first, None, 100))
    with pytest.raises(DcsAuthError) as again:
        list(iter_restore_pages(client, second, None, 100))
    assert again.value.instance_id == second and "APIGW.0301" in str(again.value)
    assert len(sim.requests) == 1 and sim.restore_requests() == []


def test_bad_credentials_on_backups_still_stop_everything(serve, runner: Runner) -> None:
    world = small_world(seed=8, instances=12, empty=0)
    plan = FaultPlan([FaultRule("401", match="backups", code="APIGW.0301")])
    sim = serve(world, now=early(world), faults=plan)
    with pytest.raises(RunFailed) as failed:
        quick_run(runner, sim, max_attempts=3, concurrency=CONCURRENCY)
    summary = failed.value.summary
    assert summary is not None
    # a bad key is never tried again: only the requests in flight got the 401, none retried
    unauthorized = [r for r in sim.requests if r.status == 401]
    assert 1 <= len(unauthorized) <= CONCURRENCY
    assert summary.retries == 0
    # nothing is asked after the key was refused: restores and backups stop together
    first = min(r.at for r in unauthorized)
    assert [r for r in sim.requests if r.at > first + 1.0] == []
    assert summary.instances_read < 12
    assert "APIGW.0301" in str(failed.value)


def test_a_streak_of_backups_failures_stops_only_the_backups_read(serve, runner: Runner) -> None:
    world = small_world(seed=8, instances=12, empty=0)
    plan = FaultPlan([FaultRule("500", match="backups")])
    sim = serve(world, now=early(world), faults=plan)
    with pytest.raises(RunFailed) as failed:
        quick_run(runner, sim, max_attempts=1, concurrency=1)
    summary = failed.value.summary
    assert summary is not None
    assert runner.restores() == expected_restores(world, sim.now)
    assert summary.instances_read == 12 and summary.instances_failed == []
    # the backups read ends after FAILURES_TO_STOP instances (plus the one started meanwhile)
    assert FAILURES_TO_STOP <= len(summary.backups_failed) <= FAILURES_TO_STOP + 2
    assert len(set(summary.backups_failed)) == len(summary.backups_failed)
    assert len(sim.backup_requests()) == len(summary.backups_failed)
    line = str(failed.value)
    assert line.startswith(f"backups of project {world.project_id}: HTTP 500")
    assert f"{FAILURES_TO_STOP} instances failed in a row" in line
    assert "the restores are read and loaded" in line


def test_an_instance_failure_is_named_by_the_instance_that_read_it() -> None:
    other = DcsAuthError("instance a: HTTP 403 APIGW.0302: denied", status=403, instance_id="a")
    failure = instance_failure("b", other)
    assert (failure.instance_id, str(failure), failure.code) == (
        "b",
        "instance b: HTTP 403 APIGW.0302: denied",
        None,
    )
    assert isinstance(failure, DcsAuthError) and failure.status == 403
    unnamed = DcsApiError("instance b: too_many_pages", code="too_many_pages")
    named = instance_failure("b", unnamed)
    assert (named.instance_id, str(named)) == ("b", "instance b: too_many_pages")
