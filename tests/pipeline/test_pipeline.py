"""The real pipeline against the simulator: pages, 204, incremental runs, new instances."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from dcs_restores.settings import BEGIN_TIME_MARGIN
from dcs_simulator import World

from tests.conftest import Runner, expected_restores

T0 = datetime(2026, 3, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
A = "aaaaaaaa-0000-4000-8000-000000000001"
B = "bbbbbbbb-0000-4000-8000-000000000002"
C = "cccccccc-0000-4000-8000-000000000003"
D = "dddddddd-0000-4000-8000-000000000004"


def build_world() -> World:
    """A: hourly restores, 25 by T0 (3 pages of 10), some running at T0, 5 more by T0 + 6h;
    B: none (204);
    C: listed only from T0 + 3h, with restores older than A's cursor;
    D: one restore started 3 days before T0 that runs for 4 days, and newer short ones."""
    world = World.empty(seed=3)
    world.add_instance(A, name="a", created_at=T0 - 90 * DAY)
    world.add_instance(B, name="b", created_at=T0 - 90 * DAY)
    world.add_instance(C, name="c", created_at=T0 - 90 * DAY, listed_from=T0 + 3 * HOUR)
    world.add_instance(D, name="d", created_at=T0 - 90 * DAY)
    for i in range(30):
        world.add_restore(
            A,
            T0 - 24 * HOUR + i * HOUR,
            wait_s=60,
            duration_s=3 * 3600,
            outcome="failed" if i % 4 == 0 else "succeed",
            error_code="dcs.08.0002" if i % 4 == 0 else None,
        )
    for i in range(4):
        world.add_restore(C, T0 - 10 * DAY + i * HOUR, wait_s=5, duration_s=600)
    world.add_restore(D, T0 - 3 * DAY, wait_s=30, duration_s=4 * 86400)
    world.add_restore(D, T0 - HOUR, wait_s=30, duration_s=60)
    world.add_restore(
        D, T0 - 5 * DAY, wait_s=30, duration_s=60, outcome="failed", error_code="dcs.08.0007"
    )
    return world


def listed_only(rows: list[dict], ids: set[str]) -> list[dict]:
    return [r for r in rows if r["instance_id"] in ids]


def test_two_runs_status_changes_and_a_new_instance(serve, runner: Runner) -> None:
    world = build_world()
    sim = serve(world, now=T0)

    first = runner.run(sim)
    assert runner.restores() == expected_restores(world, T0)
    assert {r["instance_id"] for r in runner.restores()} == {A, D}
    assert first.restores_new == 25 + 3
    assert first.instances_read == 3
    restores_a = sim.restore_requests(A)
    # each page repeats the last row of the one before (1 % of the page, at least one row)
    assert [r.query["offset"] for r in restores_a] == ["0", "9", "18"]
    assert all("begin_time" not in r.query for r in sim.restore_requests())
    b_status = [r.status for r in sim.restore_requests(B)]
    assert b_status == [204]
    open_at_t0 = {
        r["restore_id"] for r in runner.restores() if r["status"] in ("waiting", "restoring")
    }
    assert len(open_at_t0) >= 3

    sim.reset_log()
    sim.set_now(T0 + 6 * HOUR)
    second = runner.run(sim)
    rows = runner.restores()
    assert rows == expected_restores(world, T0 + 6 * HOUR)
    assert len({r["restore_id"] for r in rows}) == len(rows)
    assert {r["instance_id"] for r in rows} == {A, C, D}
    # C appeared now: its whole history loads, although it is older than A's cursor
    assert len([r for r in rows if r["instance_id"] == C]) == 4
    begin = {r.instance_id: r.query.get("begin_time") for r in sim.restore_requests()}
    # A: newest created_at seen in run 1 was T0, minus the 24 h look-back
    # (every begin_time is sent BEGIN_TIME_MARGIN early, for a server reading it in its zone)
    assert begin[A] == (T0 - 24 * HOUR - BEGIN_TIME_MARGIN).strftime("%Y%m%d%H%M%S")
    # D: its running restore from T0 - 3 days pulls the window back past the look-back
    assert begin[D] == (T0 - 3 * DAY - BEGIN_TIME_MARGIN).strftime("%Y%m%d%H%M%S")
    assert begin[C] is None
    assert begin[B] is None
    assert second.restores_new == 4 + 5
    statuses = {r["restore_id"]: r["status"] for r in rows}
    assert sum(1 for rid in open_at_t0 if statuses[rid] in ("succeed", "failed")) >= 2
    assert second.restores_updated >= 2

    sim.reset_log()
    sim.set_now(T0 + 5 * DAY)
    runner.run(sim)
    rows = runner.restores()
    assert rows == expected_restores(world, T0 + 5 * DAY)
    assert all(r["status"] in ("succeed", "failed") for r in rows)
    # nothing is open any more: D is read from the look-back window only
    begin = {r.instance_id: r.query.get("begin_time") for r in sim.restore_requests()}
    # D's long restore was still open at the second run, so the third reaches back to it
    assert begin[D] == (T0 - 3 * DAY - BEGIN_TIME_MARGIN).strftime("%Y%m%d%H%M%S")


def test_rerun_with_nothing_new_changes_nothing(serve, runner: Runner) -> None:
    world = build_world()
    sim = serve(world, now=T0 + 10 * DAY)
    runner.run(sim, page_size=1000)
    before = runner.restores()
    sim.reset_log()
    again = runner.run(sim, page_size=1000)
    assert runner.restores() == before
    assert again.restores_new == 0
    assert again.restores_updated == 0
    # one restores request per instance: nothing open, the look-back window fits one page
    assert len(sim.restore_requests()) == 4


def test_configured_instance_ids_limit_the_read(serve, runner: Runner) -> None:
    world = build_world()
    sim = serve(world, now=T0)
    summary = runner.run(sim, instance_ids=(D,))
    assert {r["instance_id"] for r in runner.restores()} == {D}
    assert runner.query("select instance_id from dcs.instances") == [(D,)]
    assert summary.instances_read == 1
    assert {r.instance_id for r in sim.restore_requests()} == {D}


def test_start_date_limits_first_run(serve, runner: Runner) -> None:
    world = build_world()
    sim = serve(world, now=T0)
    runner.run(sim, start_date=T0 - 2 * HOUR)
    rows = runner.restores()
    assert rows and all(r["created_at"] >= T0 - 2 * HOUR for r in rows)
    assert rows == [r for r in expected_restores(world, T0) if r["created_at"] >= T0 - 2 * HOUR]


@pytest.mark.parametrize("style", ["mixed"])
def test_mixed_timestamps_and_nulls_load_the_same_rows(serve, runner: Runner, style: str) -> None:
    world = World.generate(
        seed=11, instances=3, restores_per_instance=30, timestamp_style=style, null_style="mixed"
    )
    sim = serve(world)
    runner.run(sim)
    assert runner.restores() == expected_restores(world, sim.now)


def test_tables_and_instances(serve, runner: Runner) -> None:
    world = build_world()
    sim = serve(world, now=T0)
    runner.run(sim)
    instances = runner.query(
        "select instance_id, project_id, name, engine from dcs.instances order by name"
    )
    assert instances == [
        (A, world.project_id, "a", "Redis"),
        (B, world.project_id, "b", "Redis"),
        (D, world.project_id, "d", "Redis"),
    ]
    columns = [
        r[0]
        for r in runner.query(
            "select column_name from information_schema.columns "
            "where table_schema = 'dcs' and table_name = 'restores'"
        )
    ]
    for name in (
        "restore_id",
        "project_id",
        "instance_id",
        "backup_id",
        "backup_name",
        "updated_at",
        "restore_remark",
        "created_at",
        "progress",
        "error_code",
        "restore_name",
        "backup_remark",
        "status",
    ):
        assert name in columns


def test_server_capping_pages_below_limit(serve, runner: Runner) -> None:
    world = World.generate(seed=12, instances=2, restores_per_instance=23)
    sim = serve(world, page_cap=7)
    runner.run(sim)
    # total_num says more rows exist: the read pages on at the server's page size
    assert runner.restores() == expected_restores(world, sim.now)
    offsets = [r.query["offset"] for r in sim.restore_requests(world.instance_ids[0])]
    # (each page repeats one row of the one before)
    assert offsets == ["0", "6", "12", "18"]


def test_gateway_404_fails_the_run_and_cancels_retries_elsewhere(serve, runner: Runner) -> None:
    from dcs_restores_pipeline.runner import RunFailed
    from dcs_simulator import FaultPlan, FaultRule

    world = World.generate(seed=13, instances=2, restores_per_instance=5, empty_instances=0)
    broken, flaky = world.instance_ids
    faults = FaultPlan(
        [FaultRule("404", match=broken, code="APIGW.0101"), FaultRule("503", match=flaky)]
    )
    sim = serve(world, faults=faults)
    with pytest.raises(RunFailed) as info:
        # six attempts with up to 5 s between them would take ~15 s without the cancel
        runner.run(sim, concurrency=2, max_retry_delay=5.0)
    assert f"instance {broken}: HTTP 404 APIGW.0101" in str(info.value)
    # a 404 without DCS.3022 is not a deleted instance: it is not skipped
    assert info.value.summary is not None and info.value.summary.instances_skipped == []
    # the other instance stopped retrying once the run stopped
    assert len(sim.restore_requests(flaky)) <= 2
