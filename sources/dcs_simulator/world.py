"""A seeded, time-driven model of one DCS project: instances and their restore records."""

from __future__ import annotations

import copy
import random
import re
import threading
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from itertools import accumulate, islice
from typing import Any

from dcs_simulator.backups import (
    AUTO_KEY,
    DAY_MS,
    DEFAULT_WAIT_MS,
    MAX_SAVE_DAYS,
    BackupSpec,
    auto_backup_spec,
    backup_name_at,
    render_backup,
    restore_backup_gap_ms,
    restore_backup_spec,
)
from dcs_simulator.instances import instance_info, show_info
from dcs_simulator.records import (
    ERROR_CODES,
    NULL_STYLES,
    TIMESTAMP_STYLES,
    RestoreSpec,
    from_ms,
    generated_spec,
    random_uuid,
    render,
    to_ms,
)

DEFAULT_PROJECT_ID = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
DEFAULT_START = datetime(2025, 1, 1, tzinfo=UTC)
# creation time of hand-added instances when none is given
DEFAULT_INSTANCE_CREATED = datetime(2020, 1, 1, tzinfo=UTC)
_FILTER_TIME = re.compile(r"\d{14}")
# generated worlds: days of daily automatic backups before the end of the span
AUTO_HISTORY_DAYS = 21


class InstanceNotFound(KeyError):
    """The instance does not exist at the asked time (unknown, not yet created or deleted)."""


@dataclass(slots=True, eq=False)
class _Instance:
    index: int
    info: dict[str, Any]
    created_ms: int
    listed_from_ms: int
    deleted_ms: int | None = None
    # created_at negated, ascending: newest first, the API's page order
    neg_created: array[int] = field(default_factory=lambda: array("q"))
    # >= 0: generated restore number (its RNG key); < 0: -1 - index into World._manual
    keys: array[int] = field(default_factory=lambda: array("q"))
    # periodic automatic backups (generated worlds): daily from auto_first_ms, auto_count days
    auto_first_ms: int = 0
    auto_count: int = 0
    save_days: int = 7
    # backups, built on first use: created_at negated (newest first) and keys: >= AUTO_KEY an
    # automatic backup's day, >= 0 the generated restore whose backup it is, < 0 a manual one
    backups_built: bool = False
    b_neg: array[int] = field(default_factory=lambda: array("q"))
    b_keys: array[int] = field(default_factory=lambda: array("q"))
    manual_backups: list[int] = field(default_factory=list)
    # generated restore key -> how long before the restore its backup was made (ms)
    restore_gaps: dict[int, int] = field(default_factory=dict)

    def exists(self, now_ms: int) -> bool:
        return self.created_ms <= now_ms and (self.deleted_ms is None or now_ms < self.deleted_ms)


