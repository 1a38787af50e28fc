"""The demo world has the character the report is meant to show, from its ground truth."""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from dcs_simulator import World
from dcs_simulator.demo_world import (
    INCIDENT_CODE,
    PROFILES,
    at_risk_expectations,
    build_demo_world,
)

ANCHOR = datetime(2026, 3, 14, 9, 26, 53, tzinfo=UTC)


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _seconds(row: dict[str, Any]) -> float:
    return (_ts(row["updated_at"]) - _ts(row["created_at"])).total_seconds()


@pytest.fixture(scope="module")
def world() -> World:
    return build_demo_world(ANCHOR)


@pytest.fixture(scope="module")
def truth(world: World) -> list[dict[str, Any]]:
    return world.ground_truth(ANCHOR, canonical=True)


@pytest.fixture(scope="module")
def by_instance(truth: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Each instance's restores, oldest first."""
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in sorted(truth, key=lambda r: r["created_at"]):
        grouped[row["instance_id"]].append(row)
    return grouped


def _trailing_failures(rows: list[dict[str, Any]]) -> int:
    finished = [r for r in rows if r["status"] in ("succeed", "failed")]
    streak = 0
    for row in reversed(finished):
        if row["status"] != "failed":
            break
        streak += 1
    return streak


def _median_succeeded(rows: list[dict[str, Any]]) -> float:
    return statistics.median(_seconds(r) for r in rows if r["status"] == "succeed")


def test_instances_span_sizes_and_names(world: World) -> None:
    listed = world.instances_at(ANCHOR)
    assert 15 <= len(listed) <= 25
    names = [i["name"] for i in listed]
    assert len(set(names)) == len(names)
    assert sum(not n.isascii() for n in names) >= 2
    sizes = [p.size_gb for p in PROFILES]
    assert min(sizes) <= 0.05 and max(sizes) >= 40


def test_durations_grow_with_backup_size_with_spread(
    world: World, by_instance: dict[str, list[dict[str, Any]]]
) -> None:
    size_of = {i["instance_id"]: 0.0 for i in world.instances_at(ANCHOR)}
    names = {i["instance_id"]: i["name"] for i in world.instances_at(ANCHOR)}
    for profile in PROFILES:
        size_of[next(k for k, v in names.items() if v == profile.name)] = profile.size_gb
    points = [
        (math.log(size_of[iid]), math.log(_median_succeeded(rows)))
        for iid, rows in by_instance.items()
        if sum(r["status"] == "succeed" for r in rows) >= 10
    ]
    assert len(points) >= 15
    assert statistics.correlation(*zip(*points, strict=True)) > 0.9
    biggest = max(by_instance.values(), key=lambda rows: size_of[rows[0]["instance_id"]])
    smallest = min(by_instance.values(), key=lambda rows: size_of[rows[0]["instance_id"]])
    assert _median_succeeded(biggest) > 15 * _median_succeeded(smallest)
    # log-normal spread: within one instance, the slow restores take well over the median
    spreads = []
    for rows in by_instance.values():
        durations = sorted(_seconds(r) for r in rows if r["status"] == "succeed")
        if len(durations) >= 30:
            spreads.append(durations[int(0.9 * len(durations))] / statistics.median(durations))
    assert len(spreads) >= 10
    assert all(1.2 < spread < 3 for spread in spreads)


def test_flaky_instance_has_a_current_streak_and_nobody_else(
    by_instance: dict[str, list[dict[str, Any]]],
) -> None:
    risk = at_risk_expectations(ANCHOR)
    assert _trailing_failures(by_instance[risk.flaky.instance_id]) >= 3
    others = {
        iid: _trailing_failures(rows)
        for iid, rows in by_instance.items()
        if iid != risk.flaky.instance_id
    }
    assert max(others.values()) <= 1


def test_incident_day_is_a_burst_of_one_code(truth: list[dict[str, Any]]) -> None:
    risk = at_risk_expectations(ANCHOR)
    assert risk.incident_code == INCIDENT_CODE == "dcs.08.0007"
    assert timedelta(days=2) < ANCHOR - datetime.combine(
        risk.incident_day, datetime.min.time(), UTC
    )
    failures = [r for r in truth if r["status"] == "failed" and r["error_code"] == INCIDENT_CODE]
    per_day = Counter(_ts(r["created_at"]).date() for r in failures)
    hit = {r["instance_id"] for r in failures if _ts(r["created_at"]).date() == risk.incident_day}
    assert per_day[risk.incident_day] >= 10
    assert len(hit) >= 3
    assert hit == {ref.instance_id for ref in risk.incident_instances}
    # the incident stands out: no other day has more than two of that code
    assert max(n for day, n in per_day.items() if day != risk.incident_day) <= 2


def test_never_restored_instance_has_no_restores(
    world: World, by_instance: dict[str, list[dict[str, Any]]]
) -> None:
    risk = at_risk_expectations(ANCHOR)
    assert risk.never_restored.instance_id in world.instance_ids
    assert world.count_restores(risk.never_restored.instance_id, ANCHOR) == 0
    assert risk.never_restored.instance_id not in by_instance
    assert len(by_instance) == len(world.instance_ids) - 1


def test_running_restores_one_far_overdue(by_instance: dict[str, list[dict[str, Any]]]) -> None:
    risk = at_risk_expectations(ANCHOR)
    running = {
        r["restore_id"]: (iid, (ANCHOR - _ts(r["created_at"])).total_seconds())
        for iid, rows in by_instance.items()
        for r in rows
        if r["status"] in ("waiting", "restoring")
    }
    assert len(running) >= 3
    overdue = {
        restore_id
        for restore_id, (iid, elapsed) in running.items()
        if elapsed > 3 * _median_succeeded(by_instance[iid])
    }
    assert overdue == {risk.overdue_restore_id}
    assert running[risk.overdue_restore_id][0] == risk.overdue.instance_id


def test_history_ends_at_the_anchor(truth: list[dict[str, Any]]) -> None:
    created = sorted(_ts(r["created_at"]) for r in truth)
    assert ANCHOR - created[-1] < timedelta(minutes=5)
    assert timedelta(days=60) <= ANCHOR - created[0] <= timedelta(days=90)
    days = {c.date() for c in created}
    assert len(days) >= 60


def test_same_seed_same_world_and_a_later_horizon_only_adds(
    world: World, truth: list[dict[str, Any]]
) -> None:
    again = build_demo_world(ANCHOR)
    first = again.ground_truth(ANCHOR, canonical=True)
    assert first == truth
    assert again.backup_truth(ANCHOR) == world.backup_truth(ANCHOR)
    other = build_demo_world(ANCHOR, seed=8).ground_truth(ANCHOR, canonical=True)
    assert {r["restore_id"] for r in other}.isdisjoint(r["restore_id"] for r in first)

    later = ANCHOR + timedelta(days=2)
    longer = build_demo_world(ANCHOR, later)
    assert longer.ground_truth(ANCHOR, canonical=True) == first
    assert longer.backup_truth(ANCHOR) == world.backup_truth(ANCHOR)
    grown = longer.ground_truth(later, canonical=True)
    assert len(grown) > len(first) + 20
    ids_then = {r["restore_id"] for r in first}
    assert ids_then < {r["restore_id"] for r in grown}


def test_every_restored_instance_succeeded_within_days(
    by_instance: dict[str, list[dict[str, Any]]],
) -> None:
    # so that "no successful restore in D days" (D of a week) names only the never-restored one
    last_success = {
        iid: max(_ts(r["updated_at"]) for r in rows if r["status"] == "succeed")
        for iid, rows in by_instance.items()
    }
    assert max(ANCHOR - moment for moment in last_success.values()) < timedelta(days=6)


@pytest.fixture(scope="module")
def backups(world: World) -> dict[str, list[dict[str, Any]]]:
    """Each instance's backup records at the anchor, oldest first."""
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    rows = world.backup_truth(ANCHOR, canonical=True)
    for row in sorted(rows, key=lambda r: r["created_at"]):
        grouped[row["instance_id"]].append(row)
    return grouped


def _newest_restorable(rows: list[dict[str, Any]]) -> datetime:
    return max(
        _ts(r["created_at"])
        for r in rows
        if r["status"] == "succeed" and r["is_support_restore"] == "TRUE"
    )


def test_stale_instance_has_only_old_backups(
    world: World, backups: dict[str, list[dict[str, Any]]]
) -> None:
    risk = at_risk_expectations(ANCHOR)
    assert backups.keys() == set(world.instance_ids)
    age = {iid: ANCHOR - _newest_restorable(rows) for iid, rows in backups.items()}
    assert age.pop(risk.stale_backups.instance_id) > timedelta(days=14)
    assert max(age.values()) < timedelta(days=1, hours=6)


def test_backups_are_periodic_and_manual_and_restores_name_them(
    backups: dict[str, list[dict[str, Any]]], by_instance: dict[str, list[dict[str, Any]]]
) -> None:
    risk = at_risk_expectations(ANCHOR)
    kinds = Counter(r["backup_type"] for rows in backups.values() for r in rows)
    assert kinds["auto"] > 60 * 15 and kinds["manual"] > 100
    never = backups[risk.never_restored.instance_id]
    auto_days = {_ts(r["created_at"]).date() for r in never if r["backup_type"] == "auto"}
    assert len(auto_days) >= 70
    # automatic backups are kept a week, manual ones until deleted
    statuses = Counter((r["backup_type"], r["status"]) for r in never)
    assert statuses["auto", "expired"] > 50 and 5 <= statuses["auto", "succeed"] <= 8
    assert statuses["manual", "succeed"] >= 1 and statuses["manual", "expired"] == 0
    for iid, restores in by_instance.items():
        known = {r["backup_id"]: r for r in backups[iid]}
        for restore in restores:
            backup = known[restore["backup_id"]]
            assert backup["backup_name"] == restore["backup_name"]
            assert _ts(backup["created_at"]) < _ts(restore["created_at"])
            assert backup["status"] in ("succeed", "expired")
            if backup["status"] == "succeed":  # else updated_at is when it expired
                assert _ts(backup["updated_at"]) < _ts(restore["created_at"])
