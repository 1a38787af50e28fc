"""Backup records of the simulated world: compact specs, status over time and API rendering."""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from dcs_simulator.records import (
    ERROR_CODES,
    MIXED_TIMESTAMPS,
    RestoreSpec,
    format_ts,
    from_ms,
    null_value,
)

DAY_MS = 86_400_000
# how long a backup waits before it starts, unless derived from a seed
DEFAULT_WAIT_MS = 2_000
_AUTO_REMARKS = ("", "scheduled", None)
_MANUAL_REMARKS = ("before upgrade", "manual backup", "", None)
# the longest retention of automatic backups DCS offers (backup policy save_days 1..7)
MAX_SAVE_DAYS = 7
_T = TypeVar("_T")


class Draws:
    """Seeded draws from one 512-bit hash: a backup's few values for ~1 µs, where seeding a
    `random.Random` costs ~10 µs (the bench serves ~100,000 backups)."""

    def __init__(self, key: str) -> None:
        digest = hashlib.blake2b(key.encode(), digest_size=64).digest()
        self._bits = int.from_bytes(digest, "big")

    def take(self, bits: int) -> int:
        value = self._bits & ((1 << bits) - 1)
        self._bits >>= bits
        return value

    def randint(self, low: int, high: int) -> int:
        return low + self.take(40) % (high - low + 1)

    def random(self) -> float:
        return self.take(24) / (1 << 24)

    def choice(self, options: Sequence[_T]) -> _T:
        return options[self.take(8) % len(options)]

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.take(128), version=4))


# bit that marks an automatic (periodic) backup key: the low bits are its day number
AUTO_KEY = 1 << 40


@dataclass(frozen=True, slots=True)
class BackupSpec:
    """Everything that fixes one backup's life; its status at a time follows from these."""

    backup_id: str
    backup_name: str
    created_ms: int
    wait_ms: int
    duration_ms: int
    failed: bool
    error_code: str | None
    fail_progress: float
    size_bytes: int
    backup_type: str
    backup_format: str
    is_support_restore: bool
    remark: str | None
    expires_ms: int | None
    deleted_ms: int | None
    style_seed: int


def backup_name_at(created_ms: int) -> str:
    """Return the name DCS gives a backup made at `created_ms` (as restores show it)."""
    return f"backup_{from_ms(created_ms):%Y%m%d%H%M%S}"


def restore_backup_gap_ms(seed: int, instance_index: int, key: int) -> int:
    """Return how long before generated restore `key` its backup was made, in milliseconds.

    Mirrors the first draws of `records.generated_spec`, which fix the backup's name.
    """
    rng = random.Random(f"{seed}:{instance_index}:{key}")
    rng.getrandbits(128)
    return rng.randint(60, 7 * 86400) * 1000


