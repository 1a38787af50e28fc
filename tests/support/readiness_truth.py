"""Ground truth of the readiness views, computed in plain Python from the simulator's world.

Each rule is re-implemented from the views' documented definitions (their SQL headers and the
README), never from the SQL itself: durations from `updated_at - created_at` of finished
restores, percentiles as `percentile_cont` (linear interpolation between closest ranks), the
streak, the expectation of running restores, RPO and the daily figures.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from dcs_simulator import World

from tests.support.backups import expected_backups, table_backups

FINISHED = ("succeed", "failed")
OPEN = ("waiting", "restoring")
# created_at + expectation is given to the millisecond; one of rounding apart is the same time
MILLISECOND = timedelta(milliseconds=1)
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)

Row = tuple[Any, ...]
Query = Callable[[str], list[Row]]

CONTEXT_SQL = (
    "select restore_id, project_id, instance_id, status, backup_id, backup_type,"
    " backup_size_bytes, backup_created_at, restore_point_age_seconds, duration_seconds,"
    " throughput_bytes_per_second from dcs.restore_context"
)
IN_PROGRESS_SQL = (
    "select restore_id, project_id, instance_id, status, created_at, elapsed_seconds,"
    " expected_duration_seconds, expected_completion_at, is_overdue from dcs.restores_in_progress"
)
READINESS_SQL = (
    "select instance_id, project_id, instance_name, count_restores, last_restore_at,"
    " last_restore_status, last_successful_restore_at, days_since_successful_restore,"
    " consecutive_failed_restores, open_restores, newest_restorable_backup_at,"
    " rpo_exposure_seconds, p50_duration_seconds, p95_duration_seconds"
    " from dcs.instance_readiness"
)
DAILY_SQL = (
    "select day, count_restores, count_finished, count_failed, failure_rate,"
    " p50_duration_seconds, p95_duration_seconds from dcs.restore_daily"
)


def ts(text: str | None) -> datetime | None:
    """An aware UTC datetime from the world's canonical ISO text (None stays None)."""
    if text is None:
        return None
    return datetime.fromisoformat(text).astimezone(UTC)


