"""The run's views step: after loading, the views are built (or skipped while a loaded table is
missing) and the restores counted, on the one connection the run opens after loading."""

from __future__ import annotations

import logging
from typing import Any

import dlt
import pytest
from dcs_restores_pipeline.runner import RunFailed
from dcs_restores_pipeline.views import VIEWS
from dcs_simulator import FaultPlan, FaultRule

from tests.conftest import Runner, expected_restores
from tests.support.truth import assert_matches_truth
from tests.support.worlds import early, quick_run, small_world

VIEWS_IN_DB = (
    "select table_name from information_schema.tables "
    "where table_schema = 'dcs' and table_type = 'VIEW' order by table_name"
)


def count_sessions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every connection a run opens through `pipeline.sql_client()`."""
    opened: list[str] = []
    original = dlt.Pipeline.sql_client

    def counting(self: dlt.Pipeline, *args: Any, **kwargs: Any) -> Any:
        opened.append(self.dataset_name)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(dlt.Pipeline, "sql_client", counting)
    return opened


def test_a_run_builds_every_view_and_counts_on_one_connection_after_loading(
    serve, runner: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = small_world(seed=3)
    simulator = serve(world, now=early(world))
    opened = count_sessions(monkeypatch)
    summary = runner.run(simulator)
    # one connection before extracting, one after loading: not one per view or per count
    assert len(opened) == 2
    assert summary.views == list(VIEWS)
    assert [row[0] for row in runner.query(VIEWS_IN_DB)] == sorted(VIEWS)
    total = len(expected_restores(world, simulator.now))
    assert summary.restores_total == summary.restores_new == total
    assert runner.query("select count(*) from dcs.stg_restores") == [(total,)]

    # the next run counts what changed since the first, still on one connection after loading
    assert world.default_now is not None
    simulator.advance(world.default_now - early(world))
    opened.clear()
    again = runner.run(simulator)
    assert len(opened) == 2
    assert again.views == list(VIEWS)
    assert again.restores_total == len(expected_restores(world, simulator.now))
    assert again.restores_new == again.restores_total - total
    # no restore of this world is open at the first run (test_pipeline counts updates)
    assert again.restores_updated == 0
    assert_matches_truth(runner, simulator)


def test_a_run_without_models_builds_no_view(serve, runner: Runner) -> None:
    world = small_world(seed=4)
    simulator = serve(world, now=early(world))
    summary = quick_run(runner, simulator)
    assert summary.views == []
    assert runner.query(VIEWS_IN_DB) == []
    assert summary.restores_total == len(expected_restores(world, simulator.now))


def test_views_wait_for_the_first_restores_and_the_run_names_its_own_error(
    serve, runner: Runner, caplog: pytest.LogCaptureFixture
) -> None:
    """Every instance fails on the first run: `instances` loads, `restores` does not exist yet,
    so the views step is skipped with a warning and the run fails on the instances' error."""
    world = small_world(seed=5, instances=2, empty=0)
    plan = FaultPlan([FaultRule("500", match="restores")])
    simulator = serve(world, now=early(world), faults=plan)
    caplog.set_level(logging.WARNING, logger="dlt")
    with pytest.raises(RunFailed) as failed:
        runner.run(simulator)
    assert failed.value.summary is not None
    assert failed.value.summary.views == []
    assert "view" not in str(failed.value)
    assert "views not built: no table restores loaded yet" in caplog.text
    tables = runner.query(
        "select table_name from information_schema.tables where table_schema = 'dcs' "
        "and table_type = 'BASE TABLE' and table_name in ('restores', 'instances')"
    )
    assert tables == [("instances",)]
    assert runner.query(VIEWS_IN_DB) == []
