"""Ground truth of table `backups`, computed from the simulator's world with the standard
library only (independently of the source's own parsers)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from dcs_simulator import World

BACKUP_FIELDS = (
    "backup_id",
    "project_id",
    "instance_id",
    "backup_name",
    "period",
    "size",
    "backup_type",
    "backup_format",
    "status",
    "progress",
    "error_code",
    "remark",
    "is_support_restore",
    "created_at",
    "updated_at",
    "execution_at",
)
BACKUPS_SQL = f"select {', '.join(BACKUP_FIELDS)} from dcs.backups order by backup_id"


def _ts(value: Any) -> datetime | None:
    if value in (None, "", {}):
        return None
    parsed = datetime.fromisoformat(str(value))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def expected_backups(world: World, now: datetime) -> list[dict[str, Any]]:
    """What table `backups` must hold at `now`: "", {} and null as NULL, size an integer,
    is_support_restore a boolean, timestamps aware UTC."""
    rows = []
    for record in world.backup_truth(now, canonical=False):
        row = {name: (record.get(name) or None) for name in BACKUP_FIELDS}
        row["size"] = int(record["size"])
        row["progress"] = float(record["progress"])
        row["is_support_restore"] = {"TRUE": True, "FALSE": False}[record["is_support_restore"]]
        for name in ("created_at", "updated_at", "execution_at"):
            row[name] = _ts(record[name])
        rows.append(row)
    return sorted(rows, key=lambda r: r["backup_id"])


def table_backups(query: Callable[[str], list[tuple[Any, ...]]]) -> list[dict[str, Any]]:
    """The rows of table `backups` as dicts, timestamps in UTC, ordered by backup_id."""
    rows = []
    for values in query(BACKUPS_SQL):
        row = dict(zip(BACKUP_FIELDS, values, strict=True))
        for name in ("created_at", "updated_at", "execution_at"):
            if row[name] is not None:
                row[name] = row[name].astimezone(UTC)
        rows.append(row)
    return rows


def backup_cursors(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The per-instance cursors of resource `backups` in a pipeline state."""
    resources = state.get("sources", {}).get("dcs_restores", {}).get("resources", {})
    return dict(resources.get("backups", {}).get("cursors", {}))
