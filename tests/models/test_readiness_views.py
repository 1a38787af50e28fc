"""Readiness views: given the readiness rows in conftest (clock pinned), exactly these rows."""

# expected rows are tables, one row per line, so long lines are allowed in this file
# ruff: noqa: E501

from __future__ import annotations

from datetime import UTC, date, datetime

import duckdb
import pytest
from dcs_restores_pipeline.views import apply_models_duckdb, pin_clock_sql

from tests.models.conftest import BACKUPS_DDL, READINESS_GUARDS, SCHEMA
from tests.models.test_views import columns, fetch


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_restore_context(readiness_db: duckdb.DuckDBPyConnection) -> None:
    assert columns(readiness_db, "restore_context") == [
        "restore_id", "project_id", "instance_id", "status", "backup_id", "backup_type",
        "backup_size_bytes", "backup_created_at", "restore_point_age_seconds",
        "duration_seconds", "throughput_bytes_per_second",
    ]  # fmt: skip
    # throughput only for succeeded restores (r-s0 failed after 60 s: none); r-n1's backup is
    # unknown, r-u1 names none
    assert fetch(readiness_db, "restore_context", "restore_id") == [
        ("r-f1", "proj-1", "i-fleet", "succeed", "b-f1", "manual", 2000, ts("2024-03-20 13:00:00"), 3600.0, 500.0, 4.0),
        ("r-f2", "proj-1", "i-fleet", "restoring", "b-f2", "auto", 10000, ts("2024-04-01 11:00:00"), 1600.0, None, None),
        ("r-n1", "proj-2", "i-nosize", "restoring", "b-missing", None, None, None, None, None, None),
        ("r-o1", "proj-1", "i-own", "succeed", "b-o1", "auto", 1000, ts("2024-03-20 00:00:00"), 36000.0, 100.0, 10.0),
        ("r-o2", "proj-1", "i-own", "succeed", "b-o2", "auto", 1000, ts("2024-03-20 00:00:00"), 39600.0, 200.0, 5.0),
        ("r-o3", "proj-1", "i-own", "succeed", "b-o3", "auto", 1000, ts("2024-03-20 00:00:00"), 43200.0, 300.0, 3.333333),
        ("r-o4", "proj-1", "i-own", "succeed", "b-o4", "manual", 1000, ts("2024-03-20 00:00:00"), 46800.0, 400.0, 2.5),
        ("r-o5", "proj-1", "i-own", "restoring", "b-o5", "auto", 1000, ts("2024-04-01 00:00:00"), 42200.0, None, None),
        ("r-o6", "proj-1", "i-own", "waiting", "b-o5", "auto", 1000, ts("2024-04-01 00:00:00"), 43100.0, None, None),
        ("r-s0", "proj-1", "i-streak", "failed", "b-s", "auto", 4000, ts("2024-03-19 00:00:00"), 115200.0, 60.0, None),
        ("r-s1", "proj-1", "i-streak", "succeed", "b-s", "auto", 4000, ts("2024-03-19 00:00:00"), 118800.0, 2000.0, 2.0),
        ("r-s2", "proj-1", "i-streak", "failed", "b-s", "auto", 4000, ts("2024-03-19 00:00:00"), 205200.0, 30.0, None),
        ("r-s3", "proj-1", "i-streak", "failed", "b-s", "auto", 4000, ts("2024-03-19 00:00:00"), 291600.0, 30.0, None),
        ("r-s4", "proj-1", "i-streak", "failed", "b-s", "auto", 4000, ts("2024-03-19 00:00:00"), 378000.0, 30.0, None),
        ("r-u1", "proj-1", "i-unlisted", "cancelled", None, None, None, None, None, None, None),
        ("r-x1", "proj-2", "i-old", "succeed", "b-x1", "auto", 100, ts("2024-02-01 12:00:00"), 86400.0, 10.0, 10.0),
    ]  # fmt: skip


