"""The readiness views on PostgreSQL: the readiness cases give DuckDB's rows, and a database
without backups reads an empty stand-in there too."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest
from dcs_restores_pipeline.check import check
from dcs_restores_pipeline.config import DATASET_NAME
from dcs_restores_pipeline.views import VIEWS, columns_query, pin_clock_sql, render_views

from tests.models.conftest import (
    BACKUPS_DDL,
    INSERT_READINESS,
    INSTANCES_DDL,
    READINESS_GUARDS,
    RESTORES_DDL,
    SCHEMA,
    create_readiness,
    readiness_now,
)
from tests.postgres.test_postgres import normalise

READINESS_VIEWS = ("restore_context", "restores_in_progress", "instance_readiness", "restore_daily")


def _value(value: Any) -> Any:
    # the drivers' stand-ins for infinite times (DuckDB's are naive)
    if isinstance(value, date) and value.year in (1, 9999):
        return "-infinity" if value.year == 1 else "infinity"
    return normalise(value)


def _rows(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return sorted((tuple(_value(v) for v in row) for row in rows), key=repr)


def _apply(cur: Any) -> list[str]:
    sql, params = columns_query(SCHEMA, "%s")
    cur.execute(sql, params)
    statements = render_views(SCHEMA, cur.fetchall())
    for _, statement in statements:
        cur.execute(statement)
    return [name for name, _ in statements]


def _create(cur: Any, *, backups: bool) -> None:
    # a session zone far from UTC, so UTC days are really tested
    cur.execute("set time zone 'America/Los_Angeles'")
    cur.execute(f"create schema {SCHEMA}")
    cur.execute(RESTORES_DDL.replace("progress double", "progress double precision"))
    cur.execute(INSTANCES_DDL)
    if backups:
        cur.execute(BACKUPS_DDL.replace("progress double", "progress double precision"))


@pytest.mark.parametrize("guards", [False, True], ids=["cases", "with-guard-rows"])
def test_readiness_views_equal_duckdb(postgres_url: str, guards: bool) -> None:
    import psycopg2

    extra = READINESS_GUARDS if guards else []
    duck = duckdb.connect()
    create_readiness(duck)
    for statement in extra:
        duck.execute(statement)
    expected = {v: _rows(duck.execute(f"select * from dcs.{v}").fetchall()) for v in VIEWS}
    # the cases are there to compare: an overdue restore, a streak of 3, an old backup
    assert ("r-n1", True) in {(r[0], r[-1]) for r in expected["restores_in_progress"]}
    con = psycopg2.connect(postgres_url)
    try:
        with con, con.cursor() as cur:
            _create(cur, backups=True)
            for sql, rows in INSERT_READINESS:
                cur.executemany(sql.format(p="%s"), rows)
            for statement in extra:
                cur.execute(statement)
            assert _apply(cur) == list(VIEWS)
            # the clock replaced under the views that read it
            cur.execute(pin_clock_sql(SCHEMA, readiness_now()))
            for view in VIEWS:
                cur.execute(f"select * from {SCHEMA}.{view}")
                assert _rows(cur.fetchall()) == expected[view], view
            cur.execute(
                "select instance_id, consecutive_failed_restores, rpo_exposure_seconds"
                " from dcs.instance_readiness where instance_id in ('i-streak', 'i-old')"
                " order by instance_id"
            )
            assert cur.fetchall() == [("i-old", 0, 5184000.0), ("i-streak", 3, 1166400.0)]
    finally:
        con.close()


def test_check_reads_the_readiness_views_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    import dlt
    import psycopg2

    con = psycopg2.connect(postgres_url)
    try:
        with con, con.cursor() as cur:
            _create(cur, backups=True)
            for sql, rows in INSERT_READINESS:
                cur.executemany(sql.format(p="%s"), rows)
            _apply(cur)
            cur.execute(pin_clock_sql(SCHEMA, readiness_now()))
    finally:
        con.close()
    pipeline = dlt.pipeline(
        "readiness_check",
        pipelines_dir=str(tmp_path / "pipelines"),
        destination=dlt.destinations.postgres(postgres_url),
        dataset_name=DATASET_NAME,
    )
    thresholds: dict[str, Any] = {
        # the whole history: PostgreSQL once refused the failure-rate query's constant group
        "since_days": 36500,
        "max_days_since_restore": 12,
        "max_rpo_hours": 24,
        "max_overdue": 0,
        "max_consecutive_failures": 2,
    }
    on_postgres = check(pipeline, max_failure_rate=None, max_p95_seconds=None, **thresholds)
    duck_file = tmp_path / "readiness.duckdb"
    with duckdb.connect(str(duck_file)) as duck:
        create_readiness(duck)
    on_duckdb = check(duck_file, max_failure_rate=None, max_p95_seconds=None, **thresholds)
    assert len(on_postgres.breaches) == 12
    assert "proj-1 streak (i-streak): 3 consecutive failed restores > 2" in on_postgres.breaches
    # the overdue restores are named from PostgreSQL's rows as from DuckDB's
    assert any("restore r-o5 restoring" in line for line in on_postgres.breaches)
    assert on_postgres.breaches == on_duckdb.breaches
    assert on_postgres.readiness == on_duckdb.readiness
    assert [(m.scope, m.finished, m.failed) for m in on_postgres.measures] == [
        ("all instances", 11, 4)
    ]
    assert on_postgres.measures == on_duckdb.measures


def test_without_backups_table_on_postgres(postgres_url: str) -> None:
    import psycopg2

    con = psycopg2.connect(postgres_url)
    try:
        with con, con.cursor() as cur:
            _create(cur, backups=False)
            for sql, rows in INSERT_READINESS[:2]:
                cur.executemany(sql.format(p="%s"), rows)
            _apply(cur)
            cur.execute(
                "select table_name from information_schema.tables"
                " where table_schema = 'dcs' and table_type = 'BASE TABLE' order by 1"
            )
            assert cur.fetchall() == [("instances",), ("restores",)]
            cur.execute("select count(*) from dcs.stg_backups")
            assert cur.fetchone() == (0,)
            cur.execute(
                "select count(*), count(rpo_exposure_seconds), count(backup_size_bytes)"
                " from dcs.instance_readiness"
                " join dcs.restore_context using (instance_id)"
            )
            assert cur.fetchone() == (16, 0, 0)
    finally:
        con.close()
