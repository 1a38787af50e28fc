"""The simulator's backups: world model, ground truth and the signed /backups route."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from dcs_restores.auth import sign_headers
from dcs_simulator import (
    DEMO_ACCESS_KEY,
    DEMO_SECRET_KEY,
    DcsSimulator,
    FaultPlan,
    FaultRule,
    World,
)

from tests.support.signed import call

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def world() -> World:
    return World.generate(seed=5, instances=4, restores_per_instance=15, empty_instances=1)


@pytest.fixture
def sim(world: World) -> Iterator[DcsSimulator]:
    with DcsSimulator(world) as simulator:
        yield simulator


def backups(
    sim: DcsSimulator,
    iid: str,
    keys: tuple[str, str] = (DEMO_ACCESS_KEY, DEMO_SECRET_KEY),
    **q: Any,
) -> requests.Response:
    return call(sim, f"instances/{iid}/backups", q, keys=keys)


def test_every_generated_restore_names_an_earlier_backup_record(world: World) -> None:
    now = world.default_now
    assert now is not None
    by_id = {b["backup_id"]: b for b in world.backup_truth(now)}
    restores = world.ground_truth(now, canonical=True)
    assert len(restores) == 45
    for restore in restores:
        backup = by_id[restore["backup_id"]]
        assert backup["backup_name"] == restore["backup_name"]
        assert backup["instance_id"] == restore["instance_id"]
        assert backup["project_id"] == world.project_id
        assert backup["created_at"] < restore["created_at"]
        # the backup had finished (and could be restored) when the restore began
        then = datetime.fromisoformat(restore["created_at"])
        made = datetime.fromisoformat(backup["created_at"])
        page, total = world.backups_page(restore["instance_id"], then, made, made, 0, 10)
        assert total == 1 and page[0]["status"] == "succeed"
        assert backup["is_support_restore"] == "TRUE"
    statuses = Counter(b["status"] for b in by_id.values())
    assert {"succeed", "failed", "expired", "deleted"} <= set(statuses)
    assert Counter(b["is_support_restore"] for b in by_id.values())["FALSE"] > 0
    assert {b["backup_type"] for b in by_id.values()} == {"auto", "manual"}
    # periodic automatic backups beside the restores' own: daily over the last 21 days
    per_instance = Counter(b["instance_id"] for b in by_id.values())
    assert sorted(per_instance.values()) == [15 + 21] * 3
    failed = [b for b in by_id.values() if b["status"] == "failed"]
    assert all(b["error_code"].startswith("dcs.08.000") and b["size"] == 0 for b in failed)
    assert world.backup_truth(now) == world.backup_truth(now)  # derived, not drawn again


def test_backups_page_is_newest_first_and_pages_cover_the_truth(world: World) -> None:
    now = world.default_now
    assert now is not None
    iid = world.instance_ids[0]
    truth = [b for b in world.backup_truth(now, canonical=False) if b["instance_id"] == iid]
    seen: list[dict[str, Any]] = []
    while True:
        page, total = world.backups_page(iid, now, offset=len(seen), limit=7)
        assert total == len(truth)
        seen += page
        if len(page) < 7:
            break
    assert [b["backup_id"] for b in seen] == [b["backup_id"] for b in truth]
    created = [b["created_at"] for b in seen]
    assert created == sorted(created, reverse=True) and len(set(b["backup_id"] for b in seen)) == 36
    begin, end = datetime(2025, 2, 1, tzinfo=UTC), datetime(2025, 2, 10, tzinfo=UTC)
    window, total = world.backups_page(iid, now, begin, end, 0, 1000)
    inside = [b for b in seen if "2025-02-01" <= b["created_at"][:10] < "2025-02-10"]
    assert total == len(window) == len(inside) > 0


def test_hand_added_backup_lives_through_every_status() -> None:
    world = World.empty()
    iid = world.add_instance()
    bid = world.add_backup(
        iid,
        T0,
        size_bytes=5000,
        backup_type="manual",
        duration_s=100,
        remark="before upgrade",
        expires_at=T0 + timedelta(days=1),
        deleted_at=T0 + timedelta(days=2),
    )
    failed = world.add_backup(
        iid, T0 + timedelta(hours=1), outcome="failed", error_code="dcs.08.0002"
    )
    rid = world.add_restore(iid, T0 + timedelta(minutes=30), backup_id=bid)
    restore = world.ground_truth(T0 + timedelta(hours=2), canonical=True)[0]
    assert (restore["restore_id"], restore["backup_id"]) == (rid, bid)
    assert restore["backup_name"] == f"backup_{T0:%Y%m%d%H%M%S}"

    def state(at: timedelta) -> tuple[Any, ...]:
        page, _ = world.backups_page(iid, T0 + at, limit=10)
        record = next(b for b in page if b["backup_id"] == bid)
        return record["status"], record["progress"], record["size"], record["updated_at"]

    assert world.backups_page(iid, T0 - timedelta(seconds=1)) == ([], 0)
    assert state(timedelta(seconds=1)) == ("waiting", "0.00", 0, "2025-03-01T12:00:00.000Z")
    assert state(timedelta(seconds=52)) == ("backuping", "50.00", 0, "2025-03-01T12:00:02.000Z")
    assert state(timedelta(hours=1)) == ("succeed", "100.00", 5000, "2025-03-01T12:01:42.000Z")
    assert state(timedelta(days=1)) == ("expired", "100.00", 5000, "2025-03-02T12:00:00.000Z")
    assert state(timedelta(days=3)) == ("deleted", "100.00", 5000, "2025-03-03T12:00:00.000Z")
    rows = world.backup_truth(T0 + timedelta(days=3))
    assert [r["backup_id"] for r in rows] == [failed, bid]
    assert rows[0]["status"] == "failed" and rows[0]["error_code"] == "dcs.08.0002"
    assert rows[1]["remark"] == "before upgrade" and rows[1]["period"] is None
    assert rows[1]["execution_at"] == "2025-03-01T12:00:02.000Z"
    assert (rows[1]["backup_type"], rows[1]["backup_format"]) == ("manual", "rdb")


def test_route_answers_signed_pages_with_api_types(sim: DcsSimulator) -> None:
    iid = sim.world.instance_ids[1]
    answer = backups(sim, iid, limit=10, offset=5)
    assert answer.status_code == 200
    body = answer.json()
    assert body["total_num"] == 36 and len(body["backup_record_response"]) == 10
    record = body["backup_record_response"][0]
    assert isinstance(record["size"], int) and record["is_support_restore"] in ("TRUE", "FALSE")
    assert record["instance_id"] == iid and set(record) >= {"execution_at", "backup_format"}
    # braces are how the API renders null
    assert {} in [r["period"] for r in body["backup_record_response"]]
    empty = sim.world.instance_ids[3]
    assert backups(sim, empty).status_code == 204
    assert backups(sim, iid, keys=(DEMO_ACCESS_KEY, "wrong")).status_code == 401
    logged = sim.backup_requests(iid)
    assert [(r.kind, r.status, r.query) for r in logged] == [
        ("backups", 200, {"limit": "10", "offset": "5"}),
        ("backups", 401, {}),
    ]
    assert sim.restore_requests() == []


def test_faults_apply_to_the_backups_route(world: World) -> None:
    iid = world.instance_ids[0]
    plan = FaultPlan(
        [FaultRule("500", match="backups", times=1), FaultRule("bad_record", "backups")]
    )
    with DcsSimulator(world, faults=plan) as sim:
        assert backups(sim, iid).status_code == 500
        records = backups(sim, iid, limit=3).json()["backup_record_response"]
        assert "backup_id" not in records[0] and records[2]["created_at"] == "not-a-date"
        url = f"{sim.base_url}/v2/{world.project_id}/instances/{iid}/restores"
        headers = {"Content-Type": "application/json"}
        signed = sign_headers("GET", url, headers, b"", DEMO_ACCESS_KEY, DEMO_SECRET_KEY)
        assert requests.get(url, headers=signed, timeout=10).status_code == 200
    with DcsSimulator(world, faults=FaultPlan([FaultRule("shape200", "backups")])) as sim:
        assert backups(sim, iid).json()["backup_record_response"] == {"backup_id": "x"}


def test_fault_rules_for_one_instance_leave_its_backups_unless_named(world: World) -> None:
    iid = world.instance_ids[0]
    assert not FaultRule("500", match=iid).matches("backups", iid)
    assert FaultRule("500", match=iid).matches("restores", iid)
    only = FaultRule("500", match=f"backups:{iid}")
    assert only.matches("backups", iid)
    assert not only.matches("restores", iid) and not only.matches("backups", "other")
