"""Hand-written restores and instances in DuckDB, for the model, report and notebook tests."""

# the rows below are tables, one row per line, so long lines are allowed in this file
# ruff: noqa: E501

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from dcs_restores_pipeline.views import apply_models_duckdb, pin_clock_sql

SCHEMA = "dcs"

# the column types the pipeline produces (see the lead's dlt schema)
RESTORES_DDL = """
create table dcs.restores (
    restore_id text not null,
    project_id text,
    instance_id text,
    backup_id text,
    backup_name text,
    restore_name text,
    restore_remark text,
    backup_remark text,
    status text,
    error_code text,
    progress double,
    created_at timestamp with time zone,
    updated_at timestamp with time zone,
    _dlt_load_id text,
    _dlt_id text
)
"""

INSTANCES_DDL = """
create table dcs.instances (
    instance_id text not null,
    project_id text,
    name text,
    engine text,
    engine_version text,
    status text,
    created_at timestamp with time zone,
    capacity bigint,
    spec_code text,
    _dlt_load_id text,
    _dlt_id text
)
"""

# restore_id, project_id, instance_id, status, error_code, progress, created_at, updated_at
RESTORES = [
    ("r-a1", "proj-1", "inst-a", "succeed", None, 100.0, "2024-03-04 10:00:00+00", "2024-03-04 10:02:00+00"),
    ("r-a2", "proj-1", "inst-a", "failed", "dcs.08.0002", 30.0, "2024-03-04 12:00:00+00", "2024-03-04 12:30:00+00"),
    # 22:30 UTC on 4 March, already 5 March in the creator's zone and in Asia/Tokyo
    ("r-a3", "proj-1", "inst-a", "succeed", None, 100.0, "2024-03-05 00:30:00+02", "2024-03-04 22:31:00.5+00"),
    ("r-a4", "proj-1", "inst-a", "failed", "dcs.08.0007", 80.0, "2024-03-11 09:00:00+00", "2024-03-11 09:10:00+00"),
    ("r-a5", "proj-1", "inst-a", "restoring", None, 40.0, "2024-03-11 10:00:00+00", "2024-03-11 10:05:00+00"),
    ("r-b1", "proj-1", "inst-b", "failed", None, 10.0, "2024-03-05 08:00:00+00", "2024-03-05 08:01:30+00"),
    ("r-b2", "proj-1", "inst-b", "succeed", None, 100.0, "2024-03-05 09:00:00+00", "2024-03-05 09:04:00+00"),
    ("r-b3", "proj-1", "inst-b", "failed", "dcs.08.9999", 0.0, "2024-03-06 10:00:00+00", "2024-03-06 10:00:45+00"),
    ("r-b4", "proj-1", "inst-b", "cancelled", None, 0.0, "2024-03-06 11:00:00+00", "2024-03-06 11:01:00+00"),
    ("r-b5", "proj-1", "inst-b", "failed", None, None, "2024-03-06 12:00:00+00", None),
    ("r-b6", "proj-1", "inst-b", "succeed", None, 100.0, "2024-03-06 13:00:00+00", "2024-03-06 13:00:20+00"),
    # 7 March: only restores that have not finished
    ("r-c1", "proj-2", "inst-c", "waiting", None, 0.0, "2024-03-07 08:00:00+00", None),
    ("r-c2", "proj-2", "inst-c", "restoring", None, 50.0, "2024-03-07 09:00:00+00", "2024-03-07 09:01:00+00"),
    # inst-d is not in the instances table
    ("r-d1", "proj-2", "inst-d", "succeed", None, 100.0, "2024-03-12 06:00:00+00", "2024-03-12 06:00:30+00"),
    ("r-d2", "proj-2", "inst-d", "failed", "dcs.08.0002", 60.0, "2024-03-12 07:00:00+00", "2024-03-12 07:20:00+00"),
    ("r-d3", "proj-2", "inst-d", "failed", "", 20.0, "2024-03-12 08:00:00+00", "2024-03-12 08:05:00+00"),
]  # fmt: skip

# instance_id, project_id, name; inst-e has no restores
INSTANCES = [
    ("inst-a", "proj-1", "cache-prod"),
    ("inst-b", "proj-1", "cache-stage"),
    ("inst-c", "proj-2", "sessions"),
    ("inst-e", "proj-2", "idle-cache"),
]