def percentile_cont(values: list[float], fraction: float) -> float | None:
    """SQL's percentile_cont: linear interpolation between the two closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class WorldAt:
    """What the API holds at `now`: listed instances, their restores and their backups."""

    now: datetime
    project_id: str
    names: dict[str, str]
    restores: list[dict[str, Any]]
    backups: dict[str, dict[str, Any]]

    @classmethod
    def of(cls, world: World, now: datetime) -> WorldAt:
        return cls(
            now=now.astimezone(UTC),
            project_id=world.project_id,
            names={i["instance_id"]: i["name"] for i in world.instances_at(now)},
            restores=world.ground_truth(now, canonical=True),
            backups={b["backup_id"]: b for b in world.backup_truth(now, canonical=True)},
        )

    def created(self, restore: dict[str, Any]) -> datetime:
        moment = ts(restore["created_at"])
        assert moment is not None
        return moment

    def duration(self, restore: dict[str, Any]) -> float | None:
        """Seconds from created_at to updated_at of a finished restore; None otherwise."""
        if restore["status"] not in FINISHED:
            return None
        end = ts(restore["updated_at"])
        if end is None:
            return None
        seconds = (end - self.created(restore)).total_seconds()
        return seconds if seconds >= 0 else None

    def backup_of(self, restore: dict[str, Any]) -> dict[str, Any] | None:
        return self.backups.get(restore.get("backup_id") or "")

    def size_of(self, restore: dict[str, Any]) -> int | None:
        backup = self.backup_of(restore)
        if backup is None or backup["size"] is None or int(backup["size"]) < 0:
            return None
        return int(backup["size"])

    def succeeded(self) -> list[dict[str, Any]]:
        """Succeeded restores with a duration: the history every expectation is made from."""
        return [
            r for r in self.restores if r["status"] == "succeed" and self.duration(r) is not None
        ]


def restore_context(w: WorldAt) -> dict[str, Row]:
    """restore_id -> the rest of the restore_context row."""
    rows: dict[str, Row] = {}
    for r in w.restores:
        backup = w.backup_of(r)
        created = w.created(r)
        backup_at = ts(backup["created_at"]) if backup else None
        age = None
        if backup_at is not None and created >= backup_at:
            age = (created - backup_at).total_seconds()
        duration = w.duration(r)
        size = w.size_of(r)
        throughput = None
        if r["status"] == "succeed" and duration and duration > 0 and size is not None:
            throughput = size / duration
        rows[r["restore_id"]] = (
            w.project_id,
            r["instance_id"],
            r["status"],
            r["backup_id"],
            backup["backup_type"] if backup else None,
            size,
            backup_at,
            age,
            duration,
            throughput,
        )
    return rows


def expected_duration(w: WorldAt, restore: dict[str, Any]) -> float | None:
    """The instance's own p95 (3+ successes), else backup size x the fleet's p95 seconds per
    byte but at least the fleet's median duration, else the fleet p95; None without any
    history."""
    wins = w.succeeded()
    own = [w.duration(r) or 0.0 for r in wins if r["instance_id"] == restore["instance_id"]]
    if len(own) >= 3:
        return percentile_cont(own, 0.95)
    per_byte = [(w.duration(r) or 0.0) / size for r in wins if (size := w.size_of(r)) and size > 0]
    size = w.size_of(restore)
    everyone = [w.duration(r) or 0.0 for r in wins]
    if size and size > 0 and per_byte:
        p95_per_byte = percentile_cont(per_byte, 0.95)
        median = percentile_cont(everyone, 0.5)
        assert p95_per_byte is not None and median is not None
        return max(p95_per_byte * size, median)
    return percentile_cont(everyone, 0.95)


def restores_in_progress(w: WorldAt) -> dict[str, Row]:
    """restore_id -> the rest of the restores_in_progress row."""
    rows: dict[str, Row] = {}
    for r in w.restores:
        if r["status"] not in OPEN:
            continue
        created = w.created(r)
        elapsed = max((w.now - created).total_seconds(), 0.0)
        expected = expected_duration(w, r)
        completion = None if expected is None else created + timedelta(seconds=expected)
        overdue = None if expected is None else elapsed > expected
        rows[r["restore_id"]] = (
            w.project_id,
            r["instance_id"],
            r["status"],
            created,
            elapsed,
            expected,
            completion,
            overdue,
        )
    return rows


def instance_readiness(w: WorldAt) -> dict[str, Row]:
    """instance_id -> the rest of the instance_readiness row, for every listed instance."""
    per: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in w.restores:
        per[r["instance_id"]].append(r)
    # records dated more than an hour ahead of the clock are never the newest
    latest = w.now + HOUR
    restorable: dict[str, list[datetime]] = defaultdict(list)
    for b in w.backups.values():
        if b["status"] == "succeed" and b["is_support_restore"] == "TRUE":
            moment = ts(b["created_at"])
            assert moment is not None
            if moment <= latest:
                restorable[b["instance_id"]].append(moment)
    rows: dict[str, Row] = {}
    for instance_id, name in w.names.items():
        mine = sorted(per[instance_id], key=lambda r: (w.created(r), r["restore_id"]))
        wins = [r for r in mine if r["status"] == "succeed"]
        last_win = max((w.created(r) for r in wins if w.created(r) <= latest), default=None)
        streak = 0
        for r in reversed([r for r in mine if r["status"] in FINISHED]):
            if r["status"] == "succeed":
                break
            streak += 1
        newest = max(restorable[instance_id], default=None)
        durations = [d for r in wins if (d := w.duration(r)) is not None]
        rows[instance_id] = (
            w.project_id,
            name,
            len(mine),
            w.created(mine[-1]) if mine else None,
            mine[-1]["status"] if mine else None,
            last_win,
            None if last_win is None else max((w.now - last_win).total_seconds(), 0) / 86400,
            streak,
            sum(r["status"] in OPEN for r in mine),
            newest,
            None if newest is None else max((w.now - newest).total_seconds(), 0.0),
            percentile_cont(durations, 0.5),
            percentile_cont(durations, 0.95),
        )
    return rows


def restore_daily(w: WorldAt) -> dict[date, Row]:
    """UTC day -> the rest of the restore_daily row, for every day with a restore."""
    days: dict[date, list[dict[str, Any]]] = defaultdict(list)
    for r in w.restores:
        days[w.created(r).date()].append(r)
    rows: dict[date, Row] = {}
    for day, mine in days.items():
        finished = [r for r in mine if r["status"] in FINISHED]
        failed = sum(r["status"] == "failed" for r in mine)
        durations = [d for r in finished if (d := w.duration(r)) is not None]
        rows[day] = (
            len(mine),
            len(finished),
            failed,
            failed / len(finished) if finished else None,
            percentile_cont(durations, 0.5),
            percentile_cont(durations, 0.95),
        )
    return rows


# --- comparing the database with the truth ------------------------------------------------


def _value(value: Any) -> Any:
    """A driver's value in a form both databases share: aware UTC times, floats, dates."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return value