def restore_backup_spec(
    seed: int, instance_index: int, key: int, restore: RestoreSpec, gap: int
) -> BackupSpec:
    """Return the backup record generated restore `key` names, made `gap` ms before it and
    finished before the restore was created."""
    rng = Draws(f"{seed}:{instance_index}:{key}:backup")
    created_ms = restore.created_ms - gap
    wait_ms = rng.randint(500, 5_000)
    # the gap is at least 60 s: the backup has finished when the restore is created
    duration_ms = min(rng.randint(5_000, 1_800_000), gap // 2 - wait_ms)
    kind = "manual" if rng.random() < 0.5 else "auto"
    return BackupSpec(
        backup_id=restore.backup_id,
        backup_name=restore.backup_name,
        created_ms=created_ms,
        wait_ms=wait_ms,
        duration_ms=duration_ms,
        failed=False,
        error_code=None,
        fail_progress=0.0,
        size_bytes=rng.randint(1 << 20, 8 << 30),
        backup_type=kind,
        backup_format="rdb" if rng.random() < 0.8 else "aof",
        is_support_restore=True,
        remark=rng.choice(_MANUAL_REMARKS),
        # DCS keeps manual backups until deleted, automatic ones at most 7 days (save_days);
        # this one outlives the restore that used it (the gap is at most 7 days)
        expires_ms=None if kind == "manual" else created_ms + MAX_SAVE_DAYS * DAY_MS,
        deleted_ms=None,
        style_seed=rng.take(16),
    )


def auto_backup_spec(
    seed: int, instance_index: int, day: int, created_ms: int, save_days: int, failure_rate: float
) -> BackupSpec:
    """Return the spec of periodic backup `day` of an instance; same inputs, same spec."""
    rng = Draws(f"{seed}:{instance_index}:auto:{day}")
    failed = rng.random() < failure_rate
    return BackupSpec(
        backup_id=rng.uuid(),
        backup_name=backup_name_at(created_ms),
        created_ms=created_ms,
        wait_ms=rng.randint(500, 60_000),
        duration_ms=rng.randint(5_000, 1_200_000),
        failed=failed,
        error_code=rng.choice(ERROR_CODES) if failed else None,
        fail_progress=round(rng.random() * 95.0, 2),
        size_bytes=rng.randint(1 << 20, 8 << 30),
        backup_type="auto",
        backup_format="rdb" if rng.random() < 0.8 else "aof",
        is_support_restore=rng.random() >= 0.08,
        remark=rng.choice(_AUTO_REMARKS),
        expires_ms=created_ms + save_days * DAY_MS,
        deleted_ms=created_ms + rng.randint(1, save_days) * DAY_MS if rng.random() < 0.05 else None,
        style_seed=rng.take(16),
    )


def backup_state_at(spec: BackupSpec, now_ms: int) -> tuple[str, str, int, int]:
    """Return (status, progress, size, updated_at ms) of a backup at `now_ms`."""
    start = spec.created_ms + spec.wait_ms
    finish = start + spec.duration_ms
    if now_ms < start:
        return "waiting", "0.00", 0, spec.created_ms
    if now_ms < finish:
        return "backuping", f"{(now_ms - start) / spec.duration_ms * 100:.2f}", 0, start
    if spec.failed:
        return "failed", f"{spec.fail_progress:.2f}", 0, finish
    if spec.deleted_ms is not None and now_ms >= spec.deleted_ms >= finish:
        return "deleted", "100.00", spec.size_bytes, spec.deleted_ms
    if spec.expires_ms is not None and now_ms >= spec.expires_ms >= finish:
        return "expired", "100.00", spec.size_bytes, spec.expires_ms
    return "succeed", "100.00", spec.size_bytes, finish


def render_backup(
    spec: BackupSpec,
    instance_id: str,
    now_ms: int,
    null_style: str = "braces",
    timestamp_style: str = "iso_millis",
) -> dict[str, object]:
    """Return the backup record dict as GET .../backups shows it at `now_ms`."""
    status, progress, size, updated_ms = backup_state_at(spec, now_ms)
    ts_style = timestamp_style
    if ts_style == "mixed":
        ts_style = MIXED_TIMESTAMPS[(spec.style_seed // 3) % len(MIXED_TIMESTAMPS)]

    def value(raw: str | None) -> object:
        return null_value(null_style, spec.style_seed) if raw is None else raw

    return {
        "backup_id": spec.backup_id,
        "period": value(None),
        "backup_name": spec.backup_name,
        "instance_id": instance_id,
        "size": size,
        "backup_type": spec.backup_type,
        "created_at": format_ts(spec.created_ms, ts_style),
        "updated_at": format_ts(updated_ms, ts_style),
        "progress": progress,
        "error_code": value(spec.error_code if status == "failed" else None),
        "remark": value(spec.remark),
        "status": status,
        "is_support_restore": "TRUE" if spec.is_support_restore else "FALSE",
        "execution_at": format_ts(spec.created_ms + spec.wait_ms, ts_style),
        "backup_format": spec.backup_format,
    }
