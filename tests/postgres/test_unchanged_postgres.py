"""PostgreSQL: an older dataset gains column record_hash, and an idle run then loads nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from dcs_restores import extract
from dcs_restores.columns import BACKUP_COLUMNS, INSTANCE_COLUMNS, RESTORE_COLUMNS
from dcs_restores_pipeline.runner import make_pipeline

from tests.conftest import Runner
from tests.pipeline.test_unchanged_rows import T0, TABLES, world


def query(runner: Runner, sql: str) -> list[tuple[Any, ...]]:
    pipeline = make_pipeline(None, runner.pipelines_dir, destination_kind="postgres")
    with pipeline.sql_client() as client, client.execute_query(sql) as cursor:
        return [tuple(row) for row in cursor.fetchall()]


def test_an_older_postgres_dataset_gains_the_column_then_idle_runs_load_nothing(
    serve: Any, tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESTINATION_TYPE", "postgres")
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", postgres_url)
    sim, runner = serve(world(), now=T0), Runner(tmp_path)
    with monkeypatch.context() as old:
        for columns in (RESTORE_COLUMNS, BACKUP_COLUMNS, INSTANCE_COLUMNS):
            old.delitem(columns, "record_hash")
        old.setattr(extract, "already_stored", lambda *args: False)
        runner.run(sim)
    hashed_columns = (
        "select count(*) from information_schema.columns "
        "where table_schema = 'dcs' and column_name = 'record_hash'"
    )
    assert query(runner, hashed_columns) == [(0,)]

    upgraded = runner.run(sim)
    assert upgraded.restores_unchanged == 0 and len(upgraded.load_ids) == 1
    assert query(runner, hashed_columns) == [(len(TABLES),)]
    hashed = {
        table: query(runner, f"select count(*), count(record_hash) from dcs.{table}")[0]
        for table in TABLES
    }
    assert hashed == {"restores": (5, 4), "backups": (4, 4), "instances": (3, 3)}

    loads = query(runner, "select count(*) from dcs._dlt_loads")
    idle = runner.run(sim)
    assert idle.load_ids == [] and idle.views == []
    assert (idle.restores_unchanged, idle.backups_unchanged, idle.instances_unchanged) == (4, 4, 3)
    assert query(runner, "select count(*) from dcs._dlt_loads") == loads