class Near:
    """Equal to a time within `tolerance` (the views round some times to the millisecond)."""

    def __init__(self, moment: datetime, tolerance: timedelta) -> None:
        self.moment, self.tolerance = moment, tolerance

    def __eq__(self, other: object) -> bool:
        return isinstance(other, datetime) and abs(other - self.moment) <= self.tolerance

    def __hash__(self) -> int:
        return hash(self.moment)

    def __repr__(self) -> str:
        return f"Near({self.moment.isoformat()})"


def _expect(value: Any) -> Any:
    if isinstance(value, float):
        return pytest.approx(value, rel=1e-9, abs=1e-9)
    return value


def keyed(query: Query, sql: str) -> dict[Any, Row]:
    """The view's rows by their first column (its key), values normalised."""
    got: dict[Any, Row] = {}
    for row in query(sql):
        key, *rest = (_value(v) for v in row)
        assert key not in got, f"key {key!r} twice"
        got[key] = tuple(rest)
    return got


def assert_rows(view: str, got: dict[Any, Row], expected: dict[Any, Row]) -> None:
    """Same keys, and row by row the same values (floats to 1e-9), naming the first row off."""
    assert sorted(got, key=str) == sorted(expected, key=str), f"{view}: keys differ"
    for key, row in expected.items():
        want = tuple(_expect(v) for v in row)
        assert got[key] == want, f"{view}: row {key!r}\n loaded {got[key]}\n truth  {want}"


def completion_near(rows: dict[str, Row]) -> dict[str, Row]:
    """restores_in_progress truth with expected_completion_at compared to the millisecond."""
    out: dict[str, Row] = {}
    for key, row in rows.items():
        completion = row[6]
        near = None if completion is None else Near(completion, MILLISECOND)
        out[key] = (*row[:6], near, row[7])
    return out


