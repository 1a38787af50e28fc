"""PostgreSQL as a second destination: same tables, same models, same answers as DuckDB."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from pipelines.dcs_restores_pipeline import make_pipeline
from pipelines.models import VIEWS
from sources.dcs_simulator import World
from tests.conftest import Runner, expected_restores

NOW = datetime(2025, 2, 20, tzinfo=UTC)


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


def test_same_rows_and_models_in_postgres_and_duckdb(
    serve, tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = World.generate(seed=21, instances=5, restores_per_instance=(10, 40), empty_instances=1)
    sim = serve(world, now=NOW)
    duck = Runner(tmp_path / "duck")
    (tmp_path / "duck").mkdir()
    duck.run(sim)

    monkeypatch.setenv("DESTINATION_TYPE", "postgres")
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", postgres_url)
    pg = Runner(tmp_path / "pg")
    pg_summary = pg.run(sim)
    assert pg_summary.restores_new == len(expected_restores(world, NOW))

    duck_pipeline = make_pipeline(duck.database, duck.pipelines_dir, destination_kind="duckdb")
    pg_pipeline = make_pipeline(None, pg.pipelines_dir, destination_kind="postgres")
    assert pg_pipeline.destination.destination_type.endswith("postgres")
    columns = (
        "restore_id, project_id, instance_id, status, error_code, progress, created_at, updated_at"
    )
    with (
        pg_pipeline.sql_client() as client,
        client.execute_query(
            f"select {columns} from {client.make_qualified_table_name('restores')}"
        ) as cursor,
    ):
        pg_restores = sorted((tuple(normalise(v) for v in r) for r in cursor.fetchall()), key=repr)
    truth = sorted(
        (
            tuple(normalise(r[c.strip()]) for c in columns.split(","))
            for r in expected_restores(world, NOW)
        ),
        key=repr,
    )
    assert pg_restores == truth
    for view in VIEWS:
        duck_rows = rows(duck_pipeline, view)
        assert rows(pg_pipeline, view) == duck_rows, view
    assert rows(duck_pipeline, "restore_failure_rates")