def test_restores_in_progress(readiness_db: duckdb.DuckDBPyConnection) -> None:
    assert columns(readiness_db, "restores_in_progress") == [
        "restore_id", "project_id", "instance_id", "status", "created_at", "elapsed_seconds",
        "expected_duration_seconds", "expected_completion_at", "is_overdue",
    ]  # fmt: skip
    # now is 2024-04-01 12:00. i-own has 4 successes (100..400 s): its own p95 = 300 + 0.85 * 100.
    # i-fleet has one success: its backup's 10000 bytes x the fleet p95 of seconds per byte
    # (0.1 0.1 0.2 0.25 0.3 0.4 0.5 -> 0.4 + 0.7 * 0.1 = 0.47), above the fleet median duration
    # (300). i-nosize's backup is unknown: the fleet p95 of succeeded durations
    # (10 100 200 300 400 500 2000 -> 500 + 0.7 * 1500)
    assert fetch(readiness_db, "restores_in_progress", "restore_id") == [
        ("r-f2", "proj-1", "i-fleet", "restoring", ts("2024-04-01 11:26:40"), 2000.0, 4700.0, ts("2024-04-01 12:45:00"), False),
        ("r-n1", "proj-2", "i-nosize", "restoring", ts("2024-04-01 10:00:00"), 7200.0, 1550.0, ts("2024-04-01 10:25:50"), True),
        ("r-o5", "proj-1", "i-own", "restoring", ts("2024-04-01 11:43:20"), 1000.0, 385.0, ts("2024-04-01 11:49:45"), True),
        ("r-o6", "proj-1", "i-own", "waiting", ts("2024-04-01 11:58:20"), 100.0, 385.0, ts("2024-04-01 12:04:45"), False),
    ]  # fmt: skip


def test_instance_readiness(readiness_db: duckdb.DuckDBPyConnection) -> None:
    assert columns(readiness_db, "instance_readiness") == [
        "project_id", "instance_id", "instance_name", "count_restores", "last_restore_at",
        "last_restore_status", "last_successful_restore_at", "days_since_successful_restore",
        "consecutive_failed_restores", "open_restores", "newest_restorable_backup_at",
        "rpo_exposure_seconds", "p50_duration_seconds", "p95_duration_seconds",
    ]  # fmt: skip
    # i-streak: failed, succeeded, then failed three times; i-none never restored; i-old's only
    # restorable backup is 60 days old (newer ones failed, cannot restore, or expired);
    # i-unlisted is known from its restore alone
    assert fetch(readiness_db, "instance_readiness", "instance_id") == [
        ("proj-1", "i-fleet", "fleet-sized", 2, ts("2024-04-01 11:26:40"), "restoring", ts("2024-03-20 14:00:00"), 11.916667, 0, 1, ts("2024-04-01 11:00:00"), 3600.0, 500.0, 500.0),
        ("proj-2", "i-none", "never", 0, None, None, None, None, 0, 0, ts("2024-04-01 06:00:00"), 21600.0, None, None),
        ("proj-2", "i-nosize", "no-size", 1, ts("2024-04-01 10:00:00"), "restoring", None, None, 0, 1, None, None, None, None),
        ("proj-2", "i-old", "old-backups", 1, ts("2024-02-02 12:00:00"), "succeed", ts("2024-02-02 12:00:00"), 59.0, 0, 0, ts("2024-02-01 12:00:00"), 5184000.0, 10.0, 10.0),
        ("proj-1", "i-own", "own-history", 6, ts("2024-04-01 11:58:20"), "waiting", ts("2024-03-20 13:00:00"), 11.958333, 0, 2, ts("2024-04-01 00:00:00"), 43200.0, 250.0, 385.0),
        ("proj-1", "i-streak", "streak", 5, ts("2024-03-23 09:00:00"), "failed", ts("2024-03-20 09:00:00"), 12.125, 3, 0, ts("2024-03-19 00:00:00"), 1166400.0, 2000.0, 2000.0),
        ("proj-1", "i-unlisted", None, 1, ts("2024-03-20 15:00:00"), "cancelled", None, None, 0, 0, None, None, None, None),
    ]  # fmt: skip