def create_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create schema dcs with empty restores and instances tables."""
    con.execute(f"create schema {SCHEMA}")
    con.execute(RESTORES_DDL)
    con.execute(INSTANCES_DDL)


def insert_rows(con: duckdb.DuckDBPyConnection) -> None:
    """Insert the hand-written RESTORES and INSTANCES."""
    con.executemany(
        "insert into dcs.restores (restore_id, project_id, instance_id, status, error_code,"
        " progress, created_at, updated_at, _dlt_load_id, _dlt_id)"
        " values (?, ?, ?, ?, ?, ?, ?, ?, 'load-1', ?)",
        [(*row, f"dlt-{row[0]}") for row in RESTORES],
    )
    con.executemany(
        "insert into dcs.instances (instance_id, project_id, name, engine, engine_version,"
        " status, created_at, capacity, spec_code, _dlt_load_id, _dlt_id)"
        " values (?, ?, ?, 'Redis', '6.0', 'RUNNING', '2024-01-01 00:00:00+00', 1024,"
        " 'redis.ha.xu1.large.r2.1', 'load-1', ?)",
        [(*row, f"dlt-{row[0]}") for row in INSTANCES],
    )


@pytest.fixture
def empty_db() -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory database with the tables and views but no rows."""
    con = duckdb.connect()
    # a session zone far from UTC catches views that use local instead of UTC days
    con.execute("set TimeZone = 'Asia/Tokyo'")
    create_tables(con)
    apply_models_duckdb(con, SCHEMA)
    yield con
    con.close()


