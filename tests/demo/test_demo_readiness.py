"""On a demo database, the readiness views name exactly the at-risk instances the world holds."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from dcs_simulator.demo_world import AtRisk

from tests.support.demo import demo_at_risk, pinned_copy


@pytest.fixture(scope="module")
def pinned(demo_database: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pinned_copy(demo_database, tmp_path_factory.mktemp("readiness"))


@pytest.fixture(scope="module")
def risk(demo_database: Path) -> AtRisk:
    return demo_at_risk(demo_database)


def _ids(database: Path, sql: str) -> set[str]:
    with duckdb.connect(str(database), read_only=True) as con:
        return {row[0] for row in con.execute(sql).fetchall()}


def test_readiness_names_the_flaky_and_the_never_restored(pinned: Path, risk: AtRisk) -> None:
    streaks = _ids(
        pinned,
        "select instance_id from dcs.instance_readiness where consecutive_failed_restores >= 3",
    )
    assert streaks == {risk.flaky.instance_id}
    never = _ids(pinned, "select instance_id from dcs.instance_readiness where count_restores = 0")
    assert never == {risk.never_restored.instance_id}
    idle = _ids(
        pinned,
        "select instance_id from dcs.instance_readiness "
        "where coalesce(days_since_successful_restore, 1e9) > 7",
    )
    assert idle == {risk.never_restored.instance_id}
    with duckdb.connect(str(pinned), read_only=True) as con:
        names = dict(
            con.execute("select instance_id, instance_name from dcs.instance_readiness").fetchall()
        )
    assert names[risk.flaky.instance_id] == risk.flaky.name == "inventory-cache-prod"
    assert len(names) == 21


def test_in_progress_flags_only_the_stuck_restore_overdue(pinned: Path, risk: AtRisk) -> None:
    overdue = _ids(pinned, "select restore_id from dcs.restores_in_progress where is_overdue")
    assert overdue == {risk.overdue_restore_id}
    running = _ids(pinned, "select instance_id from dcs.restores_in_progress")
    assert risk.overdue.instance_id in running and len(running) >= 3


def test_incident_day_in_the_failures(pinned: Path, risk: AtRisk) -> None:
    with duckdb.connect(str(pinned), read_only=True) as con:
        per_day = dict(
            con.execute(
                "select cast(created_at at time zone 'UTC' as date), count(*) from dcs.restores "
                "where status = 'failed' and error_code = ? group by 1",
                [risk.incident_code],
            ).fetchall()
        )
    assert per_day.pop(risk.incident_day) >= 10
    assert max(per_day.values(), default=0) <= 2
