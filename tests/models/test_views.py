"""Given the hand-written rows in conftest, each view returns exactly the rows written below."""

# expected rows are tables, one row per line, so long lines are allowed in this file
# ruff: noqa: E501

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pytest
from dcs_restores_pipeline.views import MODELS_DIR, VIEWS, apply_models, model_files, render_view


def ts(text: str) -> datetime:
    """Return a UTC timestamp written as `yyyy-mm-dd hh:mm:ss[.f]`."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def fetch(con: duckdb.DuckDBPyConnection, view: str, order_by: str) -> list[tuple[Any, ...]]:
    """Return all rows of `dcs.<view>`, with doubles rounded to 6 places."""
    rows = con.execute(f"select * from dcs.{view} order by {order_by}").fetchall()
    return [tuple(round(v, 6) if isinstance(v, float) else v for v in row) for row in rows]


def columns(con: duckdb.DuckDBPyConnection, view: str) -> list[str]:
    """Return the column names of `dcs.<view>` in order."""
    return [d[0] for d in con.execute(f"select * from dcs.{view} limit 0").description]


def test_restore_durations(db: duckdb.DuckDBPyConnection) -> None:
    assert columns(db, "restore_durations") == [
        "restore_id", "project_id", "instance_id", "status", "created_at", "updated_at",
        "duration_seconds",
    ]  # fmt: skip
    # r-a5, r-c1, r-c2 are in progress and r-b4 has an unknown status: none of them finished
    assert fetch(db, "restore_durations", "restore_id") == [
        ("r-a1", "proj-1", "inst-a", "succeed", ts("2024-03-04 10:00:00"), ts("2024-03-04 10:02:00"), 120.0),
        ("r-a2", "proj-1", "inst-a", "failed", ts("2024-03-04 12:00:00"), ts("2024-03-04 12:30:00"), 1800.0),
        ("r-a3", "proj-1", "inst-a", "succeed", ts("2024-03-04 22:30:00"), ts("2024-03-04 22:31:00.5"), 60.5),
        ("r-a4", "proj-1", "inst-a", "failed", ts("2024-03-11 09:00:00"), ts("2024-03-11 09:10:00"), 600.0),
        ("r-b1", "proj-1", "inst-b", "failed", ts("2024-03-05 08:00:00"), ts("2024-03-05 08:01:30"), 90.0),
        ("r-b2", "proj-1", "inst-b", "succeed", ts("2024-03-05 09:00:00"), ts("2024-03-05 09:04:00"), 240.0),
        ("r-b3", "proj-1", "inst-b", "failed", ts("2024-03-06 10:00:00"), ts("2024-03-06 10:00:45"), 45.0),
        ("r-b5", "proj-1", "inst-b", "failed", ts("2024-03-06 12:00:00"), None, None),
        ("r-b6", "proj-1", "inst-b", "succeed", ts("2024-03-06 13:00:00"), ts("2024-03-06 13:00:20"), 20.0),
        ("r-d1", "proj-2", "inst-d", "succeed", ts("2024-03-12 06:00:00"), ts("2024-03-12 06:00:30"), 30.0),
        ("r-d2", "proj-2", "inst-d", "failed", ts("2024-03-12 07:00:00"), ts("2024-03-12 07:20:00"), 1200.0),
        ("r-d3", "proj-2", "inst-d", "failed", ts("2024-03-12 08:00:00"), ts("2024-03-12 08:05:00"), 300.0),
    ]  # fmt: skip


def test_restore_failure_rates(db: duckdb.DuckDBPyConnection) -> None:
    assert columns(db, "restore_failure_rates") == [
        "project_id", "instance_id", "day", "finished", "failed", "failure_rate",
    ]  # fmt: skip
    # r-a3 was created at 00:30+02 on 5 March, which is 4 March in UTC;
    # inst-c has only waiting/restoring restores on 7 March, so no row
    assert fetch(db, "restore_failure_rates", "instance_id, day") == [
        ("proj-1", "inst-a", date(2024, 3, 4), 3, 1, 0.333333),
        ("proj-1", "inst-a", date(2024, 3, 11), 1, 1, 1.0),
        ("proj-1", "inst-b", date(2024, 3, 5), 2, 1, 0.5),
        ("proj-1", "inst-b", date(2024, 3, 6), 3, 2, 0.666667),
        ("proj-2", "inst-d", date(2024, 3, 12), 3, 2, 0.666667),
    ]


def test_restore_failures_by_error_code(db: duckdb.DuckDBPyConnection) -> None:
    # r-b1 and r-b5 have no code, r-d3 an empty one: all three count as a null code
    assert fetch(db, "restore_failures_by_error_code", "error_code nulls last") == [
        ("dcs.08.0002", "Execution timed out.", True, 2, 2, 0.285714, ts("2024-03-12 07:00:00")),
        ("dcs.08.0007", "Failed to synchronize data during restoration.", True, 1, 1, 0.142857,
         ts("2024-03-11 09:00:00")),
        ("dcs.08.9999", None, False, 1, 1, 0.142857, ts("2024-03-06 10:00:00")),
        (None, None, False, 3, 2, 0.428571, ts("2024-03-12 08:00:00")),
    ]  # fmt: skip
    assert columns(db, "restore_failures_by_error_code") == [
        "error_code", "meaning", "is_documented_code", "count_failures", "count_instances",
        "share_of_failures", "last_failure_at",
    ]  # fmt: skip


def test_restore_failures(db: duckdb.DuckDBPyConnection) -> None:
    timed_out = "Execution timed out."
    sync = "Failed to synchronize data during restoration."
    assert fetch(db, "restore_failures", "restore_id") == [
        ("r-a2", "proj-1", "inst-a", "dcs.08.0002", timed_out, True, ts("2024-03-04 12:00:00"), ts("2024-03-04 12:30:00")),
        ("r-a4", "proj-1", "inst-a", "dcs.08.0007", sync, True, ts("2024-03-11 09:00:00"), ts("2024-03-11 09:10:00")),
        ("r-b1", "proj-1", "inst-b", None, None, False, ts("2024-03-05 08:00:00"), ts("2024-03-05 08:01:30")),
        ("r-b3", "proj-1", "inst-b", "dcs.08.9999", None, False, ts("2024-03-06 10:00:00"), ts("2024-03-06 10:00:45")),
        ("r-b5", "proj-1", "inst-b", None, None, False, ts("2024-03-06 12:00:00"), None),
        ("r-d2", "proj-2", "inst-d", "dcs.08.0002", timed_out, True, ts("2024-03-12 07:00:00"), ts("2024-03-12 07:20:00")),
        ("r-d3", "proj-2", "inst-d", None, None, False, ts("2024-03-12 08:00:00"), ts("2024-03-12 08:05:00")),
    ]  # fmt: skip


def test_restore_error_codes(db: duckdb.DuckDBPyConnection) -> None:
    assert fetch(db, "restore_error_codes", "error_code") == [
        ("dcs.08.0001", "Failed to start the backup and restoration tool."),
        ("dcs.08.0002", "Execution timed out."),
        ("dcs.08.0003", "Failed to delete the bucket."),
        ("dcs.08.0004", "Failed to obtain the AK/SK."),
        ("dcs.08.0005", "Failed to create a bucket."),
        ("dcs.08.0006", "Failed to query the backup data size."),
        ("dcs.08.0007", "Failed to synchronize data during restoration."),
        ("dcs.08.0008",
         "The scheduled backup task is not running. The instance is running other tasks."),
    ]  # fmt: skip


def test_restore_duration_percentiles(db: duckdb.DuckDBPyConnection) -> None:
    # inst-a durations 60.5, 120, 600, 1800: p50 = (120 + 600) / 2, p95 = 600 + 0.85 * 1200
    # inst-b durations 20, 45, 90, 240 (+ r-b5 without one): p95 = 90 + 0.85 * 150
    # inst-d durations 30, 300, 1200: p95 = 300 + 0.9 * 900; inst-d has no instances row
    assert fetch(db, "restore_duration_percentiles", "instance_id") == [
        ("proj-1", "inst-a", "cache-prod", 4, 4, 360.0, 1620.0, 1800.0),
        ("proj-1", "inst-b", "cache-stage", 5, 4, 67.5, 217.5, 240.0),
        ("proj-2", "inst-d", None, 3, 3, 300.0, 1110.0, 1200.0),
    ]
    assert columns(db, "restore_duration_percentiles") == [
        "project_id", "instance_id", "instance_name", "count_finished", "count_with_duration",
        "p50_duration_seconds", "p95_duration_seconds", "max_duration_seconds",
    ]  # fmt: skip


def test_restore_instance_summary(db: duckdb.DuckDBPyConnection) -> None:
    # inst-e is in the instances table but has no restores, so it has no row
    assert fetch(db, "restore_instance_summary", "instance_id") == [
        ("proj-1", "inst-a", "cache-prod", 5, 1, 4, 2, 0, 0.5, 360.0, 1620.0, 1800.0,
         ts("2024-03-11 10:00:00")),
        ("proj-1", "inst-b", "cache-stage", 6, 0, 5, 3, 1, 0.6, 67.5, 217.5, 240.0,
         ts("2024-03-06 13:00:00")),
        ("proj-2", "inst-c", "sessions", 2, 2, 0, 0, 0, None, None, None, None,
         ts("2024-03-07 09:00:00")),
        ("proj-2", "inst-d", None, 3, 0, 3, 2, 0, 0.666667, 300.0, 1110.0, 1200.0,
         ts("2024-03-12 08:00:00")),
    ]  # fmt: skip


def test_restore_trend_weekly(db: duckdb.DuckDBPyConnection) -> None:
    # week of 4 March: finished durations 20, 45, 60.5, 90, 120, 240, 1800 -> median 90
    # week of 11 March: 30, 300, 600, 1200 -> median 450
    assert fetch(db, "restore_trend_weekly", "week_start") == [
        (date(2024, 3, 4), 11, 2, 8, 4, 0.5, 90.0),
        (date(2024, 3, 11), 5, 1, 4, 3, 0.75, 450.0),
    ]
    assert columns(db, "restore_trend_weekly") == [
        "week_start", "count_restores", "count_in_progress", "count_finished", "count_failed",
        "failure_rate", "p50_duration_seconds",
    ]  # fmt: skip


def test_restore_slowest(db: duckdb.DuckDBPyConnection) -> None:
    # eleven finished restores have a duration; r-b6 (20 s) is the eleventh and drops out
    assert fetch(db, "restore_slowest", "duration_rank") == [
        (1, "r-a2", "proj-1", "inst-a", "cache-prod", "failed", "dcs.08.0002", ts("2024-03-04 12:00:00"), ts("2024-03-04 12:30:00"), 1800.0),
        (2, "r-d2", "proj-2", "inst-d", None, "failed", "dcs.08.0002", ts("2024-03-12 07:00:00"), ts("2024-03-12 07:20:00"), 1200.0),
        (3, "r-a4", "proj-1", "inst-a", "cache-prod", "failed", "dcs.08.0007", ts("2024-03-11 09:00:00"), ts("2024-03-11 09:10:00"), 600.0),
        (4, "r-d3", "proj-2", "inst-d", None, "failed", None, ts("2024-03-12 08:00:00"), ts("2024-03-12 08:05:00"), 300.0),
        (5, "r-b2", "proj-1", "inst-b", "cache-stage", "succeed", None, ts("2024-03-05 09:00:00"), ts("2024-03-05 09:04:00"), 240.0),
        (6, "r-a1", "proj-1", "inst-a", "cache-prod", "succeed", None, ts("2024-03-04 10:00:00"), ts("2024-03-04 10:02:00"), 120.0),
        (7, "r-b1", "proj-1", "inst-b", "cache-stage", "failed", None, ts("2024-03-05 08:00:00"), ts("2024-03-05 08:01:30"), 90.0),
        (8, "r-a3", "proj-1", "inst-a", "cache-prod", "succeed", None, ts("2024-03-04 22:30:00"), ts("2024-03-04 22:31:00.5"), 60.5),
        (9, "r-b3", "proj-1", "inst-b", "cache-stage", "failed", "dcs.08.9999", ts("2024-03-06 10:00:00"), ts("2024-03-06 10:00:45"), 45.0),
        (10, "r-d1", "proj-2", "inst-d", None, "succeed", None, ts("2024-03-12 06:00:00"), ts("2024-03-12 06:00:30"), 30.0),
    ]  # fmt: skip


def test_stg_restores(db: duckdb.DuckDBPyConnection) -> None:
    wk1, wk2 = date(2024, 3, 4), date(2024, 3, 11)
    # columns after the timestamps: created_day, created_week, is_in_progress, is_finished,
    # is_failed, duration_seconds, backup_id
    assert fetch(db, "stg_restores", "restore_id") == [
        ("r-a1", "proj-1", "inst-a", "succeed", None, ts("2024-03-04 10:00:00"), ts("2024-03-04 10:02:00"), date(2024, 3, 4), wk1, False, True, False, 120.0, None),
        ("r-a2", "proj-1", "inst-a", "failed", "dcs.08.0002", ts("2024-03-04 12:00:00"), ts("2024-03-04 12:30:00"), date(2024, 3, 4), wk1, False, True, True, 1800.0, None),
        ("r-a3", "proj-1", "inst-a", "succeed", None, ts("2024-03-04 22:30:00"), ts("2024-03-04 22:31:00.5"), date(2024, 3, 4), wk1, False, True, False, 60.5, None),
        ("r-a4", "proj-1", "inst-a", "failed", "dcs.08.0007", ts("2024-03-11 09:00:00"), ts("2024-03-11 09:10:00"), date(2024, 3, 11), wk2, False, True, True, 600.0, None),
        ("r-a5", "proj-1", "inst-a", "restoring", None, ts("2024-03-11 10:00:00"), ts("2024-03-11 10:05:00"), date(2024, 3, 11), wk2, True, False, False, None, None),
        ("r-b1", "proj-1", "inst-b", "failed", None, ts("2024-03-05 08:00:00"), ts("2024-03-05 08:01:30"), date(2024, 3, 5), wk1, False, True, True, 90.0, None),
        ("r-b2", "proj-1", "inst-b", "succeed", None, ts("2024-03-05 09:00:00"), ts("2024-03-05 09:04:00"), date(2024, 3, 5), wk1, False, True, False, 240.0, None),
        ("r-b3", "proj-1", "inst-b", "failed", "dcs.08.9999", ts("2024-03-06 10:00:00"), ts("2024-03-06 10:00:45"), date(2024, 3, 6), wk1, False, True, True, 45.0, None),
        ("r-b4", "proj-1", "inst-b", "cancelled", None, ts("2024-03-06 11:00:00"), ts("2024-03-06 11:01:00"), date(2024, 3, 6), wk1, False, False, False, None, None),
        ("r-b5", "proj-1", "inst-b", "failed", None, ts("2024-03-06 12:00:00"), None, date(2024, 3, 6), wk1, False, True, True, None, None),
        ("r-b6", "proj-1", "inst-b", "succeed", None, ts("2024-03-06 13:00:00"), ts("2024-03-06 13:00:20"), date(2024, 3, 6), wk1, False, True, False, 20.0, None),
        ("r-c1", "proj-2", "inst-c", "waiting", None, ts("2024-03-07 08:00:00"), None, date(2024, 3, 7), wk1, True, False, False, None, None),
        ("r-c2", "proj-2", "inst-c", "restoring", None, ts("2024-03-07 09:00:00"), ts("2024-03-07 09:01:00"), date(2024, 3, 7), wk1, True, False, False, None, None),
        ("r-d1", "proj-2", "inst-d", "succeed", None, ts("2024-03-12 06:00:00"), ts("2024-03-12 06:00:30"), date(2024, 3, 12), wk2, False, True, False, 30.0, None),
        ("r-d2", "proj-2", "inst-d", "failed", "dcs.08.0002", ts("2024-03-12 07:00:00"), ts("2024-03-12 07:20:00"), date(2024, 3, 12), wk2, False, True, True, 1200.0, None),
        ("r-d3", "proj-2", "inst-d", "failed", None, ts("2024-03-12 08:00:00"), ts("2024-03-12 08:05:00"), date(2024, 3, 12), wk2, False, True, True, 300.0, None),
    ]  # fmt: skip


# the key of each view; a new view must declare its key here
VIEW_KEYS = {
    "restore_error_codes": "error_code",
    "stg_restores": "restore_id",
    "stg_instances": "instance_id",
    "restore_durations": "restore_id",
    "restore_failure_rates": "instance_id, day",
    "restore_failures": "restore_id",
    "restore_slowest": "restore_id",
    "restore_trend_weekly": "week_start",
    "restore_duration_percentiles": "instance_id",
    "restore_failures_by_error_code": "error_code",
    "restore_instance_summary": "instance_id",
    "stg_backups": "backup_id",
    "stg_clock": "now_at",
    "restore_context": "restore_id",
    "restores_in_progress": "restore_id",
    "instance_readiness": "instance_id",
    "restore_daily": "day",
}


def test_every_view_declares_a_key() -> None:
    assert set(VIEW_KEYS) == set(VIEWS)


@pytest.mark.parametrize("view", VIEWS)
def test_key_is_unique(db: duckdb.DuckDBPyConnection, view: str) -> None:
    duplicates = db.execute(
        f"select {VIEW_KEYS[view]}, count(*) from dcs.{view}"
        f" group by {VIEW_KEYS[view]} having count(*) > 1"
    ).fetchall()
    assert duplicates == []


@pytest.mark.parametrize("view", VIEWS)
def test_empty_database(empty_db: duckdb.DuckDBPyConnection, view: str) -> None:
    # the clock has its one row whatever the data
    expected = {"restore_error_codes": 8, "stg_clock": 1}.get(view, 0)
    assert empty_db.execute(f"select count(*) from dcs.{view}").fetchone() == (expected,)


def test_views_resolve_without_search_path(hand_database: Path) -> None:
    # a fresh connection has search path main; the views must still find dcs.restores
    with duckdb.connect(str(hand_database), read_only=True) as con:
        counts = {v: con.execute(f"select count(*) from dcs.{v}").fetchone() for v in VIEWS}
    assert counts["restore_durations"] == (12,)
    assert counts["restore_instance_summary"] == (4,)


def test_model_files_match_views_in_dependency_order() -> None:
    assert [path.stem for path in model_files()] == list(VIEWS)
    for position, path in enumerate(model_files()):
        sql = path.read_text()
        for later in VIEWS[position + 1 :]:
            assert not re.search(rf"\b(from|join)\s+{later}\b", sql), f"{path.stem} reads {later}"


@pytest.mark.parametrize("path", model_files(), ids=lambda p: p.stem)
def test_model_file_style(path: Path) -> None:
    sql = path.read_text()
    assert re.match(r"-- (one row per|the) [^\n]*; key [\w(]", sql), "header: grain and key"
    assert "{{" not in sql and "{%" not in sql, "no jinja"
    assert not re.search(r"\bgroup by \d", sql), "no positional group by"
    code = re.sub(r"--.*", "", sql)
    assert not re.search(r"\b(SELECT|FROM|WHERE|WITH|JOIN|GROUP BY|AS)\b", code), "lowercase"
    assert "select *" not in code.replace("select * from final", ""), "explicit columns"


def test_render_view_qualifies_tables_and_views(tmp_path: Path) -> None:
    model = tmp_path / "my_view.sql"
    model.write_text(
        "-- one row per thing; key restore_id\n"
        "select extract(epoch from created_at) as e\n"
        "from restores\njoin dcs.instances on true\nleft join  stg_restores on true;\n"
    )
    assert render_view(model, "ds") == (
        'create or replace view "ds"."my_view" as\n'
        "-- one row per thing; key restore_id\n"
        "select extract(epoch from created_at) as e\n"
        'from "ds"."restores"\njoin dcs.instances on true\nleft join  "ds"."stg_restores" on true'
    )


def test_render_view_rejects_cte_shadowing_a_table(tmp_path: Path) -> None:
    model = tmp_path / "bad.sql"
    model.write_text("with restores as (select 1 as x)\nselect x from restores\n")
    with pytest.raises(ValueError, match="shadow"):
        render_view(model, "dcs")


def test_models_dir_ships_sql_files() -> None:
    assert {p.name for p in MODELS_DIR.rglob("*.sql")} == {f"{v}.sql" for v in VIEWS}


def test_apply_models_through_dlt_pipeline(tmp_path: Path) -> None:
    restores = dlt.resource(
        [
            {"restore_id": "r1", "project_id": "p", "instance_id": "i", "status": "succeed",
             "error_code": None, "progress": 100.0, "created_at": "2024-03-04T10:00:00Z",
             "updated_at": "2024-03-04T10:01:00Z"},
        ],
        name="restores",
        primary_key="restore_id",
        # error_code is null in every row, so dlt needs the hint to create the column
        columns={"error_code": {"data_type": "text"}, "created_at": {"data_type": "timestamp"},
                 "updated_at": {"data_type": "timestamp"}},
    )  # fmt: skip
    instances = dlt.resource(
        [{"instance_id": "i", "project_id": "p", "name": "n"}], name="instances"
    )
    database = tmp_path / "pipeline.duckdb"
    pipeline = dlt.pipeline(
        "test_models",
        pipelines_dir=str(tmp_path / "pipelines"),
        destination=dlt.destinations.duckdb(str(database)),
        dataset_name="dcs_test",
    )
    pipeline.run([restores, instances])

    assert apply_models(pipeline) == list(VIEWS)

    with duckdb.connect(str(database), read_only=True) as con:
        rows = con.execute("select restore_id, duration_seconds from dcs_test.restore_durations")
        assert rows.fetchall() == [("r1", 60.0)]