def assert_backups(got: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    """dcs.backups holds exactly the world's backups, naming the first backup that differs."""
    loaded = {row["backup_id"]: row for row in got}
    truth = {row["backup_id"]: row for row in expected}
    assert sorted(loaded) == sorted(truth), "dcs.backups: backup ids differ"
    assert len(got) == len(loaded), "dcs.backups: a backup_id twice"
    for backup_id, row in truth.items():
        off = {k: (loaded[backup_id][k], v) for k, v in row.items() if loaded[backup_id][k] != v}
        assert not off, f"dcs.backups: backup {backup_id} (loaded, truth): {off}"


def assert_matches_world(query: Query, world: World, now: datetime) -> dict[str, Any]:
    """dcs.backups and every readiness view equal the world's truth at `now`.

    Returns the truth compared, so a test can check that its cases are really there.
    """
    w = WorldAt.of(world, now)
    assert_backups(table_backups(query), expected_backups(world, now))
    truth: dict[str, Any] = {
        "restore_context": restore_context(w),
        "restores_in_progress": restores_in_progress(w),
        "instance_readiness": instance_readiness(w),
        "restore_daily": restore_daily(w),
    }
    assert_rows("restore_context", keyed(query, CONTEXT_SQL), truth["restore_context"])
    assert_rows(
        "restores_in_progress",
        keyed(query, IN_PROGRESS_SQL),
        completion_near(truth["restores_in_progress"]),
    )
    assert_rows("instance_readiness", keyed(query, READINESS_SQL), truth["instance_readiness"])
    assert_rows("restore_daily", keyed(query, DAILY_SQL), truth["restore_daily"])
    return truth


# --- the world: a small generated one plus the cases that matter --------------------------


@dataclass(frozen=True)
class Cases:
    """A world, the two moments of its runs, and the instance/restore ids of its hand cases."""

    world: World
    t1: datetime
    t2: datetime
    t3: datetime
    never: str
    streak: str
    own: str
    fleet: str
    old: str
    late: str
    overdue: str
    within: str
    sized: str
    failing_next: str
    appears: str


def readiness_world() -> Cases:
    """A small generated world, plus by hand: an instance never restored, one with a failing
    streak that grows between the runs, one with its own history and a restore running past
    its expectation and one within it, one with too little history whose running restore is
    judged by its backup's size, one whose only restorable backups are old (the newest expires
    before run 2, the last is deleted before run 3), and one listed only from between the runs."""
    world = World.generate(
        seed=12,
        instances=3,
        restores_per_instance=6,
        span=timedelta(days=10),
        empty_instances=1,
    )
    assert world.default_now is not None
    t1 = world.default_now - 2 * DAY + timedelta(hours=5, minutes=17, seconds=3)
    t2 = t1 + 2 * DAY + timedelta(hours=3)
    t3 = t2 + 6 * HOUR
    hour, minute = HOUR, timedelta(minutes=1)

    never = world.add_instance("inst-never", name="never-restored")
    world.add_backup(never, t1 - 5 * DAY, size_bytes=650)
    # deleted between the runs (within the re-read window): run 2 measures from the older one
    world.add_backup(never, t1 - 6 * hour, size_bytes=700, deleted_at=t1 + DAY)

    streak = world.add_instance("inst-streak", name="failing-streak")
    b = world.add_backup(streak, t1 - 9 * DAY, size_bytes=4000)
    # before its success: one restore of a backup newer than itself (no restore point age),
    # one of a backup the listing does not hold (no backup columns)
    world.add_restore(streak, t1 - 10 * DAY, duration_s=70, outcome="failed", backup_id=b)
    world.add_restore(streak, t1 - 7 * DAY, duration_s=75, outcome="failed")
    world.add_restore(streak, t1 - 6 * DAY, duration_s=500, backup_id=b)
    world.add_restore(streak, t1 - 5 * DAY, duration_s=90, outcome="failed", backup_id=b)
    world.add_restore(streak, t1 - 4 * DAY, duration_s=30, outcome="failed", backup_id=b)
    world.add_restore(streak, t1 - 3 * DAY, duration_s=45, outcome="failed", backup_id=b)
    # running at run 1, failed by run 2: the streak grows from 3 to 4
    failing_next = world.add_restore(
        streak, t1 - 10 * minute, duration_s=3600, outcome="failed", backup_id=b
    )

    own = world.add_instance("inst-own", name="own-history")
    sized_backup = world.add_backup(own, t1 - 8 * DAY, size_bytes=1 << 20, backup_type="manual")
    for days, seconds in ((7, 100), (6, 200), (5, 300), (4, 400)):
        world.add_restore(
            own, t1 - days * DAY, wait_s=0, duration_s=seconds, backup_id=sized_backup
        )
    # p95 of 100..400 s is 385 s: one has run 2 h at run 1, one 60 s; both finish before run 2
    overdue = world.add_restore(own, t1 - 2 * hour, duration_s=3 * 3600, backup_id=sized_backup)
    within = world.add_restore(own, t1 - minute, duration_s=1000, backup_id=sized_backup)
    # created between the runs and still running at run 2
    appears = world.add_restore(own, t2 - 30 * minute, duration_s=7200, backup_id=sized_backup)

    fleet = world.add_instance("inst-fleet", name="fleet-judged")
    small = world.add_backup(fleet, t1 - 3 * DAY, size_bytes=3000)
    big = world.add_backup(fleet, t1 - 2 * hour, size_bytes=5 << 20, backup_type="manual")
    world.add_restore(fleet, t1 - 2 * DAY, duration_s=250, backup_id=small)
    sized = world.add_restore(
        fleet, t1 - 20 * minute, duration_s=5 * DAY.total_seconds(), backup_id=big
    )

    old = world.add_instance("inst-old", name="old-backups")
    # deleted between runs 2 and 3; at 40 days old only the weekly full re-read sees that
    world.add_backup(old, t1 - 40 * DAY, size_bytes=900, deleted_at=t2 + HOUR)
    world.add_backup(old, t1 - 30 * DAY, size_bytes=900, expires_at=t1 - 20 * DAY)
    # the newest restorable one at run 1 expires before run 2: the RPO falls back 37 days
    # (within the 8-day re-read window)
    world.add_backup(old, t1 - 3 * DAY, size_bytes=900, expires_at=t1 + DAY)
    world.add_backup(old, t1 - 2 * DAY, outcome="failed")
    world.add_backup(old, t1 - DAY, is_support_restore=False)

    late = world.add_instance("inst-late", name="listed-late", listed_from=t1 + DAY)
    lb = world.add_backup(late, t1 - 3 * DAY, size_bytes=2000)
    world.add_restore(late, t1 - 2 * DAY, duration_s=80, outcome="failed", backup_id=lb)
    world.add_restore(late, t1 + 12 * hour, duration_s=120, backup_id=lb)

    return Cases(
        world, t1, t2, t3, never, streak, own, fleet, old, late, overdue, within, sized,
        failing_next, appears,
    )  # fmt: skip
