"""Tests of the simulator's world model: determinism, time-driven status, paging and scale."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import psutil
import pytest
from dcs_simulator import DEFAULT_PROJECT_ID, ERROR_CODES, InstanceNotFound, World

RESTORE_FIELDS = {
    "backup_id", "restore_id", "backup_name", "updated_at", "restore_remark", "created_at",
    "progress", "error_code", "restore_name", "backup_remark", "status",
}  # fmt: skip
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def ids(rows: list[dict]) -> list[str]:
    return [row["restore_id"] for row in rows]


def test_default_world_numbers() -> None:
    world = World.generate()
    now = world.default_now
    assert now is not None
    listed = world.instances_at(now)
    counts = [world.count_restores(i["instance_id"], now) for i in listed]
    assert len(listed) == 12
    assert sorted(counts) == [0] + [40] * 11
    assert len(world.ground_truth(now)) == 440
    assert world.project_id == DEFAULT_PROJECT_ID and re.fullmatch(
        r"[0-9a-f]{32}", DEFAULT_PROJECT_ID
    )


def test_same_seed_same_world_other_seed_other_ids() -> None:
    first, again, other = World.generate(seed=3), World.generate(seed=3), World.generate(seed=4)
    now = first.default_now
    assert now is not None
    assert first.ground_truth(now) == again.ground_truth(now)
    assert first.instances_at(now) == again.instances_at(now)
    assert not set(ids(first.ground_truth(now))) & set(ids(other.ground_truth(now)))


def test_restores_per_instance_range_and_unique_ids() -> None:
    world = World.generate(instances=6, empty_instances=0, restores_per_instance=(5, 15))
    now = world.default_now
    assert now is not None
    counts = [world.count_restores(i, now) for i in world.instance_ids]
    assert all(5 <= c <= 15 for c in counts) and len(set(counts)) > 1
    rows = world.ground_truth(now)
    assert len(set(ids(rows))) == len(rows) == sum(counts)


def test_records_are_api_shaped() -> None:
    world = World.generate(instances=3, restores_per_instance=30, failure_rate=0.5)
    now = world.default_now
    assert now is not None
    rows = world.ground_truth(now)
    assert {frozenset(r) for r in rows} == {
        frozenset(RESTORE_FIELDS | {"instance_id", "project_id"})
    }
    for row in rows:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", row["created_at"])
        assert row["backup_remark"] == {} or isinstance(row["backup_remark"], str)
        if row["status"] == "failed":
            assert row["error_code"] in ERROR_CODES
        else:
            assert row["status"] == "succeed" and row["error_code"] == {}
            assert row["progress"] == "100.00"


def test_status_follows_the_clock() -> None:
    world = World.empty()
    iid = world.add_instance(name="hand")
    ok = world.add_restore(iid, T0, wait_s=60, duration_s=120)
    bad = world.add_restore(
        iid, T0 + timedelta(seconds=1), 60, 120, "failed", "dcs.08.0007", fail_progress=50
    )

    def state(rid: str, seconds: float) -> tuple[str, str, str, object]:
        rows = {r["restore_id"]: r for r in world.ground_truth(T0 + timedelta(seconds=seconds))}
        row = rows[rid]
        return row["status"], row["progress"], row["updated_at"], row["error_code"]

    assert world.ground_truth(T0 - timedelta(milliseconds=1)) == []
    assert state(ok, 0) == ("waiting", "0.00", "2025-03-01T12:00:00.000Z", {})
    assert state(ok, 105) == ("restoring", "37.50", "2025-03-01T12:01:00.000Z", {})
    assert state(ok, 180) == ("succeed", "100.00", "2025-03-01T12:03:00.000Z", {})
    assert state(bad, 121) == ("restoring", "25.00", "2025-03-01T12:01:01.000Z", {})
    assert state(bad, 181) == ("failed", "50.00", "2025-03-01T12:03:01.000Z", "dcs.08.0007")


def test_pages_newest_first_ties_by_restore_id_and_filters_inclusive() -> None:
    world = World.empty()
    iid = world.add_instance()
    for rid in ("c", "a", "b"):
        world.add_restore(iid, T0, restore_id=rid)
    world.add_restore(iid, T0 + timedelta(seconds=5), restore_id="newest")
    world.add_restore(iid, T0 - timedelta(seconds=5), restore_id="oldest")
    now = T0 + timedelta(days=1)
    items, total = world.restores_page(iid, now, limit=10)
    assert ids(items) == ["newest", "a", "b", "c", "oldest"] and total == 5
    items, total = world.restores_page(iid, now, offset=1, limit=2)
    assert ids(items) == ["a", "b"] and total == 5
    items, total = world.restores_page(iid, now, begin=T0, end=T0 + timedelta(seconds=5))
    assert ids(items) == ["newest", "a", "b", "c"] and total == 4
    assert world.restores_page(iid, now, offset=9) == ([], 5)
    assert world.restores_page(iid, T0 - timedelta(seconds=1))[1] == 1


def test_generated_ties_are_ordered_by_restore_id() -> None:
    world = World.generate(
        instances=1, empty_instances=0, restores_per_instance=3000, span=timedelta(seconds=1)
    )
    now = world.default_now
    assert now is not None
    rows = world.restores_page(world.instance_ids[0], now, limit=1000, offset=1000)[0]
    keys = [(r["created_at"], r["restore_id"]) for r in rows]
    assert len({created for created, _ in keys}) < len(keys)
    by_id = sorted(keys, key=lambda k: k[1])
    assert keys == sorted(by_id, key=lambda k: k[0], reverse=True)  # stable: ids stay ascending


def test_late_listed_instance_and_deletion() -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    late_from = start + timedelta(days=90)
    world = World.generate(instances=4, late_instances=1, late_listed_from=late_from)
    late = world.instance_ids[2]
    run1, run2 = start + timedelta(days=70), late_from
    assert late not in {i["instance_id"] for i in world.instances_at(run1)}
    assert late in {i["instance_id"] for i in world.instances_at(run2)}
    assert world.count_restores(late, run1) == 40
    assert late not in {r["instance_id"] for r in world.ground_truth(run1)}
    world.delete_instance(late, run2 + timedelta(hours=1))
    assert world.restores_page(late, run2)[1] == 40
    with pytest.raises(InstanceNotFound):
        world.restores_page(late, run2 + timedelta(hours=1))
    with pytest.raises(InstanceNotFound):
        world.instance_at("no-such-instance", run2)


def test_null_and_timestamp_styles() -> None:
    world = World.generate(
        instances=2, empty_instances=0, null_style="mixed", timestamp_style="mixed"
    )
    now = world.default_now
    assert now is not None
    rows = world.ground_truth(now)
    assert {repr(r["error_code"]) for r in rows if r["status"] == "succeed"} == {"{}", "None", "''"}
    forms = {
        "millis": r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z",
        "seconds": r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ",
        "offset": r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00",
        "space": r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d",
    }
    seen = {
        name for r in rows for name, form in forms.items() if re.fullmatch(form, r["created_at"])
    }
    assert seen == set(forms)
    canonical = world.ground_truth(now, canonical=True)
    assert ids(canonical) == ids(rows)
    assert all(r["created_at"].endswith("Z") and r["backup_remark"] != {} for r in canonical)


def test_filter_time_read_at_the_world_offset() -> None:
    world = World.empty(filter_tz_offset_hours=2)
    assert world.parse_filter_time("20250301140000") == T0
    assert World.empty().parse_filter_time("20250301120000") == T0
    for bad in ("2025030112000", "2025-03-01", "20251301120000"):
        with pytest.raises(ValueError):
            world.parse_filter_time(bad)


def test_million_restores_fit_and_page() -> None:
    process = psutil.Process()
    rss_before = process.memory_info().rss
    started = time.perf_counter()
    world = World.generate(
        instances=1, empty_instances=0, restores_per_instance=0, big_instance_restores=1_000_000
    )
    seconds = time.perf_counter() - started
    grown_mb = (process.memory_info().rss - rss_before) / 2**20
    print(f"1M-restore instance: generated in {seconds:.2f}s, RSS grew {grown_mb:.1f} MB")
    assert grown_mb < 150
    big, now = world.instance_ids[-1], world.default_now
    assert now is not None
    assert world.count_restores(big, now) == 1_000_000
    previous: str | None = None
    for offset in (0, 499_995, 999_990):
        items, total = world.restores_page(big, now, offset=offset, limit=10)
        assert total == 1_000_000 and len(items) == 10
        created = [r["created_at"] for r in items]
        assert created == sorted(created, reverse=True)
        assert previous is None or previous >= created[0]
        previous = created[-1]
    assert world.restores_page(big, now, offset=999_999, limit=5)[0] == items[-1:]
