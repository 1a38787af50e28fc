"""Defence in depth and PostgreSQL: the views never turn an updated_at before created_at (or an
infinite one) into a negative or infinite duration, on DuckDB and PostgreSQL alike; and values
PostgreSQL text refuses (NUL) or parquet cannot encode (lone surrogates) load there too."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from dcs_restores_pipeline.runner import make_pipeline, run
from dcs_restores_pipeline.views import (
    VIEWS,
    apply_models_duckdb,
    model_files,
    pin_clock_sql,
    render_view,
)

from tests.conftest import Runner, expected_restores
from tests.hostile.conftest import Start
from tests.hostile.proxy import Answer, Exchange, json_answer, restores_page
from tests.models.conftest import INSTANCES, INSTANCES_DDL, RESTORES_DDL, SCHEMA, create_tables
from tests.models.conftest import RESTORES as HAND_RESTORES
from tests.postgres.conftest import postgres_url  # noqa: F401  (the fixture)
from tests.postgres.test_postgres import normalise
from tests.support.worlds import small_world

# restore_id, project_id, instance_id, status, error_code, progress, created_at, updated_at
GUARD_ROWS = [
    # finished 67 hours before it started: -241200 s without the guard
    ("r-x1", "proj-1", "inst-b", "succeed", None, 100.0, "2024-03-06 14:00:00+00",
     "2024-03-03 19:00:00+00"),
    # an updated_at no datetime holds, written by hand: DuckDB says NULL, PostgreSQL Infinity
    ("r-x2", "proj-1", "inst-b", "failed", None, 0.0, "2024-03-06 15:00:00+00", "infinity"),
    ("r-x3", "proj-1", "inst-b", "failed", None, 0.0, "-infinity", "2024-03-06 15:00:00+00"),
]  # fmt: skip
ROWS = [*HAND_RESTORES, *GUARD_ROWS]
# one "now" for both databases, so the ages in the readiness views compare
CLOCK = datetime(2024, 4, 1, tzinfo=UTC)
INSERT_RESTORES = (
    "insert into dcs.restores (restore_id, project_id, instance_id, status, error_code,"
    " progress, created_at, updated_at, _dlt_load_id, _dlt_id)"
    " values ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, 'load-1', {p})"
)
INSERT_INSTANCES = (
    "insert into dcs.instances (instance_id, project_id, name, engine, engine_version,"
    " status, created_at, capacity, spec_code, _dlt_load_id, _dlt_id)"
    " values ({p}, {p}, {p}, 'Redis', '6.0', 'RUNNING', '2024-01-01 00:00:00+00', 1024,"
    " 'redis.ha.xu1.large.r2.1', 'load-1', {p})"
)
NEGATIVE = (
    "select count(*) from dcs.{view} where {column} < 0 or {column} in "
    "(cast('infinity' as double precision), cast('-infinity' as double precision))"
)
DURATION_COLUMNS = {
    "stg_restores": ["duration_seconds"],
    "restore_durations": ["duration_seconds"],
    "restore_slowest": ["duration_seconds"],
    "restore_trend_weekly": ["p50_duration_seconds"],
    "restore_duration_percentiles": [
        "p50_duration_seconds",
        "p95_duration_seconds",
        "max_duration_seconds",
    ],
    "restore_instance_summary": [
        "p50_duration_seconds",
        "p95_duration_seconds",
        "max_duration_seconds",
    ],
}


def duck_with_guard_rows() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("set TimeZone = 'Asia/Tokyo'")
    create_tables(con)
    con.executemany(INSERT_RESTORES.format(p="?"), [(*row, f"dlt-{row[0]}") for row in ROWS])
    con.executemany(INSERT_INSTANCES.format(p="?"), [(*row, f"dlt-{row[0]}") for row in INSTANCES])
    apply_models_duckdb(con, SCHEMA)
    con.execute(pin_clock_sql(SCHEMA, CLOCK))
    return con


def comparable(value: Any) -> Any:
    """`normalise`, with the drivers' stand-ins for infinite times (DuckDB's are naive)."""
    if isinstance(value, date) and value.year in (1, 9999):
        return "-infinity" if value.year == 1 else "infinity"
    return normalise(value)


def view_rows(fetch: Any, view: str) -> list[tuple[Any, ...]]:
    return sorted((tuple(comparable(v) for v in row) for row in fetch(view)), key=repr)


def test_views_give_no_negative_or_infinite_durations() -> None:
    con = duck_with_guard_rows()
    durations = dict(
        con.execute(
            "select restore_id, duration_seconds from dcs.restore_durations "
            "where restore_id like 'r-x%'"
        ).fetchall()
    )
    assert durations == {"r-x1": None, "r-x2": None, "r-x3": None}
    for view, columns in DURATION_COLUMNS.items():
        for column in columns:
            sql = NEGATIVE.format(view=view, column=column)
            assert con.execute(sql).fetchone() == (0,), (view, column)
    # inst-b's figures are those of the hand-written rows alone (test_views), plus three
    # finished restores without a duration
    (figures,) = con.execute(
        "select count_finished, count_with_duration, p50_duration_seconds, "
        "p95_duration_seconds, max_duration_seconds from dcs.restore_duration_percentiles "
        "where instance_id = 'inst-b'"
    ).fetchall()
    assert tuple(normalise(v) for v in figures) == (8, 4, 67.5, 217.5, 240.0)
    slowest = con.execute("select restore_id from dcs.restore_slowest").fetchall()
    assert ("r-x1",) not in slowest and len(slowest) == 10


def test_views_on_postgres_match_duckdb_with_the_guard_rows(
    postgres_url: str,  # noqa: F811
) -> None:
    import psycopg2

    duck = duck_with_guard_rows()
    expected = {
        view: view_rows(lambda v: duck.execute(f"select * from dcs.{v}").fetchall(), view)
        for view in VIEWS
    }
    con = psycopg2.connect(postgres_url)
    try:
        with con, con.cursor() as cur:
            cur.execute("set time zone 'Asia/Tokyo'")
            cur.execute(f"create schema {SCHEMA}")
            cur.execute(RESTORES_DDL.replace("progress double", "progress double precision"))
            cur.execute(INSTANCES_DDL)
            cur.executemany(
                INSERT_RESTORES.format(p="%s"), [(*row, f"dlt-{row[0]}") for row in ROWS]
            )
            cur.executemany(
                INSERT_INSTANCES.format(p="%s"), [(*row, f"dlt-{row[0]}") for row in INSTANCES]
            )
            for path in model_files():
                cur.execute(render_view(path, SCHEMA))
            cur.execute(pin_clock_sql(SCHEMA, CLOCK))

            def fetch(view: str) -> list[tuple[Any, ...]]:
                cur.execute(f"select * from {SCHEMA}.{view}")
                return list(cur.fetchall())

            for view in VIEWS:
                assert view_rows(fetch, view) == expected[view], view
            for view, columns in DURATION_COLUMNS.items():
                for column in columns:
                    cur.execute(NEGATIVE.format(view=view, column=column))
                    assert cur.fetchone() == (0,), (view, column)
    finally:
        con.close()


def test_nul_and_surrogates_load_into_postgres(
    runner: Runner,
    hostile: Start,
    tmp_path: Path,
    postgres_url: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = small_world(seed=9, instances=3, restores=10)
    sim, server = hostile(world)
    truth = expected_restores(world, sim.now)
    first, second = truth[0]["restore_id"], truth[1]["restore_id"]
    damage = {
        first: {"restore_remark": "nul\x00here", "backup_name": "lone \ud800"},
        second: {"new_text": "x\x00\udfff", "blob": {"k\x00": ["\ud83d"]}, "progress": "NaN"},
    }

    def rewrite(exchange: Exchange) -> Answer | None:
        if exchange.kind != "restores":
            return None
        page = restores_page(exchange)
        for item in page.get("restore_record_response") or []:
            item.update(damage.get(item["restore_id"], {}))
        return json_answer(page)

    server.hook = rewrite
    monkeypatch.setenv("DESTINATION_TYPE", "postgres")
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", postgres_url)
    started = time.monotonic()
    settings = runner.settings(sim, endpoint=server.base_url)
    summary = run(settings, pipelines_dir=runner.pipelines_dir)
    assert time.monotonic() - started < 60
    assert summary.errors == [] and summary.rejected == 0
    pipeline = make_pipeline(None, runner.pipelines_dir, destination_kind="postgres")
    with pipeline.sql_client() as client:
        table = client.make_qualified_table_name("restores")
        with client.execute_query(
            f"select restore_id, restore_remark, backup_name, new_text, blob, progress, "
            f"invalid_fields from {table} where restore_id in (%s, %s)",
            first,
            second,
        ) as cursor:
            rows = {row[0]: row[1:] for row in cursor.fetchall()}
        with client.execute_query(f"select count(*) from {table}") as cursor:
            assert cursor.fetchone()[0] == len(truth)
    remark, name, _, _, _, flags = rows[first]
    assert remark == "nul\ufffdhere" and name == "lone \ufffd"
    assert "restore_remark: 1 characters" in flags and "backup_name: 1 characters" in flags
    _, _, text, blob, progress, flags = rows[second]
    assert text == "x\ufffd\ufffd" and progress is None
    assert blob == {"k\ufffd": ["\ufffd"]}
    assert "new_text: 2 characters" in flags and "blob: 2 values inside" in flags