def test_restore_daily(readiness_db: duckdb.DuckDBPyConnection) -> None:
    assert columns(readiness_db, "restore_daily") == [
        "day", "count_restores", "count_finished", "count_failed", "failure_rate",
        "p50_duration_seconds", "p95_duration_seconds",
    ]  # fmt: skip
    # 20 March mixes successes, a failure (r-s0, 60 s) and a cancelled restore (r-u1, not
    # finished); 1 April has only restores in progress
    assert fetch(readiness_db, "restore_daily", "day") == [
        (date(2024, 2, 2), 1, 1, 0, 0.0, 10.0, 10.0),
        (date(2024, 3, 20), 8, 7, 1, 0.142857, 300.0, 1550.0),
        (date(2024, 3, 21), 1, 1, 1, 1.0, 30.0, 30.0),
        (date(2024, 3, 22), 1, 1, 1, 1.0, 30.0, 30.0),
        (date(2024, 3, 23), 1, 1, 1, 1.0, 30.0, 30.0),
        (date(2024, 4, 1), 4, 0, 0, None, None, None),
    ]


def test_stg_backups(readiness_db: duckdb.DuckDBPyConnection) -> None:
    rows = readiness_db.execute(
        "select backup_id, size_bytes, is_support_restore, is_restorable from dcs.stg_backups"
        " where instance_id = 'i-old' order by backup_id"
    ).fetchall()
    assert rows == [
        ("b-x1", 100, True, True),
        ("b-x2", None, False, False),
        ("b-x3", 800, False, False),
        ("b-x4", 800, True, False),
    ]


def test_the_clock_is_one_view(readiness_db: duckdb.DuckDBPyConnection) -> None:
    # moving the clock one hour on moves every age by 3600 s and makes r-f2 overdue
    readiness_db.execute(pin_clock_sql(SCHEMA, ts("2024-04-01 13:00:00")))
    assert readiness_db.execute(
        "select rpo_exposure_seconds from dcs.instance_readiness where instance_id = 'i-none'"
    ).fetchall() == [(25200.0,)]
    assert readiness_db.execute(
        "select elapsed_seconds, is_overdue from dcs.restores_in_progress where restore_id = 'r-f2'"
    ).fetchall() == [(5600.0, True)]
    with pytest.raises(ValueError, match="aware"):
        pin_clock_sql(SCHEMA, datetime(2024, 4, 1))


def test_unpinned_clock_is_the_current_time(db: duckdb.DuckDBPyConnection) -> None:
    before = datetime.now(UTC)
    (now_at,) = db.execute("select now_at from dcs.stg_clock").fetchone() or (None,)
    assert isinstance(now_at, datetime)
    assert before.timestamp() - 5 <= now_at.timestamp() <= datetime.now(UTC).timestamp() + 5


def test_without_a_backups_table_the_views_read_an_empty_one(
    db: duckdb.DuckDBPyConnection,
) -> None:
    # the hand-written database has no dcs.backups: nothing is created, stg_backups is empty
    tables = db.execute(
        "select table_name from information_schema.tables where table_schema = 'dcs'"
        " and table_type = 'BASE TABLE' order by table_name"
    ).fetchall()
    assert tables == [("instances",), ("restores",)]
    assert db.execute("select count(*) from dcs.stg_backups").fetchone() == (0,)
    types = dict(
        db.execute(
            "select column_name, data_type from information_schema.columns"
            " where table_schema = 'dcs' and table_name = 'stg_backups'"
        ).fetchall()
    )
    assert types["size_bytes"] == "BIGINT"
    assert types["is_restorable"] == "BOOLEAN"
    assert types["created_at"] == "TIMESTAMP WITH TIME ZONE"
    assert db.execute(
        "select count(*), count(rpo_exposure_seconds) from dcs.instance_readiness"
    ).fetchone() == (5, 0)
    # once dlt has loaded backups, rebuilding the views reads them
    db.execute(BACKUPS_DDL)
    db.execute(
        "insert into dcs.backups (backup_id, instance_id, status, size, is_support_restore,"
        " created_at) values ('b-1', 'inst-e', 'succeed', 5, true, '2024-03-01 00:00:00+00')"
    )
    apply_models_duckdb(db, SCHEMA)
    assert db.execute(
        "select instance_id, newest_restorable_backup_at from dcs.instance_readiness"
        " where newest_restorable_backup_at is not null"
    ).fetchall() == [("inst-e", ts("2024-03-01 00:00:00"))]


