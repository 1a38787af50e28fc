"""PostgreSQL as a second destination: same tables, same models, same answers as DuckDB."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from dcs_restores_pipeline.runner import make_pipeline, run
from dcs_restores_pipeline.views import VIEWS, pin_clock_sql

from tests.conftest import Runner, expected_restores
from tests.pipeline.test_targets import NOW, SECOND_PROJECT, configure, two_regions


def normalise(value: Any) -> Any:
    if isinstance(value, Decimal | float):
        return round(float(value), 6)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def rows(pipeline: Any, relation: str) -> list[tuple[Any, ...]]:
    with (
        pipeline.sql_client() as client,
        client.execute_query(
            f"select * from {client.make_qualified_table_name(relation)}"
        ) as cursor,
    ):
        result = [tuple(normalise(v) for v in row) for row in cursor.fetchall()]
    return sorted(result, key=repr)


def test_two_projects_same_rows_and_models_in_postgres_and_duckdb(
    serve, tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    world_a, sim_a, world_b, sim_b = two_regions(serve)
    configure(monkeypatch, sim_a, sim_b)
    (tmp_path / "duck").mkdir()
    duck = Runner(tmp_path / "duck")
    run(database=duck.database, pipelines_dir=duck.pipelines_dir)

    monkeypatch.setenv("DESTINATION_TYPE", "postgres")
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", postgres_url)
    pg = Runner(tmp_path / "pg")
    pg_summary = run(pipelines_dir=pg.pipelines_dir)
    truth = expected_restores(world_a, NOW) + expected_restores(world_b, NOW)
    assert pg_summary.restores_new == len(truth)

    duck_pipeline = make_pipeline(duck.database, duck.pipelines_dir, destination_kind="duckdb")
    pg_pipeline = make_pipeline(None, pg.pipelines_dir, destination_kind="postgres")
    assert pg_pipeline.destination.destination_type.endswith("postgres")
    columns = [
        "restore_id", "project_id", "instance_id", "status", "error_code", "progress",
        "created_at", "updated_at",
    ]  # fmt: skip
    with (
        pg_pipeline.sql_client() as client,
        client.execute_query(
            f"select {', '.join(columns)} from {client.make_qualified_table_name('restores')}"
        ) as cursor,
    ):
        pg_restores = sorted((tuple(normalise(v) for v in r) for r in cursor.fetchall()), key=repr)
    expected = sorted((tuple(normalise(r[c]) for c in columns) for r in truth), key=repr)
    assert pg_restores == expected
    assert rows(pg_pipeline, "restores") != []
    # one "now" for both databases, so the ages in the readiness views compare
    for pipeline in (pg_pipeline, duck_pipeline):
        with pipeline.sql_client() as client:
            client.execute_sql(pin_clock_sql(pipeline.dataset_name, NOW))
    for view in VIEWS:
        assert rows(pg_pipeline, view) == rows(duck_pipeline, view), view
    projects = {r[0] for r in rows(pg_pipeline, "restore_failure_rates")}
    assert projects == {world_a.project_id, SECOND_PROJECT}
