"""Table `backups` through the real pipeline against the simulator, compared with its truth."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from dcs_restores_pipeline.runner import RunFailed
from dcs_simulator import FaultPlan, FaultRule, World

from tests.conftest import Runner, expected_restores
from tests.support.backups import backup_cursors, expected_backups, table_backups
from tests.support.truth import local_state
from tests.support.worlds import early, small_world

DAY = timedelta(days=1)


def backups(runner: Runner) -> list[dict]:
    return table_backups(runner.query)


def statuses(rows: list[dict]) -> dict[str, str]:
    return {row["backup_id"]: row["status"] for row in rows}


def world_with_open_backups() -> tuple[World, str, str]:
    """A generated world plus, on its first instance, a backup running at the first run that
    fails before the second, and one made between the runs."""
    world = small_world(seed=4)
    start = early(world)
    first = world.instance_ids[0]
    running = world.add_backup(
        first, start - timedelta(minutes=5), duration_s=3600, outcome="failed", backup_type="manual"
    )
    later = world.add_backup(first, start + DAY, size_bytes=12345, backup_type="manual")
    return world, running, later


def test_two_runs_follow_new_finished_failed_and_expired_backups(serve, runner: Runner) -> None:
    world, running, later = world_with_open_backups()
    sim = serve(world, now=early(world))

    first = runner.run(sim, page_size=50)
    truth = expected_backups(world, sim.now)
    assert backups(runner) == truth
    assert runner.restores() == expected_restores(world, sim.now)
    assert first.backups_new == len(truth) == first.backups_total
    before = statuses(truth)
    assert before[running] == "backuping" and later not in before
    assert {"succeed", "failed", "expired", "deleted"} <= set(before.values())

    sim.advance(2 * DAY)
    second = runner.run(sim, page_size=50)
    truth = expected_backups(world, sim.now)
    assert backups(runner) == truth
    assert runner.restores() == expected_restores(world, sim.now)
    after = statuses(truth)
    assert after[running] == "failed" and after[later] == "succeed"
    changed = [bid for bid, status in before.items() if after[bid] != status]
    # backups that expired or were deleted between the runs, and the one that failed
    assert Counter(after[bid] for bid in changed)["expired"] > 0
    assert second.backups_updated == len(changed)
    assert second.backups_new == len(truth) - len(before) > 0
    assert "backups: " in second.text()
    assert f"backups: {second.backups_new} new, {len(changed)} updated" in second.text()
    # the open backup was re-read until final: no cursor keeps it open any more
    found = backup_cursors(local_state(runner))
    assert set(found) == set(world.instance_ids)
    assert [c["oldest_open"] for c in found.values()] == [None] * len(found)
    for iid in world.instance_ids:
        newest = max((r["created_at"] for r in truth if r["instance_id"] == iid), default=None)
        assert found[iid]["max_created_at"] == (newest.isoformat() if newest else None)


def test_idle_run_makes_one_backups_and_one_restores_request_per_instance(
    serve, runner: Runner
) -> None:
    world = small_world(seed=6, instances=5)
    sim = serve(world, now=early(world))
    runner.run(sim, page_size=1000)
    sim.reset_log()

    idle = runner.run(sim, page_size=1000)
    assert idle.backups_new == idle.restores_new == idle.backups_updated == 0
    kinds = Counter(r.kind for r in sim.requests)
    assert kinds == {"instances": 1, "restores": 5, "backups": 5}
    assert all(len(sim.backup_requests(iid)) == 1 for iid in world.instance_ids)
    # every instance with backups is read from a bounded window, not from the start
    asked = [r.query.get("begin_time") for r in sim.backup_requests()]
    assert sum(1 for begin in asked if begin) == 4 and idle.requests == 11
    assert backups(runner) == expected_backups(world, sim.now)


def test_bad_backup_record_is_rejected_and_the_others_load(serve, runner: Runner) -> None:
    world = small_world(seed=7, instances=2, empty=0)
    plan = FaultPlan([FaultRule("bad_record", match="backups", times=1)])
    sim = serve(world, now=early(world), faults=plan)
    summary = runner.run(sim, page_size=1000)
    truth = expected_backups(world, sim.now)
    loaded = backups(runner)
    # the first page lost its first record's backup_id and its last record's created_at
    assert len(loaded) == len(truth) - 2
    assert all(row in truth for row in loaded)
    assert summary.backups_rejected == 2
    rejected = runner.query(
        "select backup_id, reason from dcs.backups_rejected order by reason, backup_id"
    )
    assert [reason for _, reason in rejected] == [
        "record has no backup_id",
        "unparseable timestamp 'not-a-date'",
    ]
    assert rejected[1][0] in {row["backup_id"] for row in truth}
    assert "rejected backup records: 2" in summary.text()
    assert runner.restores() == expected_restores(world, sim.now)


def test_malformed_backups_page_sets_aside_only_that_instances_backups(
    serve, runner: Runner
) -> None:
    world = small_world(seed=8, instances=3, empty=0)
    broken = world.instance_ids[1]
    plan = FaultPlan([FaultRule("shape200", match=f"backups:{broken}")])
    sim = serve(world, now=early(world), faults=plan)
    with pytest.raises(RunFailed) as failed:
        runner.run(sim, page_size=1000, max_attempts=2)
    summary = failed.value.summary
    assert summary is not None
    assert summary.backups_failed == [broken] and summary.instances_failed == []
    line = str(failed.value)
    assert line.startswith(f"backups of instance {broken}: malformed_body")
    assert "backups are set aside" in line
    assert f"set aside for 1 instance(s): {broken}" in summary.text()
    # its restores and every other instance's backups loaded; its backups cursor stays unset
    assert runner.restores() == expected_restores(world, sim.now)
    truth = expected_backups(world, sim.now)
    assert backups(runner) == [row for row in truth if row["instance_id"] != broken]
    assert broken not in backup_cursors(local_state(runner))

    sim.faults = None
    healed = runner.run(sim, page_size=1000)
    assert backups(runner) == truth and healed.backups_failed == []


def test_backups_can_be_turned_off(serve, runner: Runner) -> None:
    world = small_world(seed=9, instances=2)
    sim = serve(world, now=early(world))
    summary = runner.run(sim, backups=False)
    assert sim.backup_requests() == [] and summary.backups_total == 0
    tables = {row[0] for row in runner.query("select table_name from duckdb_tables()")}
    assert "backups" not in tables and "restores" in tables
