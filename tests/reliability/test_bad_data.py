"""Bad records go to quarantine (dcs.restores_rejected, with the reason and the raw record) and
are counted in the run summary; the run goes on. Bad pages are retried (see test_retries)."""

from __future__ import annotations

import json
from typing import Any

from dcs_simulator import FaultPlan, FaultRule
from dcs_simulator.faults import ODD_RECORDS

from tests.conftest import Runner, expected_restores
from tests.support.truth import cursors, local_state
from tests.support.worlds import quick_run, small_world


def _first_page(world: Any, instance_id: str, now: Any) -> list[dict[str, Any]]:
    # the first run asks without begin_time, newest first, 10 per page
    return world.restores_page(instance_id, now, offset=0, limit=10)[0]


def test_bad_records_are_quarantined_counted_and_the_run_goes_on(serve, runner: Runner) -> None:
    world = small_world(seed=51, instances=4)
    a, b = world.instance_ids[:2]
    plan = FaultPlan(
        [FaultRule("bad_record", match=a, times=1), FaultRule("odd_record", match=b, times=1)]
    )
    simulator = serve(world, faults=plan)
    page_a, page_b = (_first_page(world, iid, simulator.now) for iid in (a, b))
    unknown = page_b[1]["restore_id"]  # its status arrives as "Paused"
    rejected = {
        page_a[0]["restore_id"]: "record has no restore_id",
        page_a[-1]["restore_id"]: "unparseable timestamp 'not-a-date'",
        page_b[0]["restore_id"]: "field progress has type dict, expected a number",
        page_b[2]["restore_id"]: "field restore_name has type list, expected a string",
        page_b[3]["restore_id"]: "expected a timestamp string, got int",
        page_b[4]["restore_id"]: "created_at 9999-12-31 is far in the future",
    }
    assert len(ODD_RECORDS) == 5

    summary = quick_run(runner, simulator)
    assert summary.rejected == 6 and summary.unknown_status == 1
    assert "rejected records: 6" in summary.text()
    assert "unknown status: 1" in summary.text()

    # everything else is loaded exactly; the record with an unknown status as it came
    expected = [
        r for r in expected_restores(world, simulator.now) if r["restore_id"] not in rejected
    ]
    for row in expected:
        if row["restore_id"] == unknown:
            row["status"] = "paused"
    assert runner.restores() == expected

    quarantine = runner.query(
        "select restore_id, instance_id, reason, raw_record from dcs.restores_rejected"
    )
    assert sorted(reason for *_, reason, _ in quarantine) == sorted(rejected.values())
    for restore_id, instance_id, reason, raw in quarantine:
        record = json.loads(raw)
        assert instance_id in (a, b)
        # the raw record is kept as the API sent it; its id, when it has one, is a column
        assert record.get("restore_id") == restore_id
        if restore_id is not None:
            assert rejected[restore_id] == reason
    # a restore in an unknown state counts as open: the next run reads it again
    cursor = cursors(local_state(runner))[b]
    created = {r["restore_id"]: r["created_at"] for r in runner.restores()}
    assert cursor["oldest_open"] <= created[unknown].isoformat()

    again = quick_run(runner, simulator)
    assert again.rejected == 0 and again.unknown_status == 0
    status = {r["restore_id"]: r["status"] for r in runner.restores()}
    truth = {r["restore_id"]: r["status"] for r in expected_restores(world, simulator.now)}
    assert status[unknown] == truth[unknown] != "paused"
    # quarantine rows are merged on a hash of the raw record: re-reading adds no copies
    assert runner.query("select count(*) from dcs.restores_rejected") == [(6,)]
