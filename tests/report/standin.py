"""Stand-ins for the readiness views of issue 12 (same names and columns), for databases whose
models do not have them yet; where the real views exist, they are used and nothing is added."""

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

_FINISHED = "select * from dcs.stg_restores where is_finished and duration_seconds is not null"

STANDINS = {
    "restore_daily": """
        select created_day as day, count(*) as count_restores,
            count(*) filter (where is_finished) as count_finished,
            count(*) filter (where is_failed) as count_failed,
            cast(count(*) filter (where is_failed) as double)
                / nullif(count(*) filter (where is_finished), 0) as failure_rate,
            percentile_cont(0.5) within group (order by duration_seconds) as p50_duration_seconds,
            percentile_cont(0.95) within group (order by duration_seconds) as p95_duration_seconds
        from dcs.stg_restores group by created_day""",
    "restores_in_progress": f"""
        with own as (
            select instance_id,
                percentile_cont(0.95) within group (order by duration_seconds) as p95
            from ({_FINISHED}) f group by instance_id
        ),
        fleet as (
            select percentile_cont(0.95) within group (order by duration_seconds) as p95
            from ({_FINISHED}) f
        ),
        expected as (
            select r.*, coalesce(own.p95, fleet.p95) as expected_duration_seconds,
                epoch(now()) - epoch(r.created_at) as elapsed_seconds
            from dcs.stg_restores r left join own using (instance_id) cross join fleet
            where r.is_in_progress
        )
        select restore_id, project_id, instance_id, status, created_at, elapsed_seconds,
            expected_duration_seconds,
            created_at + to_seconds(cast(expected_duration_seconds as bigint))
                as expected_completion_at,
            coalesce(elapsed_seconds > expected_duration_seconds, false) as is_overdue
        from expected""",
    "instance_readiness": f"""
        with ids as (
            select project_id, instance_id from dcs.stg_instances
            union select project_id, instance_id from dcs.stg_restores
        ),
        per as (
            select instance_id, count(*) as count_restores, max(created_at) as last_restore_at,
                arg_max(status, created_at) as last_restore_status,
                max(created_at) filter (where status = 'succeed') as last_successful_restore_at,
                count(*) filter (where is_in_progress) as open_restores
            from dcs.stg_restores group by instance_id
        ),
        streak as (
            select r.instance_id, count(*) as consecutive_failed_restores
            from dcs.stg_restores r join per using (instance_id)
            where r.is_failed and (per.last_successful_restore_at is null
                or r.created_at > per.last_successful_restore_at)
            group by r.instance_id
        ),
        durations as (
            select instance_id,
                percentile_cont(0.5) within group (order by duration_seconds) as p50,
                percentile_cont(0.95) within group (order by duration_seconds) as p95
            from ({_FINISHED}) f group by instance_id
        ),
        backups as (
            select instance_id, max(created_at) as newest
            from dcs.backups where status = 'succeed' and is_support_restore
            group by instance_id
        )
        select ids.project_id, ids.instance_id, i.instance_name,
            coalesce(per.count_restores, 0) as count_restores, per.last_restore_at,
            per.last_restore_status, per.last_successful_restore_at,
            (epoch(now()) - epoch(per.last_successful_restore_at)) / 86400
                as days_since_successful_restore,
            coalesce(streak.consecutive_failed_restores, 0) as consecutive_failed_restores,
            coalesce(per.open_restores, 0) as open_restores,
            backups.newest as newest_restorable_backup_at,
            epoch(now()) - epoch(backups.newest) as rpo_exposure_seconds,
            durations.p50 as p50_duration_seconds, durations.p95 as p95_duration_seconds
        from ids left join dcs.stg_instances i using (instance_id)
        left join per using (instance_id) left join streak using (instance_id)
        left join durations using (instance_id) left join backups using (instance_id)""",
}


def create_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create schema dcs with empty restores and instances tables."""
    con.execute("create schema dcs")
    con.execute(RESTORES_DDL)
    con.execute(INSTANCES_DDL)


def add_standins(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Create the readiness views that `con` lacks in schema dcs; return their names."""
    present = {
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'dcs'"
        ).fetchall()
    }
    added = [name for name in STANDINS if name not in present]
    if added:
        con.execute(BACKUPS_DDL)
    for name in added:
        con.execute(f"create view dcs.{name} as {STANDINS[name]}")
    return added
