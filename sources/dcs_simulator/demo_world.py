"""The demo's world: one project with a story to tell, seeded and anchored at a moment.

Everything follows from `(seed, anchor)`: the regular life of each instance (daily automatic
backups, some manual ones, restores whose durations grow with the backup's size) is drawn per
instance and per UTC calendar day, so a world built further into the future holds the same
records up to any time; the scripted events (the incident, the flaky streak, the restores still
running, the minutes after the anchor) are placed relative to the anchor. Restores on one
instance never overlap: a regular one that would overlap an earlier or a scripted one is left out.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from dcs_simulator.records import random_uuid
from dcs_simulator.world import DEFAULT_PROJECT_ID, World

DEMO_SEED = 7
HISTORY = timedelta(days=75)
GB = 1_000_000_000
# automatic backups are kept this long (the policy's save_days), manual ones until deleted
AUTO_RETENTION = timedelta(days=7)
# a restore takes a fixed start-up plus the backup's size at this rate, times a log-normal spread
RESTORE_START_S = 40.0
RESTORE_BYTES_PER_S = 25_000_000
RESTORE_SPREAD = 0.35
BACKUP_BYTES_PER_S = 80_000_000
BASE_FAILURE_RATE = 0.03
# a backup is restored only this long after it finished (the record's own wait comes on top)
READY_MARGIN = timedelta(minutes=1)
# background failures: the incident's code is rare outside the incident
_ERROR_WEIGHTS = {
    "dcs.08.0001": 3,
    "dcs.08.0002": 4,
    "dcs.08.0003": 1,
    "dcs.08.0004": 1,
    "dcs.08.0005": 1,
    "dcs.08.0006": 2,
    "dcs.08.0007": 1,
    "dcs.08.0008": 2,
}
_REMARKS = ("DR drill", "nightly restore check", "rollback after deploy", "", "", "Prüfung ✓")

FLAKY = "inventory-cache-prod"
OVERDUE = "search-index-prod"
NEVER_RESTORED = "analytics-scratch"
STALE_BACKUPS = "legacy-sessions-v1"
INCIDENT_CODE = "dcs.08.0007"
INCIDENT_INSTANCES = (
    "orders-cache-prod",
    "cart-cache-prod",
    "catalog-cache-prod",
    "pricing-cache-prod",
    "订单缓存-cn",
    "recommendations-cache",
)
INCIDENT_DAYS_AGO = 4
# the flaky instance fails every restore from this long before the anchor on
FLAKY_SINCE = timedelta(days=2, hours=12)
# the stale instance's backup policy was switched off this long before the anchor; its last
# manual backup followed later
STALE_POLICY_OFF = timedelta(days=38)
STALE_LAST_MANUAL = timedelta(days=24, hours=5)
OVERDUE_STARTED = timedelta(hours=4, minutes=10)


@dataclass(frozen=True, slots=True)
class Profile:
    """One instance of the demo: its name, the size of its backups and how often it is restored."""

    name: str
    size_gb: float
    restores_per_day: float
    engine: str = "Redis"
    age_days: int = 400


PROFILES = (
    Profile("orders-cache-prod", 38.0, 1.0),
    Profile("ml-feature-store", 40.0, 0.6),
    Profile(OVERDUE, 22.0, 1.0),
    Profile(NEVER_RESTORED, 16.0, 0.0),
    Profile("cart-cache-prod", 12.0, 1.2),
    Profile("catalog-cache-prod", 9.0, 1.0),
    Profile("recommendations-cache", 7.0, 0.8),
    Profile("session-store-eu", 6.0, 2.5),
    Profile("订单缓存-cn", 5.0, 1.0),
    Profile("session-store-ap", 4.0, 1.5),
    Profile("pricing-cache-prod", 3.0, 1.2),
    Profile(STALE_BACKUPS, 2.5, 0.5),
    Profile(FLAKY, 2.0, 1.2),
    Profile("geo-lookup-münchen", 1.5, 0.7),
    Profile("leaderboard-cache", 0.8, 1.0),
    Profile("checkout-cache-staging", 0.7, 2.0, age_days=30),
    Profile("café-orders-staging", 0.5, 1.5),
    Profile("notifications-queue", 0.35, 1.2, engine="Memcached"),
    Profile("rate-limiter-edge", 0.15, 1.5),
    Profile("feature-flags", 0.06, 0.8),
    Profile("dev-sandbox", 0.05, 3.0),
)


@dataclass(frozen=True, slots=True)
class Backup:
    """A backup record as the world gets it."""

    backup_id: str
    name: str
    created: datetime
    size: int
    kind: str  # "auto" or "manual"
    duration_s: float
    outcome: str = "succeed"
    error_code: str | None = None
    remark: str | None = None

    @property
    def finished(self) -> datetime:
        return self.created + timedelta(seconds=self.duration_s)

    @property
    def expires_at(self) -> datetime | None:
        return self.created + AUTO_RETENTION if self.kind == "auto" else None

    def restorable_at(self, moment: datetime) -> bool:
        expires = self.expires_at
        return (
            self.outcome == "succeed"
            and self.finished + READY_MARGIN <= moment
            and (expires is None or moment < expires)
        )


@dataclass(frozen=True, slots=True)
class Restore:
    """A restore record as the world gets it."""

    restore_id: str
    created: datetime
    wait_s: float
    duration_s: float
    outcome: str
    error_code: str | None
    fail_progress: float
    backup: Backup
    remark: str

    @property
    def ends(self) -> datetime:
        return self.created + timedelta(seconds=self.wait_s + self.duration_s)


@dataclass(frozen=True, slots=True)
class InstanceRef:
    instance_id: str
    name: str


@dataclass(frozen=True, slots=True)
class AtRisk:
    """What the demo world is known to hold at its anchor, for reports and their tests."""

    flaky: InstanceRef
    overdue: InstanceRef
    overdue_restore_id: str
    never_restored: InstanceRef
    stale_backups: InstanceRef
    incident_day: date
    incident_code: str
    incident_instances: tuple[InstanceRef, ...]


def instance_id(name: str, seed: int = DEMO_SEED) -> str:
    """Return the id of the demo instance named `name` (fixed by the seed)."""
    return random_uuid(random.Random(f"{seed}:{name}:id"))


def at_risk_expectations(anchor: datetime, seed: int = DEMO_SEED) -> AtRisk:
    """Return the at-risk instances (ids and names) of the demo world anchored at `anchor`."""

    def ref(name: str) -> InstanceRef:
        return InstanceRef(instance_id(name, seed), name)

    return AtRisk(
        flaky=ref(FLAKY),
        overdue=ref(OVERDUE),
        overdue_restore_id=_overdue_restore_id(seed),
        never_restored=ref(NEVER_RESTORED),
        stale_backups=ref(STALE_BACKUPS),
        incident_day=_incident_day(anchor),
        incident_code=INCIDENT_CODE,
        incident_instances=tuple(ref(name) for name in INCIDENT_INSTANCES),
    )


def build_demo_world(
    anchor: datetime, until: datetime | None = None, seed: int = DEMO_SEED
) -> World:
    """Return the demo world: `HISTORY` of records ending at `anchor`, and on until `until`.

    A larger `until` adds later records only: everything created up to the smaller one is the
    same, so successive demo runs load incrementally.
    """
    anchor = anchor.astimezone(UTC)
    until = max(anchor, (until or anchor).astimezone(UTC))
    world = World(DEFAULT_PROJECT_ID, seed=seed, default_now=anchor)
    backups: list[tuple[str, Backup]] = []
    restores: list[tuple[str, Restore]] = []
    for profile in PROFILES:
        created = anchor - timedelta(days=profile.age_days, hours=7)
        iid = world.add_instance(
            instance_id(profile.name, seed),
            name=profile.name,
            created_at=created,
            engine=profile.engine,
        )
        planned = _plan(seed, profile, anchor, until, max(created, anchor - HISTORY))
        backups += [(iid, b) for b in planned[0]]
        restores += [(iid, r) for r in planned[1]]
    # oldest first across instances: what the world derives from the order of additions
    # (e.g. a failed backup's progress) then stays the same for a later `until`
    add_backups(world, sorted(backups, key=lambda ib: (ib[1].created, ib[1].backup_id)))
    for iid, r in sorted(restores, key=lambda ir: (ir[1].created, ir[1].restore_id)):
        world.add_restore(
            iid,
            r.created,
            wait_s=r.wait_s,
            duration_s=r.duration_s,
            outcome=r.outcome,
            error_code=r.error_code,
            restore_id=r.restore_id,
            fail_progress=r.fail_progress,
            backup_id=r.backup.backup_id,
            backup_name=r.backup.name,
            restore_name=f"restore_{r.created:%Y%m%d%H%M%S}",
            restore_remark=r.remark,
            backup_remark=r.backup.remark,
        )
    return world


def add_backups(world: World, backups: list[tuple[str, Backup]]) -> None:
    """Give the world the backup records (instance id, backup), before the restores naming them."""
    for iid, b in backups:
        world.add_backup(
            iid,
            b.created,
            backup_id=b.backup_id,
            backup_name=b.name,
            size_bytes=b.size,
            backup_type=b.kind,
            duration_s=b.duration_s,
            outcome=b.outcome,
            error_code=b.error_code,
            remark=b.remark,
            expires_at=b.expires_at,
        )


def _plan(
    seed: int, profile: Profile, anchor: datetime, until: datetime, first: datetime
) -> tuple[list[Backup], list[Restore]]:
    """Every backup and restore of one instance created in [first, until]."""
    setup = random.Random(f"{seed}:{profile.name}:profile")
    backup_hour = setup.randint(0, 4)
    speed = math.exp(setup.gauss(0.0, 0.15))
    backups: list[Backup] = []
    wanted: list[tuple[datetime, random.Random, Backup | None]] = []
    day = first.date()
    while day <= until.date():
        rng = random.Random(f"{seed}:{profile.name}:{day.isoformat()}")
        midnight = datetime.combine(day, time(), UTC)
        size = _size(profile, rng, day)
        if _policy_on(profile, anchor, midnight):
            at = midnight + timedelta(hours=backup_hour, seconds=rng.randint(0, 600))
            backups.append(_backup(rng, at, size, "auto"))
        if _policy_on(profile, anchor, midnight) and rng.random() < 0.1:
            at = midnight + timedelta(hours=rng.uniform(8, 18))
            backups.append(_backup(rng, at, size, "manual", remark="weekly manual backup"))
        for k in range(_poisson(rng, profile.restores_per_day)):
            # each restore draws from its own stream: leaving one out changes no other
            draw = random.Random(f"{seed}:{profile.name}:{day.isoformat()}:{k}")
            at = midnight + timedelta(hours=draw.uniform(6, 20) if draw.random() < 0.85 else 3)
            at += timedelta(seconds=draw.randint(0, 3599))
            own = None
            if _policy_on(profile, anchor, at) and draw.random() < 0.12:
                before = at - timedelta(minutes=draw.uniform(10, 90))
                own = _backup(draw, before, size, "manual", remark="before deploy")
                backups.append(own)
            wanted.append((at, draw, own))
        day += timedelta(days=1)
    backups.extend(_scripted_backups(seed, profile, anchor))
    backups = sorted((b for b in backups if first <= b.created <= until), key=lambda b: b.created)
    scripted = [r for r in _scripted_restores(seed, profile, anchor, backups) if r.created <= until]
    restores = list(scripted)
    busy_until, last_failed = first, False
    for at, rng, own in sorted(wanted, key=lambda w: w[0]):
        if not first <= at <= until or at < busy_until:
            continue
        mine = own is not None and own.created >= first and own.restorable_at(at)
        backup = own if mine else _restorable(backups, at, rng)
        if backup is None:
            continue
        # apart from the flaky instance, a background failure is followed by a success
        may_fail = profile.name == FLAKY or not last_failed
        restore = _restore(rng, profile, anchor, at, backup, speed, may_fail)
        if any(at < s.ends and s.created < restore.ends for s in scripted):
            continue
        restores.append(restore)
        busy_until, last_failed = restore.ends, restore.outcome == "failed"
    return backups, sorted(restores, key=lambda r: r.created)


def _policy_on(profile: Profile, anchor: datetime, moment: datetime) -> bool:
    return profile.name != STALE_BACKUPS or moment < anchor - STALE_POLICY_OFF


def _size(profile: Profile, rng: random.Random, day: date) -> int:
    # data swells and shrinks slowly; a calendar cycle keeps it independent of the anchor
    swell = 1 + 0.08 * math.sin(2 * math.pi * day.toordinal() / 120)
    return round(profile.size_gb * GB * swell * math.exp(rng.gauss(0.0, 0.03)))


def _backup(
    rng: random.Random, at: datetime, size: int, kind: str, remark: str | None = None
) -> Backup:
    failed = rng.random() < 0.015
    name = f"backup_{at:%Y%m%d%H%M%S}" if kind == "auto" else f"manual_{at:%Y%m%d_%H%M}"
    return Backup(
        backup_id=random_uuid(rng),
        name=name,
        created=at,
        size=size,
        kind=kind,
        duration_s=round(15 + size / BACKUP_BYTES_PER_S * math.exp(rng.gauss(0.0, 0.2)), 1),
        outcome="failed" if failed else "succeed",
        error_code=rng.choice(("dcs.08.0002", "dcs.08.0006")) if failed else None,
        remark=remark,
    )


def _restorable(
    backups: list[Backup], at: datetime, rng: random.Random | None = None
) -> Backup | None:
    """The newest backup that can be restored at `at`, or (with `rng`) now and then an older one."""
    ready = [b for b in backups if b.restorable_at(at)]
    if not ready:
        return None
    back = 1 + (rng.randint(1, 2) if rng is not None and rng.random() < 0.1 else 0)
    return ready[-min(back, len(ready))]


def _median_s(backup: Backup, speed: float) -> float:
    return (RESTORE_START_S + backup.size / RESTORE_BYTES_PER_S) * speed


def _restore(
    rng: random.Random,
    profile: Profile,
    anchor: datetime,
    at: datetime,
    backup: Backup,
    speed: float,
    may_fail: bool,
) -> Restore:
    full = _median_s(backup, speed) * math.exp(rng.gauss(0.0, RESTORE_SPREAD))
    rate = BASE_FAILURE_RATE
    if profile.name == FLAKY:
        rate = 1.0 if at >= anchor - FLAKY_SINCE else 0.3
    failed = rng.random() < rate and may_fail
    code = rng.choices(list(_ERROR_WEIGHTS), list(_ERROR_WEIGHTS.values()))[0] if failed else None
    progress = round(rng.uniform(3.0, 90.0), 2)
    return Restore(
        restore_id=random_uuid(rng),
        created=at,
        wait_s=round(min(180.0, 8 * math.exp(rng.gauss(0.0, 0.8))), 1),
        duration_s=round(full * progress / 100 if failed else full, 1),
        outcome="failed" if failed else "succeed",
        error_code=code,
        fail_progress=progress,
        backup=backup,
        remark=rng.choice(_REMARKS),
    )


def _poisson(rng: random.Random, mean: float) -> int:
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _incident_day(anchor: datetime) -> date:
    return (anchor.astimezone(UTC) - timedelta(days=INCIDENT_DAYS_AGO)).date()


def _overdue_restore_id(seed: int) -> str:
    return random_uuid(random.Random(f"{seed}:{OVERDUE}:overdue"))


def _scripted_backups(seed: int, profile: Profile, anchor: datetime) -> list[Backup]:
    if profile.name != STALE_BACKUPS:
        return []
    rng = random.Random(f"{seed}:{profile.name}:last-manual")
    at = anchor - STALE_LAST_MANUAL
    return [_backup(rng, at, round(profile.size_gb * GB), "manual", remark="before migration")]


@dataclass(frozen=True, slots=True)
class _Script:
    """A restore placed relative to the anchor: when, how long, and how it ends."""

    offset: timedelta
    wait_s: float
    duration_s: float | None  # None: the usual duration for the backup's size
    error_code: str | None = None
    fail_progress: float = 40.0
    key: str = ""


# restores still running at the anchor; one of them stuck for a year
_IN_FLIGHT = {
    "orders-cache-prod": [_Script(-timedelta(minutes=12), 20, 31 * 60)],
    "session-store-eu": [_Script(-timedelta(seconds=90), 5, 240)],
    "feature-flags": [_Script(-timedelta(seconds=4), 30, 45)],
    OVERDUE: [_Script(-OVERDUE_STARTED, 12, 365 * 86400, key="overdue")],
    FLAKY: [
        _Script(-timedelta(hours=62), 9, None, "dcs.08.0002", 61.5),
        _Script(-timedelta(hours=37), 14, None, "dcs.08.0001", 0.0),
        _Script(-timedelta(hours=20), 7, None, "dcs.08.0006", 12.25),
        _Script(-timedelta(hours=6), 11, None, "dcs.08.0002", 58.0),
        _Script(timedelta(minutes=30), 6, None, "dcs.08.0002", 47.0),
    ],
}
# restores in the hour after the anchor, so a demo run minutes after the first has news
_AFTER_ANCHOR = {
    "dev-sandbox": (1, 16),
    "rate-limiter-edge": (2,),
    "feature-flags": (4,),
    "notifications-queue": (7,),
    "leaderboard-cache": (11,),
    "café-orders-staging": (25,),
    "session-store-ap": (40,),
    "pricing-cache-prod": (60,),
}


def _scripts(seed: int, profile: Profile, anchor: datetime) -> list[_Script]:
    scripts = list(_IN_FLIGHT.get(profile.name, []))
    scripts += [_Script(timedelta(minutes=m), 5, None) for m in _AFTER_ANCHOR.get(profile.name, ())]
    if profile.name in INCIDENT_INSTANCES:
        rng = random.Random(f"{seed}:{profile.name}:incident")
        start = datetime.combine(_incident_day(anchor), time(9, 40), UTC) - anchor
        for _ in range(rng.randint(2, 3)):
            offset = start + timedelta(minutes=rng.uniform(0, 150))
            progress = round(rng.uniform(20, 80), 2)
            scripts.append(_Script(offset, 6, rng.uniform(60, 400), INCIDENT_CODE, progress))
        # once the storage was fixed, every instance hit was restored again
        scripts.append(_Script(start + timedelta(hours=rng.uniform(4, 7)), 8, None))
    return scripts


def _scripted_restores(
    seed: int, profile: Profile, anchor: datetime, backups: list[Backup]
) -> list[Restore]:
    speed = math.exp(random.Random(f"{seed}:{profile.name}:profile").gauss(0.0, 0.15))
    restores: list[Restore] = []
    last_end: datetime | None = None
    for n, script in enumerate(sorted(_scripts(seed, profile, anchor), key=lambda s: s.offset)):
        at = anchor + script.offset
        rng = random.Random(f"{seed}:{profile.name}:script:{script.key or n}")
        backup = _restorable(backups, at)
        if backup is None or (last_end is not None and at < last_end):
            continue
        duration = script.duration_s or _median_s(backup, speed) * math.exp(rng.gauss(0, 0.2))
        failed = script.error_code is not None
        restore_id = random_uuid(rng)
        if script.key == "overdue":
            restore_id = _overdue_restore_id(seed)
        restores.append(
            Restore(
                restore_id=restore_id,
                created=at,
                wait_s=script.wait_s,
                duration_s=round(duration * (script.fail_progress / 100 if failed else 1), 1),
                outcome="failed" if failed else "succeed",
                error_code=script.error_code,
                fail_progress=script.fail_progress,
                backup=backup,
                remark="DR drill" if not failed else "",
            )
        )
        last_end = restores[-1].ends
    return restores
