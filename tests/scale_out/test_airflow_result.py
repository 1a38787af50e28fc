"""What the DAG loaded when CI ran it in real Airflow 3 (`.ci/airflow.sh`, `airflow dags test`).

Runs when DCS_AIRFLOW_RESULT names the script's result file; DCS_REQUIRE_AIRFLOW=1 (as in CI)
turns its absence into a failure, so CI never skips it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import pytest
from dcs_restores_pipeline.views import VIEWS

from tests.conftest import RESTORE_FIELDS, expected_restores
from tests.scale_out.serve_two import BETA_SK, NOW, worlds

RESULT_ENV = "DCS_AIRFLOW_RESULT"
REQUIRE_ENV = "DCS_REQUIRE_AIRFLOW"
TASKS = {
    ("targets", -1),
    ("load", 0),
    ("load", 1),
    ("models", -1),
    ("check", -1),
    ("all_targets_loaded", -1),
}


@pytest.fixture(scope="module")
def result() -> dict[str, Any]:
    path = os.environ.get(RESULT_ENV)
    if not path:
        message = f'no Airflow run: `eval "$(bash .ci/airflow.sh)"` sets {RESULT_ENV}'
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(message)
        pytest.skip(message)
    return dict(json.loads(Path(path).read_text(encoding="utf-8")))


def query(result: dict[str, Any], sql: str) -> list[tuple[Any, ...]]:
    admin = os.environ.get("DCS_TEST_POSTGRES_URL")
    assert admin, "DCS_TEST_POSTGRES_URL names the server the DAG loaded into"
    url = urlunsplit(urlsplit(admin)._replace(path=f"/{result['database']}"))
    with psycopg2.connect(url) as con, con.cursor() as cursor:
        cursor.execute(sql)
        return [tuple(row) for row in cursor.fetchall()]


def test_every_task_of_the_dag_succeeded_once(result: dict[str, Any]) -> None:
    assert result["dags_test_exit"] == 0
    assert result["dag_runs"] == ["success"]
    states = {(t["task_id"], t["map_index"]): t["state"] for t in result["tasks"]}
    assert states == dict.fromkeys(TASKS, "success")


def test_the_tables_hold_both_targets_ground_truth(result: dict[str, Any]) -> None:
    built = worlds()
    truth = sorted(
        expected_restores(built["alpha"], NOW) + expected_restores(built["beta"], NOW),
        key=lambda r: r["restore_id"],
    )
    rows = query(
        result, f"select {', '.join(RESTORE_FIELDS)} from dcs.restores order by restore_id"
    )
    assert [dict(zip(RESTORE_FIELDS, row, strict=True)) for row in rows] == truth
    instances = query(result, "select project_id, count(*) from dcs.instances group by 1")
    assert dict(instances) == {
        world.project_id: len(world.instances_at(NOW)) for world in built.values()
    }
    # each target kept its own state, under its own pipeline name
    names = query(result, "select distinct pipeline_name from dcs._dlt_pipeline_state")
    assert {n for (n,) in names} == {"dcs_restores__alpha", "dcs_restores__beta"}


def test_the_views_were_built_once_over_both_targets(result: dict[str, Any]) -> None:
    views = query(
        result, "select table_name from information_schema.views where table_schema = 'dcs'"
    )
    assert {v for (v,) in views} >= set(VIEWS)
    built = worlds()
    finished: dict[str, int] = {world.project_id: 0 for world in built.values()}
    for world in built.values():
        for row in expected_restores(world, NOW):
            finished[row["project_id"]] += row["status"] in ("succeed", "failed")
    per_project = query(
        result, "select project_id, sum(finished) from dcs.restore_failure_rates group by 1"
    )
    assert {p: int(n) for p, n in per_project} == finished


def test_beta_s_secret_key_reached_no_file(result: dict[str, Any]) -> None:
    """beta's keys came from an Airflow connection: not in Airflow's database, logs or XComs,
    nor in the pipelines' working dirs."""
    work = Path(result["work"])
    leaks = [p for p in work.rglob("*") if p.is_file() and BETA_SK.encode() in p.read_bytes()]
    assert leaks == []
    assert query(result, "select count(*) from dcs._dlt_pipeline_state")[0][0] >= 2