def test_a_backups_table_lacking_columns_reads_them_as_null(
    db: duckdb.DuckDBPyConnection,
) -> None:
    # dlt adds a column only once a value arrives: here no backup had a size or a code yet
    db.execute(
        "create table dcs.backups (backup_id text, instance_id text, status text,"
        " is_support_restore boolean, created_at timestamp with time zone)"
    )
    db.execute(
        "insert into dcs.backups values ('b-1', 'inst-a', 'succeed', true,"
        " '2024-03-01 00:00:00+00')"
    )
    apply_models_duckdb(db, SCHEMA)
    assert db.execute(
        "select backup_id, size_bytes, error_code, is_restorable from dcs.stg_backups"
    ).fetchall() == [("b-1", None, None, True)]


def test_server_values_never_give_negative_ages(readiness_db: duckdb.DuckDBPyConnection) -> None:
    # READINESS_GUARDS: a negative size, a backup created after the restore that names it, a
    # restore created ahead of the clock, one at -infinity, a size that overflows a timestamp
    for statement in READINESS_GUARDS:
        readiness_db.execute(statement)
    context = fetch(readiness_db, "restore_context", "restore_id")
    assert [row for row in context if row[2] == "i-g"][:4] == [
        ("r-g1", "p", "i-g", "succeed", "b-neg", None, None, ts("2024-03-30 00:00:00"), 3600.0, 10.0, None),
        ("r-g2", "p", "i-g", "succeed", "b-late", None, 10, ts("2024-03-31 00:00:00"), None, 10.0, 1.0),
        ("r-g3", "p", "i-g", "waiting", None, None, None, None, None, None, None),
        ("r-g4", "p", "i-g", "waiting", None, None, None, None, None, None, None),
    ]  # fmt: skip
    rows = fetch(readiness_db, "restores_in_progress", "restore_id")
    # i-g's own history is two restores: the fleet's expectation, by size where known
    by_id = {row[0]: row[5:] for row in rows if row[2] == "i-g"}
    assert by_id["r-g3"][0] == 0.0 and by_id["r-g3"][3] is False
    assert by_id["r-g4"][0] is None and by_id["r-g4"][2] is None and by_id["r-g4"][3] is None
    elapsed, expected, completion, overdue = by_id["r-g5"]
    assert (elapsed, completion, overdue) == (3600.0, None, False)
    assert expected > 3155760000
    # r-k2's 10 bytes x the p95 of seconds per byte (0.1 .. 0.5 and r-g2's 1.0 -> 0.825) is
    # 8.25 s: the fleet median duration of its 12 successes (six of 10 s, then 100 ..) wins
    assert [row[5:] for row in rows if row[0] == "r-k2"] == [
        (30.0, 55.0, ts("2024-04-01 12:00:25"), False)
    ]
    # records dated ahead of the clock: more than an hour ahead, never the newest (i-h's
    # month-old backup and week-old success stay); within the hour, the newest at age 0
    readiness = readiness_db.execute(
        "select instance_id, last_successful_restore_at, days_since_successful_restore,"
        " newest_restorable_backup_at, rpo_exposure_seconds from dcs.instance_readiness"
        " where instance_id in ('i-h', 'i-skew') order by instance_id"
    ).fetchall()
    assert readiness == [
        ("i-h", ts("2024-03-25 12:00:00"), 7.0, ts("2024-03-01 00:00:00"), 2721600.0),
        ("i-skew", ts("2024-04-01 12:20:00"), 0.0, ts("2024-04-01 12:30:00"), 0.0),
    ]