@pytest.fixture
def db(empty_db: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """An in-memory database with the hand-written rows and the views."""
    insert_rows(empty_db)
    return empty_db


@pytest.fixture(scope="session")
def hand_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DuckDB file with the hand-written rows and the views, closed after writing."""
    path = tmp_path_factory.mktemp("hand") / "dcs_restores.duckdb"
    with duckdb.connect(str(path)) as con:
        create_tables(con)
        insert_rows(con)
        apply_models_duckdb(con, SCHEMA)
    return path


@pytest.fixture(scope="session")
def report_database(demo_database: Path) -> Path:
    """The database the report and notebook tests read: one built by the real demo."""
    return demo_database


# --- the readiness cases: backups beside restores, the clock pinned at READINESS_NOW ----------

READINESS_NOW = "2024-04-01 12:00:00+00"

# the columns of the loaded table (the backups contract), with dlt's own
BACKUPS_DDL = """
create table dcs.backups (
    backup_id text not null,
    project_id text,
    instance_id text,
    endpoint text,
    backup_name text,
    period text,
    size bigint,
    backup_type text,
    backup_format text,
    status text,
    progress double,
    error_code text,
    remark text,
    is_support_restore boolean,
    created_at timestamp with time zone,
    updated_at timestamp with time zone,
    execution_at timestamp with time zone,
    invalid_fields text,
    _dlt_load_id text,
    _dlt_id text
)
"""

# instance_id, project_id, name; i-unlisted restores but is not listed
READINESS_INSTANCES = [
    ("i-own", "proj-1", "own-history"),
    ("i-fleet", "proj-1", "fleet-sized"),
    ("i-streak", "proj-1", "streak"),
    ("i-nosize", "proj-2", "no-size"),
    ("i-none", "proj-2", "never"),
    ("i-old", "proj-2", "old-backups"),
]

# backup_id, project_id, instance_id, backup_type, status, size, is_support_restore, created_at
READINESS_BACKUPS = [
    ("b-o1", "proj-1", "i-own", "auto", "succeed", 1000, True, "2024-03-20 00:00:00+00"),
    ("b-o2", "proj-1", "i-own", "auto", "succeed", 1000, True, "2024-03-20 00:00:00+00"),
    ("b-o3", "proj-1", "i-own", "auto", "succeed", 1000, True, "2024-03-20 00:00:00+00"),
    ("b-o4", "proj-1", "i-own", "manual", "succeed", 1000, True, "2024-03-20 00:00:00+00"),
    ("b-o5", "proj-1", "i-own", "auto", "succeed", 1000, True, "2024-04-01 00:00:00+00"),
    ("b-f1", "proj-1", "i-fleet", "manual", "succeed", 2000, True, "2024-03-20 13:00:00+00"),
    ("b-f2", "proj-1", "i-fleet", "auto", "succeed", 10000, True, "2024-04-01 11:00:00+00"),
    ("b-s", "proj-1", "i-streak", "auto", "succeed", 4000, True, "2024-03-19 00:00:00+00"),
    ("b-n1", "proj-2", "i-none", "auto", "succeed", 500, True, "2024-04-01 06:00:00+00"),
    # i-old: the one restorable backup is old; newer ones failed, cannot restore or expired
    ("b-x1", "proj-2", "i-old", "auto", "succeed", 100, True, "2024-02-01 12:00:00+00"),
    ("b-x2", "proj-2", "i-old", "auto", "failed", None, False, "2024-03-31 00:00:00+00"),
    ("b-x3", "proj-2", "i-old", "auto", "succeed", 800, False, "2024-03-31 01:00:00+00"),
    ("b-x4", "proj-2", "i-old", "manual", "expired", 800, True, "2024-03-01 00:00:00+00"),
]  # fmt: skip

# restore_id, project_id, instance_id, backup_id, status, created_at, updated_at
READINESS_RESTORES = [
    # i-own: four successes (100..400 s), then one restore running long and one just started
    ("r-o1", "proj-1", "i-own", "b-o1", "succeed", "2024-03-20 10:00:00+00", "2024-03-20 10:01:40+00"),
    ("r-o2", "proj-1", "i-own", "b-o2", "succeed", "2024-03-20 11:00:00+00", "2024-03-20 11:03:20+00"),
    ("r-o3", "proj-1", "i-own", "b-o3", "succeed", "2024-03-20 12:00:00+00", "2024-03-20 12:05:00+00"),
    ("r-o4", "proj-1", "i-own", "b-o4", "succeed", "2024-03-20 13:00:00+00", "2024-03-20 13:06:40+00"),
    ("r-o5", "proj-1", "i-own", "b-o5", "restoring", "2024-04-01 11:43:20+00", "2024-04-01 11:50:00+00"),
    ("r-o6", "proj-1", "i-own", "b-o5", "waiting", "2024-04-01 11:58:20+00", None),
    # i-fleet: one success, too few for its own expectation; the running one has a sized backup
    ("r-f1", "proj-1", "i-fleet", "b-f1", "succeed", "2024-03-20 14:00:00+00", "2024-03-20 14:08:20+00"),
    ("r-f2", "proj-1", "i-fleet", "b-f2", "restoring", "2024-04-01 11:26:40+00", None),
    # i-streak: a failure, a success, then three failures
    ("r-s0", "proj-1", "i-streak", "b-s", "failed", "2024-03-20 08:00:00+00", "2024-03-20 08:01:00+00"),
    ("r-s1", "proj-1", "i-streak", "b-s", "succeed", "2024-03-20 09:00:00+00", "2024-03-20 09:33:20+00"),
    ("r-s2", "proj-1", "i-streak", "b-s", "failed", "2024-03-21 09:00:00+00", "2024-03-21 09:00:30+00"),
    ("r-s3", "proj-1", "i-streak", "b-s", "failed", "2024-03-22 09:00:00+00", "2024-03-22 09:00:30+00"),
    ("r-s4", "proj-1", "i-streak", "b-s", "failed", "2024-03-23 09:00:00+00", "2024-03-23 09:00:30+00"),
    # i-nosize: running, and its backup is not among the backups
    ("r-n1", "proj-2", "i-nosize", "b-missing", "restoring", "2024-04-01 10:00:00+00", None),
    ("r-x1", "proj-2", "i-old", "b-x1", "succeed", "2024-02-02 12:00:00+00", "2024-02-02 12:00:10+00"),
    ("r-u1", "proj-1", "i-unlisted", None, "cancelled", "2024-03-20 15:00:00+00", "2024-03-20 15:01:00+00"),
]  # fmt: skip

INSERT_READINESS = (
    (
        "insert into dcs.restores (restore_id, project_id, instance_id, backup_id, status,"
        " created_at, updated_at, _dlt_load_id, _dlt_id)"
        " values ({p}, {p}, {p}, {p}, {p}, {p}, {p}, 'load-1', {p})",
        [(*row, f"dlt-{row[0]}") for row in READINESS_RESTORES],
    ),
    (
        "insert into dcs.instances (instance_id, project_id, name, _dlt_load_id, _dlt_id)"
        " values ({p}, {p}, {p}, 'load-1', {p})",
        [(*row, f"dlt-{row[0]}") for row in READINESS_INSTANCES],
    ),
    (
        "insert into dcs.backups (backup_id, project_id, instance_id, backup_type, status, size,"
        " is_support_restore, created_at, backup_format, _dlt_load_id, _dlt_id)"
        " values ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, 'rdb', 'load-1', {p})",
        [(*row, f"dlt-{row[0]}") for row in READINESS_BACKUPS],
    ),
)


# values a server controls that must never give a negative, infinite or overflowing age
READINESS_GUARDS = [
    (
        "insert into dcs.backups (backup_id, instance_id, status, size, is_support_restore,"
        " created_at) values ('b-neg', 'i-g', 'succeed', -5, true, '2024-03-30 00:00:00+00'),"
        " ('b-late', 'i-g', 'succeed', 10, true, '2024-03-31 00:00:00+00'),"
        " ('b-huge', 'i-g', 'succeed', 9223372036854775807, true, '2024-03-01 00:00:00+00'),"
        # i-h: its real newest backup is a month old; one dated two months ahead is not the
        # newest, one 30 minutes ahead (clock skew) is, at an age of 0
        " ('b-h-old', 'i-h', 'succeed', 10, true, '2024-03-01 00:00:00+00'),"
        " ('b-h-ahead', 'i-h', 'succeed', 10, true, '2024-06-01 00:00:00+00'),"
        " ('b-s-skew', 'i-skew', 'succeed', 10, true, '2024-04-01 12:30:00+00')"
    ),
    (
        "insert into dcs.restores (restore_id, project_id, instance_id, backup_id, status,"
        " created_at, updated_at) values"
        " ('r-g1', 'p', 'i-g', 'b-neg', 'succeed', '2024-03-30 01:00:00+00',"
        "  '2024-03-30 01:00:10+00'),"
        " ('r-g2', 'p', 'i-g', 'b-late', 'succeed', '2024-03-30 02:00:00+00',"
        "  '2024-03-30 02:00:10+00'),"
        " ('r-g3', 'p', 'i-g', null, 'waiting', '2024-04-01 13:00:00+00', null),"
        " ('r-g4', 'p', 'i-g', null, 'waiting', '-infinity', null),"
        " ('r-g5', 'p', 'i-g', 'b-huge', 'restoring', '2024-04-01 11:00:00+00', null),"
        # i-h last restored successfully 7 days ago; a success dated a month ahead is not it
        " ('r-h1', 'p', 'i-h', null, 'succeed', '2024-03-25 12:00:00+00',"
        "  '2024-03-25 12:00:10+00'),"
        " ('r-h2', 'p', 'i-h', null, 'succeed', '2024-05-01 00:00:00+00',"
        "  '2024-05-01 00:00:10+00'),"
        " ('r-k1', 'p', 'i-skew', null, 'succeed', '2024-04-01 12:20:00+00',"
        "  '2024-04-01 12:20:10+00'),"
        # r-k2, a 10-byte backup: by seconds per byte a few seconds, by the fleet median far more
        " ('r-k2', 'p', 'i-skew', 'b-s-skew', 'restoring', '2024-04-01 11:59:30+00', null)"
    ),
]


def create_readiness(con: duckdb.DuckDBPyConnection) -> None:
    """Schema dcs with the readiness rows, the views, and the clock pinned at READINESS_NOW."""
    create_tables(con)
    con.execute(BACKUPS_DDL)
    for sql, rows in INSERT_READINESS:
        con.executemany(sql.format(p="?"), rows)
    apply_models_duckdb(con, SCHEMA)
    con.execute(pin_clock_sql(SCHEMA, readiness_now()))


def readiness_now() -> datetime:
    return datetime.fromisoformat(READINESS_NOW)


@pytest.fixture
def readiness_db() -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory database with the readiness rows; session zone far from UTC."""
    con = duckdb.connect()
    con.execute("set TimeZone = 'America/Los_Angeles'")
    create_readiness(con)
    yield con
    con.close()


@pytest.fixture
def readiness_database(tmp_path: Path) -> Path:
    """A DuckDB file with the readiness rows and the pinned clock, closed after writing."""
    path = tmp_path / "readiness.duckdb"
    with duckdb.connect(str(path)) as con:
        create_readiness(con)
    return path
