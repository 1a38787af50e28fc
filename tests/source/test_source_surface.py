"""The dlt surface of the source: creating it does no I/O, the listing runs inside extract,
arguments are typed and a `targets` list is refused clearly; one statistics object."""

from __future__ import annotations

from pathlib import Path

import dlt
import pytest
from dcs_restores import ExtractStats, dcs_restores
from dcs_restores.errors import ConfigError
from dcs_restores_pipeline.config import PIPELINE_NAME
from dcs_simulator import DEMO_ACCESS_KEY, DEMO_SECRET_KEY
from dlt.common.versioned_state import json_decode_state

from tests.conftest import Runner, expected_restores
from tests.support.truth import cursors, local_state
from tests.support.worlds import quick_run, small_world

PREFIX = "SOURCES__DCS_RESTORES__"


def _configure(monkeypatch: pytest.MonkeyPatch, simulator, **extra: str) -> None:  # type: ignore[no-untyped-def]
    values = {
        "ENDPOINT": simulator.base_url,
        "PROJECT_ID": simulator.world.project_id,
        "CREDENTIALS__ACCESS_KEY": DEMO_ACCESS_KEY,
        "CREDENTIALS__SECRET_KEY": DEMO_SECRET_KEY,
        "PAGE_SIZE": "10",
    } | extra
    for key, value in values.items():
        monkeypatch.setenv(PREFIX + key, value)


def test_creating_the_source_sends_no_request(serve, runner: Runner) -> None:
    """What Airflow or dagster do at parse time: build the source, maybe list its resources."""
    world = small_world(seed=71, instances=3)
    simulator = serve(world)
    source = dcs_restores(settings=runner.settings(simulator))
    assert sorted(source.resources) == ["backups", "instances", "restores"]
    assert source.resources["restores"].is_transformer
    assert source.resources["backups"].is_transformer
    assert simulator.requests == []


def test_from_config_it_sends_no_request_and_loads_like_the_runner(
    serve, runner: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """dcs_restores() without arguments: settings from `[sources.dcs_restores]`, the listing
    first in extract, restores of every listed instance, cursors where they always were."""
    world = small_world(seed=72, instances=3)
    simulator = serve(world)
    _configure(monkeypatch, simulator)
    stats = ExtractStats()
    source = dcs_restores(stats=stats)
    assert simulator.requests == [] and stats.requests == 0
    pipeline = dlt.pipeline(
        pipeline_name=PIPELINE_NAME,
        destination=dlt.destinations.duckdb(str(runner.database)),
        dataset_name="dcs",
        pipelines_dir=runner.pipelines_dir,
    )
    pipeline.run(source).raise_on_failed_jobs()
    log = simulator.requests
    kinds = {r.kind for r in log}
    assert log[0].kind == "instances" and kinds == {"instances", "restores", "backups"}
    # the one statistics object counted every request the client made
    assert stats.requests == len(log) and stats.instances_read == 3
    assert stats.instances_listed == 3 and stats.rows == len(runner.restores())
    assert runner.restores() == expected_restores(world, simulator.now)
    listed = {row[0] for row in runner.query("select instance_id from dcs.instances")}
    assert listed == set(world.instance_ids)
    # the state path existing databases hold their cursors under (this plain dlt pipeline keeps
    # its working dir where dlt puts it, not in the runner's per-destination folder)
    state = json_decode_state((Path(pipeline.working_dir) / "state.json").read_text("utf-8"))
    assert set(cursors(state)) == set(world.instance_ids)


def test_an_idle_second_run_keeps_the_cursors_and_reads_from_them(serve, runner: Runner) -> None:
    world = small_world(seed=73, instances=3)
    simulator = serve(world)
    quick_run(runner, simulator)
    first = cursors(local_state(runner))
    simulator.reset_log()
    again = quick_run(runner, simulator)
    assert again.errors == [] and again.instances_read == 3 and again.restores_new == 0
    # every instance with restores is read from its cursor, not from the start of history
    known = {iid for iid, cursor in first.items() if cursor["max_created_at"]}
    assert len(known) == 2  # the world's last instance has no restores
    reads = [r for r in simulator.restore_requests() if r.instance_id in known]
    assert {r.instance_id for r in reads} == known
    assert all("begin_time" in r.query for r in reads)
    assert set(cursors(local_state(runner))) == set(first)
    assert runner.restores() == expected_restores(world, simulator.now)


def test_a_targets_list_is_refused_clearly_and_without_a_request(
    serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    simulator = serve(small_world(seed=74, instances=2))
    _configure(
        monkeypatch,
        simulator,
        TARGETS=f'[{{"endpoint": "{simulator.base_url}", '
        f'"project_id": "{simulator.world.project_id}"}}]',
    )
    with pytest.raises(ConfigError) as info:
        dcs_restores()
    message = str(info.value)
    assert f"{PREFIX}TARGETS is set" in message and "load_targets()" in message
    assert "\n" not in message and simulator.requests == []


def test_a_failing_listing_sets_the_project_aside_with_the_api_error(serve, runner: Runner) -> None:
    """The listing now fails inside extract: the summary still names the API's error."""
    world = small_world(seed=75, instances=2)
    simulator = serve(world)
    settings = runner.settings(simulator)
    # a project the simulator does not serve: its listing answers 401/403/404
    other = settings.project_id[::-1]
    from dcs_restores_pipeline import runner as pipeline_runner
    from dcs_restores_pipeline.runner import RunFailed

    with pytest.raises(RunFailed) as info:
        pipeline_runner.run(
            [runner.settings(simulator, project_id=other)],
            database=runner.database,
            pipelines_dir=runner.pipelines_dir,
            models=False,
        )
    summary = info.value.summary
    assert summary is not None and summary.instances_listed is None
    assert len(summary.errors) == 1 and summary.errors[0].startswith("GET /v2/")
    assert "extract failed" not in summary.errors[0]


def test_one_extract_owns_the_stop_signal_its_client_obeys(serve, runner: Runner) -> None:
    """The stop signal is made by the extract and given to the client when it is made."""
    from dcs_restores.errors import Cancelled
    from dcs_restores.extract import Extract
    from dcs_restores.settings import INSTANCES_PATH

    world = small_world(seed=76, instances=2)
    simulator = serve(world)
    stats = ExtractStats()
    extract = Extract(runner.settings(simulator), stats)
    rows = extract.instances()
    assert [row["instance_id"] for row in rows] == extract.instance_ids
    assert set(extract.instance_ids) == set(world.instance_ids)
    assert extract.client is not None and not hasattr(extract.client, "cancel")
    assert stats.requests == len(simulator.requests) == 1 and stats.instances_listed == 2
    extract.stop.set()
    with pytest.raises(Cancelled):
        extract.client.get(INSTANCES_PATH.format(project_id=world.project_id), {})
    assert len(simulator.requests) == 1 and stats.requests == 1
