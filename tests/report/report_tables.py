"""The tables the pipeline loads, as DuckDB DDL, for worlds written by hand."""

from __future__ import annotations

import duckdb

# the column types the pipeline produces
RESTORES_DDL = """
create table dcs.restores (
    restore_id text not null, project_id text, instance_id text, backup_id text,
    backup_name text, restore_name text, restore_remark text, backup_remark text,
    status text, error_code text, progress double,
    created_at timestamp with time zone, updated_at timestamp with time zone,
    _dlt_load_id text, _dlt_id text
)
"""
INSTANCES_DDL = """
create table dcs.instances (
    instance_id text not null, project_id text, name text, engine text, engine_version text,
    status text, created_at timestamp with time zone, capacity bigint, spec_code text,
    _dlt_load_id text, _dlt_id text
)
"""
BACKUPS_DDL = """
create table if not exists dcs.backups (
    project_id text, instance_id text, endpoint text, backup_id text not null,
    backup_name text, period text, size bigint, backup_type text, backup_format text,
    status text, progress double, error_code text, remark text, is_support_restore boolean,
    created_at timestamp with time zone, updated_at timestamp with time zone,
    execution_at timestamp with time zone, invalid_fields text,
    _dlt_load_id text, _dlt_id text
)
"""


def create_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create schema dcs with empty restores and instances tables."""
    con.execute("create schema dcs")
    con.execute(RESTORES_DDL)
    con.execute(INSTANCES_DDL)
