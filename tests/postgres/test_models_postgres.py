"""The hand-written model fixtures on PostgreSQL: every view equals DuckDB's, row for row."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
from dcs_restores_pipeline.views import (
    VIEWS,
    apply_models_duckdb,
    model_files,
    pin_clock_sql,
    render_view,
)

from tests.models.conftest import (
    INSTANCES,
    INSTANCES_DDL,
    RESTORES,
    RESTORES_DDL,
    SCHEMA,
    create_tables,
    insert_rows,
)
from tests.postgres.test_postgres import normalise

# one "now" for both databases, so the ages in the readiness views compare
CLOCK = datetime(2024, 4, 1, tzinfo=UTC)


def _postgres_views(url: str) -> dict[str, list[tuple[object, ...]]]:
    import psycopg2

    con = psycopg2.connect(url)
    try:
        with con, con.cursor() as cur:
            # a session zone far from UTC, so UTC days and weeks are really tested
            cur.execute("set time zone 'Asia/Tokyo'")
            cur.execute(f"create schema {SCHEMA}")
            cur.execute(RESTORES_DDL.replace("progress double", "progress double precision"))
            cur.execute(INSTANCES_DDL)
            cur.executemany(
                "insert into dcs.restores (restore_id, project_id, instance_id, status, error_code,"
                " progress, created_at, updated_at, _dlt_load_id, _dlt_id)"
                " values (%s, %s, %s, %s, %s, %s, %s, %s, 'load-1', %s)",
                [(*row, f"dlt-{row[0]}") for row in RESTORES],
            )
            cur.executemany(
                "insert into dcs.instances (instance_id, project_id, name, engine,"
                " engine_version, status, created_at, capacity, spec_code, _dlt_load_id, _dlt_id)"
                " values (%s, %s, %s, 'Redis', '6.0', 'RUNNING', '2024-01-01 00:00:00+00', 1024,"
                " 'redis.ha.xu1.large.r2.1', 'load-1', %s)",
                [(*row, f"dlt-{row[0]}") for row in INSTANCES],
            )
            for path in model_files():
                cur.execute(render_view(path, SCHEMA))
            cur.execute(pin_clock_sql(SCHEMA, CLOCK))
            result = {}
            for view in VIEWS:
                cur.execute(f"select * from {SCHEMA}.{view}")
                result[view] = sorted(
                    (tuple(normalise(v) for v in row) for row in cur.fetchall()), key=repr
                )
            return result
    finally:
        con.close()


def test_hand_written_rows_give_the_same_views(postgres_url: str) -> None:
    duck = duckdb.connect()
    create_tables(duck)
    insert_rows(duck)
    apply_models_duckdb(duck, SCHEMA)
    duck.execute(pin_clock_sql(SCHEMA, CLOCK))
    expected = {
        view: sorted(
            (
                tuple(normalise(v) for v in row)
                for row in duck.execute(f"select * from dcs.{view}").fetchall()
            ),
            key=repr,
        )
        for view in VIEWS
    }
    got = _postgres_views(postgres_url)
    assert all(expected[view] for view in ("restore_durations", "restore_failure_rates"))
    for view in VIEWS:
        assert got[view] == expected[view], view
