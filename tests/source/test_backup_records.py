"""Shaping backup records, and where an instance's backups read begins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from dcs_restores.backup_plan import FULL_REREAD, RECHECK, plan_backups
from dcs_restores.backup_records import shape_backup
from dcs_restores.errors import RecordError

PID = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
IID = "aaaaaaaa-0000-4000-8000-000000000001"
NOW = datetime(2026, 3, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def record(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "backup_id": "b-1",
        "period": {},
        "backup_name": "backup_20260301",
        "instance_id": "someone-else",
        "size": 1024,
        "backup_type": "auto",
        "created_at": "2026-02-28T21:41:20.721Z",
        "updated_at": "2026-02-28 21:45:00",
        "progress": "100.00",
        "error_code": "",
        "remark": None,
        "status": "SUCCEED",
        "is_support_restore": "TRUE",
        "execution_at": "2026-02-28T21:41:25+01:00",
        "backup_format": "rdb",
    }
    return base | changes


def test_a_clean_record_becomes_a_typed_row() -> None:
    row = shape_backup(record(), PID, IID)
    assert row == {
        "backup_id": "b-1",
        "project_id": PID,
        "instance_id": IID,  # the instance read, not what the record says
        "backup_name": "backup_20260301",
        "period": None,
        "size": 1024,
        "backup_type": "auto",
        "backup_format": "rdb",
        "status": "succeed",
        "error_code": None,
        "remark": None,
        "is_support_restore": True,
        "created_at": datetime(2026, 2, 28, 21, 41, 20, 721000, tzinfo=UTC),
        "updated_at": datetime(2026, 2, 28, 21, 45, tzinfo=UTC),
        "execution_at": datetime(2026, 2, 28, 20, 41, 25, tzinfo=UTC),
        "progress": 100.0,
        "invalid_fields": None,
    }


@pytest.mark.parametrize(
    ("value", "expected", "flagged"),
    [
        ("FALSE", False, False),
        ("true", True, False),
        (True, True, False),
        ({}, None, False),
        ("", None, False),
        ("YES", None, True),
        (1, None, True),
    ],
)
def test_is_support_restore(value: Any, expected: bool | None, flagged: bool) -> None:
    row = shape_backup(record(is_support_restore=value), PID, IID)
    assert row["is_support_restore"] is expected
    assert (row["invalid_fields"] is not None) is flagged
    if flagged:
        assert row["invalid_fields"].startswith("is_support_restore: not TRUE or FALSE")


@pytest.mark.parametrize(
    ("value", "expected", "flagged"),
    [
        (2**40, 2**40, False),
        (512.0, 512, False),
        (" 4096 ", 4096, False),
        ({}, None, False),
        (-1, None, True),
        (2**64, None, True),
        (1.5, None, True),
        ("12 MB", None, True),
    ],
)
def test_size_is_an_integer_byte_count(value: Any, expected: int | None, flagged: bool) -> None:
    row = shape_backup(record(size=value), PID, IID)
    assert row["size"] == expected
    assert (row["invalid_fields"] is not None) is flagged


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"backup_id": {}}, "record has no backup_id"),
        ({"backup_id": "x\x00y"}, "has characters that are not printable"),
        ({"created_at": None}, "record has no created_at"),
        ({"created_at": "1970-01-01T00:00:00Z"}, "is not a real restore time"),
        ({"size": [1]}, "field size has type list"),
        ({"backup_name": ["a"]}, "field backup_name has type list"),
    ],
)
def test_unusable_records_are_rejected(changes: dict[str, Any], reason: str) -> None:
    with pytest.raises(RecordError, match=reason):
        shape_backup(record(**changes), PID, IID)
    with pytest.raises(RecordError, match="expected an object"):
        shape_backup(["not", "a", "record"], PID, IID)


def test_odd_values_are_set_aside_and_new_fields_pass_through() -> None:
    row = shape_backup(
        record(execution_at="soon", progress="lots", updated_at="2020-01-01Z", data_size_mb=5),
        PID,
        IID,
    )
    assert row["execution_at"] is row["progress"] is row["updated_at"] is None
    assert row["data_size_mb"] == 5
    flags = row["invalid_fields"]
    assert "execution_at: unparseable timestamp" in flags and "progress: not a number" in flags


def test_plan_reads_new_instances_whole_and_known_ones_from_a_window() -> None:
    newest = NOW - DAY
    begin, _ = plan_backups(None, NOW, DAY, None, None)
    assert begin is None
    fresh = {"max_created_at": newest.isoformat(), "full_read_at": (NOW - DAY).isoformat()}
    begin, tracker = plan_backups(fresh, NOW, DAY, None, None)
    assert begin == newest - DAY - RECHECK
    # an open backup the destination holds reaches further back
    begin, _ = plan_backups(fresh, NOW, DAY, None, newest - 30 * DAY)
    assert begin == newest - 30 * DAY
    # the whole history again once a week; the tracker then records the new full read
    stale = fresh | {"full_read_at": (NOW - FULL_REREAD).isoformat()}
    begin, tracker = plan_backups(stale, NOW, DAY, None, None)
    assert begin is None
    tracker.observe(newest, "backuping")
    assert tracker.result().to_state() == {
        "max_created_at": newest.isoformat(),
        "oldest_open": newest.isoformat(),
        "full_read_at": NOW.isoformat(),
    }
    # expired and deleted are final for backups: nothing stays open
    begin, tracker = plan_backups(fresh, NOW, DAY, None, None)
    tracker.observe(newest, "expired")
    assert tracker.result().oldest_open is None
    assert tracker.result().full_read_at == NOW - DAY
