"""Restore records of the simulated world: compact specs, status over time and API rendering."""

from __future__ import annotations

import functools
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

ERROR_CODES = tuple(f"dcs.08.000{n}" for n in range(1, 9))
NULL_STYLES = ("braces", "null", "empty", "mixed")
TIMESTAMP_STYLES = ("iso_millis", "mixed")
# renderings the "mixed" timestamp style picks from, per record
MIXED_TIMESTAMPS = ("iso_millis", "iso_seconds", "offset", "space")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_RESTORE_REMARKS = (
    "doctest",
    "nightly restore",
    "rollback after deploy",
    "DR drill",
    "",
    "Prüfung ✓",
)
_BACKUP_REMARKS = ("manual backup", "before upgrade", "weekly", "")


@dataclass(frozen=True, slots=True)
class RestoreSpec:
    """Everything that fixes one restore's life; its status at a time follows from these."""

    restore_id: str
    created_ms: int
    wait_ms: int
    duration_ms: int
    failed: bool
    error_code: str | None
    fail_progress: float
    backup_id: str
    backup_name: str
    restore_name: str
    restore_remark: str | None
    backup_remark: str | None
    style_seed: int


def to_ms(moment: datetime) -> int:
    """Return epoch milliseconds of an aware datetime."""
    if moment.tzinfo is None:
        raise ValueError("datetimes given to the simulator must be timezone-aware")
    return (moment - EPOCH) // timedelta(milliseconds=1)


def from_ms(ms: int) -> datetime:
    """Return the aware UTC datetime of epoch milliseconds."""
    return EPOCH + timedelta(milliseconds=ms)


def format_ts(ms: int, style: str = "iso_millis") -> str:
    """Return a timestamp in a rendering seen in DCS docs (default `...T21:41:20.721Z`)."""
    moment = from_ms(ms)
    millis = f"{ms % 1000:03d}"
    if style == "iso_seconds":
        return f"{moment:%Y-%m-%dT%H:%M:%S}Z"
    if style == "offset":
        return f"{moment:%Y-%m-%dT%H:%M:%S}.{millis}+00:00"
    if style == "space":
        return f"{moment:%Y-%m-%d %H:%M:%S}"
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{millis}Z"


def random_uuid(rng: random.Random) -> str:
    """Return a version-4 UUID string drawn from `rng`."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


# a backups page derives its restores' specs again: kept, the second page costs half
@functools.lru_cache(maxsize=1 << 16)
def generated_spec(
    seed: int, instance_index: int, key: int, created_ms: int, failure_rate: float
) -> RestoreSpec:
    """Return the spec of generated restore `key` of an instance; same inputs, same spec."""
    rng = random.Random(f"{seed}:{instance_index}:{key}")
    restore_id = random_uuid(rng)
    backup_ms = created_ms - rng.randint(60, 7 * 86400) * 1000
    failed = rng.random() < failure_rate
    return RestoreSpec(
        restore_id=restore_id,
        created_ms=created_ms,
        wait_ms=rng.randint(1_000, 180_000),
        duration_ms=rng.randint(10_000, 1_800_000),
        failed=failed,
        error_code=rng.choice(ERROR_CODES) if failed else None,
        fail_progress=round(rng.uniform(0.0, 95.0), 2),
        backup_id=random_uuid(rng),
        backup_name=f"backup_{from_ms(backup_ms):%Y%m%d%H%M%S}",
        restore_name=f"restore_{from_ms(created_ms):%Y%m%d%H%M%S}",
        restore_remark=rng.choice(_RESTORE_REMARKS),
        backup_remark=rng.choice(_BACKUP_REMARKS) if rng.random() < 0.4 else None,
        style_seed=rng.getrandbits(16),
    )


def state_at(spec: RestoreSpec, now_ms: int) -> tuple[str, str, int]:
    """Return (status, progress, updated_at ms) of a restore at `now_ms`."""
    start = spec.created_ms + spec.wait_ms
    finish = start + spec.duration_ms
    top = spec.fail_progress if spec.failed else 100.0
    if now_ms < start:
        return "waiting", "0.00", spec.created_ms
    if now_ms < finish:
        return "restoring", f"{(now_ms - start) / spec.duration_ms * top:.2f}", start
    return ("failed" if spec.failed else "succeed"), f"{top:.2f}", finish


def null_value(style: str, style_seed: int) -> Any:
    """Return how a null renders in `style` ("mixed" picks one per record by its seed)."""
    if style == "mixed":
        style = NULL_STYLES[style_seed % 3]
    return {"braces": {}, "null": None, "empty": ""}[style]


def render(
    spec: RestoreSpec, now_ms: int, null_style: str = "braces", timestamp_style: str = "iso_millis"
) -> dict[str, Any]:
    """Return the InstanceRestoreInfo dict of a restore as the API shows it at `now_ms`."""
    status, progress, updated_ms = state_at(spec, now_ms)
    ts_style = timestamp_style
    if ts_style == "mixed":
        ts_style = MIXED_TIMESTAMPS[(spec.style_seed // 3) % len(MIXED_TIMESTAMPS)]
    error_code = spec.error_code if status == "failed" else None

    def value(raw: str | None) -> Any:
        return null_value(null_style, spec.style_seed) if raw is None else raw

    return {
        "backup_id": spec.backup_id,
        "restore_id": spec.restore_id,
        "backup_name": spec.backup_name,
        "updated_at": format_ts(updated_ms, ts_style),
        "restore_remark": value(spec.restore_remark),
        "created_at": format_ts(spec.created_ms, ts_style),
        "progress": progress,
        "error_code": value(error_code),
        "restore_name": spec.restore_name,
        "backup_remark": value(spec.backup_remark),
        "status": status,
    }
