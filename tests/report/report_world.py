"""A world whose at-risk instances are known, built relative to now (the views' pinned clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
from dcs_restores_pipeline.views import apply_models_duckdb, pin_clock_sql
from report_tables import BACKUPS_DDL, create_tables

NOW = datetime.now(UTC)

HEALTHY = "11111111-aaaa-4aaa-8aaa-000000000001"
FLAKY = "22222222-bbbb-4bbb-8bbb-000000000002"
OVERDUE = "33333333-cccc-4ccc-8ccc-000000000003"
NEVER = "44444444-dddd-4ddd-8ddd-000000000004"
STALE_BACKUP = "55555555-eeee-4eee-8eee-000000000005"
UNTESTED = "66666666-ffff-4fff-8fff-000000000006"
PROJECT = "0123456789abcdef0123456789abcdef"

# instance_id, name (one with terminal controls in it)
INSTANCES = [
    (HEALTHY, "cache-healthy"),
    (FLAKY, "cache-flaky"),
    (OVERDUE, "cache-overdue"),
    (NEVER, "cache-never"),
    (STALE_BACKUP, "cache-\x1b[31mstale\x07"),
    (UNTESTED, "cache-untested"),
]


def world_restores() -> list[tuple[str, str, str, str | None, datetime, float | None]]:
    """restore_id, instance_id, status, error_code, created_at, duration in seconds."""
    day = timedelta(days=1)
    rows = [
        (f"h{n}", HEALTHY, "succeed", None, NOW - n * day - timedelta(hours=1), 100.0 + 20 * n)
        for n in range(1, 7)
    ]
    rows += [
        ("f1", FLAKY, "succeed", None, NOW - 9 * day, 200.0),
        ("f2", FLAKY, "succeed", None, NOW - 8 * day, 300.0),
        ("f3", FLAKY, "failed", "dcs.08.0007", NOW - 3 * day, 60.0),
        ("f4", FLAKY, "failed", "dcs.08.0007", NOW - 2 * day, 70.0),
        ("f5", FLAKY, "failed", "dcs.08.0002", NOW - 1 * day, 80.0),
    ]
    rows += [
        (f"o{n}", OVERDUE, "succeed", None, NOW - (n + 2) * day, 120.0 + 10 * n) for n in range(4)
    ]
    rows.append(("o9", OVERDUE, "restoring", None, NOW - timedelta(hours=6), None))
    rows.append(("s1", STALE_BACKUP, "succeed", None, NOW - 2 * day, 90.0))
    rows.append(("u1", UNTESTED, "succeed", None, NOW - 45 * day, 150.0))
    return rows


def build(path: Path) -> None:
    """Write the known world and its views."""
    with duckdb.connect(str(path)) as con:
        create_tables(con)
        con.execute(BACKUPS_DDL)
        for instance_id, name in INSTANCES:
            con.execute(
                "insert into dcs.instances (instance_id, project_id, name) values (?, ?, ?)",
                [instance_id, PROJECT, name],
            )
        for restore_id, instance_id, status, code, created, seconds in world_restores():
            updated = created + timedelta(seconds=seconds) if seconds is not None else created
            con.execute(
                "insert into dcs.restores (restore_id, project_id, instance_id, backup_id, status,"
                " error_code, progress, created_at, updated_at, _dlt_load_id, _dlt_id)"
                " values (?, ?, ?, ?, ?, ?, 100, ?, ?, 'load-1', ?)",
                [restore_id, PROJECT, instance_id, f"b-{restore_id}", status, code, created,
                 updated, f"dlt-{restore_id}"],
            )  # fmt: skip
        for n, (instance_id, _name) in enumerate(INSTANCES):
            age = timedelta(days=10) if instance_id == STALE_BACKUP else timedelta(hours=2)
            con.execute(
                "insert into dcs.backups (project_id, instance_id, backup_id, backup_name, size,"
                " backup_type, status, is_support_restore, created_at, updated_at)"
                " values (?, ?, ?, ?, 1073741824, 'auto', 'succeed', true, ?, ?)",
                [PROJECT, instance_id, f"fresh-{n}", f"backup-{n}", NOW - age, NOW - age],
            )
        apply_models_duckdb(con, "dcs")
        # the views' clock stays at the world's NOW, however long the tests take to get there
        con.execute(pin_clock_sql("dcs", NOW))
