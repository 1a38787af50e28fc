"""Hand-written restores and instances in DuckDB, for the model, report and notebook tests."""

# the rows below are tables, one row per line, so long lines are allowed in this file
# ruff: noqa: E501

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from dcs_restores_pipeline.views import apply_models_duckdb

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