class World:
    """Instances and restores of one project; every status is a pure function of `now`.

    Restores are stored as two int64 arrays per instance (created_at and an RNG key); their
    ids, names, timings and outcome are derived from `(seed, instance index, key)` on demand.
    """

    def __init__(
        self,
        project_id: str = DEFAULT_PROJECT_ID,
        *,
        seed: int = 0,
        failure_rate: float = 0.15,
        null_style: str = "braces",
        timestamp_style: str = "iso_millis",
        filter_tz_offset_hours: float = 0,
        default_now: datetime | None = None,
    ) -> None:
        if null_style not in NULL_STYLES or timestamp_style not in TIMESTAMP_STYLES:
            raise ValueError(
                f"null_style must be one of {NULL_STYLES}, timestamp_style of {TIMESTAMP_STYLES}"
            )
        self.project_id = project_id
        self.seed = seed
        self.failure_rate = failure_rate
        self.null_style = null_style
        self.timestamp_style = timestamp_style
        self.filter_tz_offset_hours = filter_tz_offset_hours
        self.default_now = default_now
        self._instances: list[_Instance] = []
        self._by_id: dict[str, _Instance] = {}
        self._manual: list[RestoreSpec] = []
        self._manual_backups: list[BackupSpec] = []
        self._backup_names: dict[tuple[str, str], str] = {}
        self._lock = threading.RLock()

    @classmethod
    def empty(cls, project_id: str = DEFAULT_PROJECT_ID, **options: Any) -> World:
        """Return a world with no instances; `options` are the keyword arguments of `World()`."""
        return cls(project_id, **options)

    @classmethod
    def generate(
        cls,
        seed: int = 7,
        project_id: str = DEFAULT_PROJECT_ID,
        instances: int = 12,
        restores_per_instance: int | tuple[int, int] = 40,
        start: datetime = DEFAULT_START,
        span: timedelta = timedelta(days=60),
        empty_instances: int = 1,
        late_instances: int = 0,
        late_listed_from: datetime | None = None,
        big_instance_restores: int | None = None,
        failure_rate: float = 0.15,
        **options: Any,
    ) -> World:
        """Return a seeded world whose restores are spread over [start, start + span].

        Args:
            seed: the same seed gives the same ids, times and outcomes.
            project_id: project of the world.
            instances: regular instances; the last `empty_instances` have no restores and the
                `late_instances` before them are listed only from `late_listed_from`.
            restores_per_instance: exact count per non-empty instance, or a (low, high) range.
            start: earliest restore creation time (aware).
            span: length of the creation period.
            empty_instances: instances without restores (the API answers 204).
            late_instances: instances that join the listing late; their restores are as old
                as everyone's.
            late_listed_from: when late instances get listed; default start + span / 2.
            big_instance_restores: if set, one extra instance with this many restores.
            failure_rate: share of restores that end `failed`.
            options: `null_style`, `timestamp_style`, `filter_tz_offset_hours`.

        Returns:
            The world; its `default_now` is start + span.
        """
        world = cls(
            project_id, seed=seed, failure_rate=failure_rate, default_now=start + span, **options
        )
        start_ms, span_ms = to_ms(start), span // timedelta(milliseconds=1)
        late_from = late_listed_from or start + span / 2
        first_empty = instances - empty_instances
        per = restores_per_instance
        low, high = (per, per) if isinstance(per, int) else per
        for index in range(instances + (big_instance_restores is not None)):
            rng = random.Random(f"{seed}:{index}:instance")
            created = start - timedelta(days=rng.randint(30, 400), seconds=rng.randint(0, 86399))
            count = rng.randint(low, high) if index < first_empty else 0
            name = f"dcs-sim-{index:02d}"
            if index == instances:
                name, count = "dcs-sim-big", big_instance_restores or 0
            late = first_empty - late_instances <= index < first_empty
            instance_id = world.add_instance(
                random_uuid(rng),
                name=name,
                created_at=created,
                listed_from=late_from if late else None,
                engine="Memcached" if rng.random() < 0.15 else "Redis",
            )
            inst = world._by_id[instance_id]
            world._spread(inst, rng, count, start_ms, span_ms)
            if count:
                # instances without restores have no backups either: the API answers 204
                world._plan_backups(inst, start_ms, span_ms)
        return world

    def add_instance(
        self,
        instance_id: str | None = None,
        *,
        name: str | None = None,
        created_at: datetime | None = None,
        listed_from: datetime | None = None,
        engine: str = "Redis",
    ) -> str:
        """Add an instance and return its id; listed from `listed_from` (default `created_at`)."""
        with self._lock:
            index = len(self._instances)
            rng = random.Random(f"{self.seed}:{index}:instance-info")
            instance_id = instance_id or random_uuid(rng)
            if instance_id in self._by_id:
                raise ValueError(f"instance {instance_id} already exists")
            created_ms = to_ms(created_at or DEFAULT_INSTANCE_CREATED)
            info = instance_info(
                rng, instance_id, name or f"dcs-sim-{index:02d}", engine, created_ms
            )
            listed_ms = to_ms(listed_from) if listed_from else created_ms
            inst = _Instance(index, info, created_ms, listed_ms)
            self._instances.append(inst)
            self._by_id[instance_id] = inst
            return instance_id

    def add_restore(
        self,
        instance_id: str,
        created_at: datetime,
        wait_s: float = 10.0,
        duration_s: float = 60.0,
        outcome: str = "succeed",
        error_code: str | None = None,
        restore_id: str | None = None,
        *,
        fail_progress: float = 42.5,
        backup_id: str | None = None,
        backup_name: str | None = None,
        restore_name: str | None = None,
        restore_remark: str | None = "",
        backup_remark: str | None = None,
    ) -> str:
        """Add one restore by hand and return its restore_id.

        It waits `wait_s` after `created_at`, restores for `duration_s`, then ends in `outcome`
        ("succeed" or "failed"; a failed one stops at `fail_progress` percent with `error_code`).
        With `backup_id` of a backup added by `add_backup` on this instance, the restore carries
        that backup's name.
        """
        if outcome not in ("succeed", "failed"):
            raise ValueError("outcome must be 'succeed' or 'failed'")
        with self._lock:
            inst = self._get(instance_id)
            rng = random.Random(f"{self.seed}:manual:{len(self._manual)}")
            created_ms, failed = to_ms(created_at), outcome == "failed"
            spec = RestoreSpec(
                restore_id=restore_id or random_uuid(rng),
                created_ms=created_ms,
                wait_ms=round(wait_s * 1000),
                duration_ms=round(duration_s * 1000),
                failed=failed,
                error_code=(error_code or rng.choice(ERROR_CODES)) if failed else None,
                fail_progress=fail_progress,
                backup_id=backup_id or random_uuid(rng),
                backup_name=backup_name
                or self._backup_names.get((instance_id, backup_id or ""))
                or f"backup_{created_at - timedelta(hours=1):%Y%m%d%H%M%S}",
                restore_name=restore_name or f"restore_{from_ms(created_ms):%Y%m%d%H%M%S}",
                restore_remark=restore_remark,
                backup_remark=backup_remark,
                style_seed=rng.getrandbits(16),
            )
            self._manual.append(spec)
            _insert(
                inst.neg_created,
                inst.keys,
                created_ms,
                -len(self._manual),
                lambda key: self._spec_of(inst.index, key, created_ms).restore_id,
            )
            return spec.restore_id

    def add_backup(
        self,
        instance_id: str,
        created_at: datetime,
        *,
        backup_id: str | None = None,
        backup_name: str | None = None,
        size_bytes: int = 1 << 30,
        backup_type: str = "auto",
        backup_format: str = "rdb",
        duration_s: float = 120.0,
        outcome: str = "succeed",
        error_code: str | None = None,
        is_support_restore: bool = True,
        remark: str | None = None,
        expires_at: datetime | None = None,
        deleted_at: datetime | None = None,
    ) -> str:
        """Add one backup by hand and return its backup_id.

        It waits 2 s after `created_at`, backs up for `duration_s`, then ends in `outcome`
        ("succeed" or "failed" with `error_code`); a succeeded one turns `expired` at `expires_at`
        and `deleted` at `deleted_at` (when given and after it finished).
        """
        if outcome not in ("succeed", "failed"):
            raise ValueError("outcome must be 'succeed' or 'failed'")
        with self._lock:
            inst = self._get(instance_id)
            rng = random.Random(f"{self.seed}:manual-backup:{len(self._manual_backups)}")
            created_ms, failed = to_ms(created_at), outcome == "failed"
            spec = BackupSpec(
                backup_id=backup_id or random_uuid(rng),
                backup_name=backup_name or backup_name_at(created_ms),
                created_ms=created_ms,
                wait_ms=DEFAULT_WAIT_MS,
                duration_ms=round(duration_s * 1000),
                failed=failed,
                error_code=(error_code or rng.choice(ERROR_CODES)) if failed else None,
                fail_progress=round(rng.uniform(0.0, 95.0), 2),
                size_bytes=size_bytes,
                backup_type=backup_type,
                backup_format=backup_format,
                is_support_restore=is_support_restore,
                remark=remark,
                expires_ms=to_ms(expires_at) if expires_at else None,
                deleted_ms=to_ms(deleted_at) if deleted_at else None,
                style_seed=rng.getrandbits(16),
            )
            self._manual_backups.append(spec)
            key = -len(self._manual_backups)
            inst.manual_backups.append(key)
            self._backup_names[(instance_id, spec.backup_id)] = spec.backup_name
            if inst.backups_built:
                self._insert_backup(inst, created_ms, key)
            return spec.backup_id

    def delete_instance(self, instance_id: str, at: datetime) -> None:
        """Make an instance vanish (listing, show and restores answer 404) from `at` on."""
        with self._lock:
            self._get(instance_id).deleted_ms = to_ms(at)

    @property
    def instance_ids(self) -> list[str]:
        """Return every instance id ever added, in creation order."""
        with self._lock:
            return [inst.info["instance_id"] for inst in self._instances]

    def instances_at(self, now: datetime) -> list[dict[str, Any]]:
        """Return the instances listed at `now`, newest created first (ties by instance_id)."""
        now_ms = to_ms(now)
        with self._lock:
            listed = [i for i in self._instances if i.exists(now_ms) and i.listed_from_ms <= now_ms]
        listed.sort(key=lambda i: i.info["instance_id"])
        listed.sort(key=lambda i: i.created_ms, reverse=True)
        return [copy.deepcopy(i.info) for i in listed]

    def instance_at(self, instance_id: str, now: datetime) -> dict[str, Any]:
        """Return the show-instance dict, or raise InstanceNotFound."""
        with self._lock:
            return show_info(self._live(instance_id, to_ms(now)).info)

    def restores_page(
        self,
        instance_id: str,
        now: datetime,
        begin: datetime | None = None,
        end: datetime | None = None,
        offset: int = 0,
        limit: int = 10,
    ) -> tuple[list[dict[str, Any]], int]:
        """Return (page items, total matching) newest first; begin/end are inclusive on created_at.

        Raises:
            InstanceNotFound: the instance does not exist at `now`.
        """
        _check_page(offset, limit)
        now_ms = to_ms(now)
        with self._lock:
            inst = self._live(instance_id, now_ms)
            chosen, total = _page(inst.neg_created, inst.keys, now_ms, begin, end, offset, limit)
        # derive and render outside the lock so concurrent page requests overlap
        specs = [self._spec_of(inst.index, key, -neg) for key, neg in chosen]
        return [self._render(spec, now_ms) for spec in specs], total

    def backups_page(
        self,
        instance_id: str,
        now: datetime,
        begin: datetime | None = None,
        end: datetime | None = None,
        offset: int = 0,
        limit: int = 10,
    ) -> tuple[list[dict[str, Any]], int]:
        """Return (page items, total matching) of backups, newest first on created_at.

        Raises:
            InstanceNotFound: the instance does not exist at `now`.
        """
        _check_page(offset, limit)
        now_ms = to_ms(now)
        with self._lock:
            inst = self._live(instance_id, now_ms)
            self._build_backups(inst)
            chosen, total = _page(inst.b_neg, inst.b_keys, now_ms, begin, end, offset, limit)
        specs = [self._backup_spec(inst, key, -neg) for key, neg in chosen]
        return [self._render_backup(inst, spec, now_ms) for spec in specs], total

    def backup_truth(self, now: datetime, *, canonical: bool = True) -> list[dict[str, Any]]:
        """Return every backup of every instance listed at `now`, plus instance_id, project_id.

        With `canonical`, nulls are None and timestamps ISO with millis and `Z`.
        """

        def backups(inst: _Instance, now_ms: int) -> list[dict[str, Any]]:
            with self._lock:
                self._build_backups(inst)
                lo, hi = _window(inst.b_neg, now_ms, None, None)
                chosen = list(zip(inst.b_keys[lo:hi], inst.b_neg[lo:hi], strict=True))
            specs = [self._backup_spec(inst, key, -neg) for key, neg in chosen]
            return [self._render_backup(inst, spec, now_ms, canonical) for spec in specs]

        return self._truth(now, backups)

    def count_restores(self, instance_id: str, now: datetime) -> int:
        """Return how many restores of the instance exist (created) at `now`, deleted or not."""
        now_ms = to_ms(now)
        with self._lock:
            lo, hi = self._window(self._get(instance_id), now_ms, None, None)
        return hi - lo

    def ground_truth(self, now: datetime, *, canonical: bool = False) -> list[dict[str, Any]]:
        """Return every restore of every instance listed at `now`, plus instance_id and project_id.

        With `canonical`, nulls are None and timestamps ISO with millis and `Z` whatever the
        world's styles; otherwise records look exactly as the API renders them.
        """

        def restores(inst: _Instance, now_ms: int) -> list[dict[str, Any]]:
            with self._lock:
                lo, hi = self._window(inst, now_ms, None, None)
                return [self._render(self._spec(inst, p), now_ms, canonical) for p in range(lo, hi)]

        return self._truth(now, restores)

    def _truth(
        self, now: datetime, records: Callable[[_Instance, int], list[dict[str, Any]]]
    ) -> list[dict[str, Any]]:
        """Return `records` of every instance listed at `now`, plus instance_id and project_id."""
        now_ms = to_ms(now)
        rows: list[dict[str, Any]] = []
        for listed in self.instances_at(now):
            with self._lock:
                inst = self._by_id[listed["instance_id"]]
            for row in records(inst, now_ms):
                row.update(instance_id=listed["instance_id"], project_id=self.project_id)
                rows.append(row)
        return rows

    def parse_filter_time(self, text: str) -> datetime:
        """Return the UTC instant of a `yyyyMMddHHmmss` filter value, read at the world's offset."""
        if not _FILTER_TIME.fullmatch(text):
            raise ValueError(f"not a yyyyMMddHHmmss time: {text!r}")
        zone = timezone(timedelta(hours=self.filter_tz_offset_hours))
        return datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=zone).astimezone(UTC)

    def _get(self, instance_id: str) -> _Instance:
        try:
            return self._by_id[instance_id]
        except KeyError:
            raise InstanceNotFound(instance_id) from None

    def _live(self, instance_id: str, now_ms: int) -> _Instance:
        inst = self._get(instance_id)
        if not inst.exists(now_ms):
            raise InstanceNotFound(instance_id)
        return inst

    def _window(
        self, inst: _Instance, now_ms: int, begin: datetime | None, end: datetime | None
    ) -> tuple[int, int]:
        return _window(inst.neg_created, now_ms, begin, end)

    def _spec(self, inst: _Instance, position: int) -> RestoreSpec:
        return self._spec_of(inst.index, inst.keys[position], -inst.neg_created[position])

    def _spec_of(self, index: int, key: int, created_ms: int) -> RestoreSpec:
        if key < 0:
            return self._manual[-1 - key]
        return generated_spec(self.seed, index, key, created_ms, self.failure_rate)

    def _render(self, spec: RestoreSpec, now_ms: int, canonical: bool = False) -> dict[str, Any]:
        if canonical:
            return render(spec, now_ms, "null", "iso_millis")
        return render(spec, now_ms, self.null_style, self.timestamp_style)

    def _plan_backups(self, inst: _Instance, start_ms: int, span_ms: int) -> None:
        """Give a generated instance daily automatic backups over the last 21 days of the span
        (at most; fewer keep large worlds cheap) and 30 days past it."""
        rng = random.Random(f"{self.seed}:{inst.index}:backup-plan")
        inst.save_days = rng.randint(1, MAX_SAVE_DAYS)
        first = max(start_ms, start_ms + span_ms - AUTO_HISTORY_DAYS * DAY_MS)
        inst.auto_first_ms = first - first % DAY_MS + rng.randint(0, 23) * 3_600_000
        inst.auto_count = (start_ms + span_ms - first) // DAY_MS + 30

    def _build_backups(self, inst: _Instance) -> None:
        """Order an instance's backups newest first, once (the lock is held)."""
        if inst.backups_built:
            return
        entries: list[tuple[int, int]] = []
        for neg, key in zip(inst.neg_created, inst.keys, strict=True):
            if key >= 0:
                gap = restore_backup_gap_ms(self.seed, inst.index, key)
                inst.restore_gaps[key] = gap
                entries.append((-neg - gap, key))
        entries.extend((self._auto_ms(inst, day), AUTO_KEY + day) for day in range(inst.auto_count))
        entries.extend(
            (self._manual_backups[-1 - key].created_ms, key) for key in inst.manual_backups
        )
        # newest first; equal created_at: backup_id ascending (rare: times are in milliseconds)
        entries.sort(key=lambda e: -e[0])
        runs: dict[int, list[tuple[int, int]]] = {}
        for entry in entries:
            runs.setdefault(entry[0], []).append(entry)
        ordered: list[tuple[int, int]] = []
        for ms, run in runs.items():
            if len(run) > 1:
                run.sort(key=lambda e: self._backup_spec(inst, e[1], ms).backup_id)
            ordered.extend(run)
        inst.b_neg = array("q", (-ms for ms, _ in ordered))
        inst.b_keys = array("q", (key for _, key in ordered))
        inst.backups_built = True

    def _insert_backup(self, inst: _Instance, created_ms: int, key: int) -> None:
        _insert(
            inst.b_neg,
            inst.b_keys,
            created_ms,
            key,
            lambda other: self._backup_spec(inst, other, created_ms).backup_id,
        )

    @staticmethod
    def _auto_ms(inst: _Instance, day: int) -> int:
        # a few minutes of jitter per day, derived rather than drawn: cheap and stable
        jitter = (day * 2_654_435_761 + inst.index * 40_503) % 600_000
        return inst.auto_first_ms + day * DAY_MS + jitter

    def _backup_spec(self, inst: _Instance, key: int, created_ms: int) -> BackupSpec:
        if key < 0:
            return self._manual_backups[-1 - key]
        if key >= AUTO_KEY:
            failure_rate = self.failure_rate / 2
            return auto_backup_spec(
                self.seed, inst.index, key - AUTO_KEY, created_ms, inst.save_days, failure_rate
            )
        gap = inst.restore_gaps[key]
        restore = generated_spec(self.seed, inst.index, key, created_ms + gap, self.failure_rate)
        return restore_backup_spec(self.seed, inst.index, key, restore, gap)

    def _render_backup(
        self, inst: _Instance, spec: BackupSpec, now_ms: int, canonical: bool = False
    ) -> dict[str, Any]:
        instance_id = inst.info["instance_id"]
        if canonical:
            return render_backup(spec, instance_id, now_ms, "null", "iso_millis")
        return render_backup(spec, instance_id, now_ms, self.null_style, self.timestamp_style)

    def _spread(
        self, inst: _Instance, rng: random.Random, count: int, start_ms: int, span_ms: int
    ) -> None:
        """Give a fresh instance `count` generated restores spread over the span, newest first."""
        gaps = array("q", (rng.getrandbits(20) + 1 for _ in range(count + 1)))
        total = sum(gaps)
        inst.neg_created = array(
            "q", (-(start_ms + c * span_ms // total) for c in islice(accumulate(gaps), count))
        )
        inst.neg_created.reverse()
        inst.keys = array("q", range(count - 1, -1, -1))
        self._order_ties(inst)

    def _order_ties(self, inst: _Instance) -> None:
        """Sort runs of equal created_at by restore_id (rare: times are in milliseconds)."""
        neg, p = inst.neg_created, 1
        while p < len(neg):
            if neg[p] != neg[p - 1]:
                p += 1
                continue
            first = p - 1
            while p < len(neg) and neg[p] == neg[first]:
                p += 1
            run = sorted(range(first, p), key=lambda q: self._spec(inst, q).restore_id)
            inst.keys[first:p] = array("q", (inst.keys[q] for q in run))


def _window(
    neg_created: array[int], now_ms: int, begin: datetime | None, end: datetime | None
) -> tuple[int, int]:
    """Return the positions [lo, hi) of records created in [begin, min(end, now)]."""
    newest = now_ms if end is None else min(now_ms, to_ms(end))
    lo = bisect_left(neg_created, -newest)
    hi = len(neg_created) if begin is None else bisect_right(neg_created, -to_ms(begin))
    return lo, max(lo, hi)


def _check_page(offset: int, limit: int) -> None:
    if offset < 0 or limit < 1:
        raise ValueError("offset must be >= 0 and limit >= 1")


def _page(
    neg_created: array[int],
    keys: array[int],
    now_ms: int,
    begin: datetime | None,
    end: datetime | None,
    offset: int,
    limit: int,
) -> tuple[list[tuple[int, int]], int]:
    """Return the (key, -created_ms) pairs of one page, and how many records match in all."""
    lo, hi = _window(neg_created, now_ms, begin, end)
    first, stop = lo + offset, min(hi, lo + offset + limit)
    return list(zip(keys[first:stop], neg_created[first:stop], strict=True)), hi - lo


def _insert(
    neg_created: array[int],
    keys: array[int],
    created_ms: int,
    key: int,
    record_id: Callable[[int], str],
) -> None:
    """Insert `key` created at `created_ms` into newest-first arrays; among records created at
    the same time, ids stay ascending (`record_id` gives the id of a key created then)."""
    lo = bisect_left(neg_created, -created_ms)
    hi = bisect_right(neg_created, -created_ms)
    own = record_id(key)
    while lo < hi and record_id(keys[lo]) < own:
        lo += 1
    neg_created.insert(lo, -created_ms)
    keys.insert(lo, key)
