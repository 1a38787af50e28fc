"""Table `backups` on PostgreSQL: two runs, the same rows as the simulator's truth."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from dcs_restores_pipeline.runner import make_pipeline, run

from tests.conftest import Runner, expected_restores
from tests.pipeline.test_backups_pipeline import world_with_open_backups
from tests.support.backups import expected_backups, table_backups
from tests.support.worlds import early


def test_two_runs_load_the_backups_truth_into_postgres(
    serve, tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESTINATION_TYPE", "postgres")
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", postgres_url)
    world, running, later = world_with_open_backups()
    sim = serve(world, now=early(world))
    pg = Runner(tmp_path)

    def loaded() -> list[dict[str, Any]]:
        pipeline = make_pipeline(None, pg.pipelines_dir, destination_kind="postgres")
        with pipeline.sql_client() as client:

            def query(sql: str) -> list[tuple[Any, ...]]:
                with client.execute_query(
                    sql.replace("dcs.backups", client.make_qualified_table_name("backups"))
                ) as cursor:
                    return [tuple(row) for row in cursor.fetchall()]

            return table_backups(query)

    first = run(pg.settings(sim, page_size=50), pipelines_dir=pg.pipelines_dir, models=False)
    truth = expected_backups(world, sim.now)
    assert loaded() == truth and first.backups_new == len(truth)
    assert {row["backup_id"]: row["status"] for row in truth}[running] == "backuping"

    sim.advance(timedelta(days=2))
    second = run(pg.settings(sim, page_size=50), pipelines_dir=pg.pipelines_dir, models=False)
    truth = expected_backups(world, sim.now)
    assert loaded() == truth
    status = {row["backup_id"]: row["status"] for row in truth}
    assert (status[running], status[later]) == ("failed", "succeed")
    assert second.backups_updated > 0 and second.backups_total == len(truth)
    assert second.restores_total == len(expected_restores(world, sim.now))
