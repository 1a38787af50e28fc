"""A project whose extract breaks in a way no rule foresaw is set aside; the others load."""

from __future__ import annotations

from typing import Any

import dcs_restores.extract as source_module
import pytest
from dcs_restores_pipeline.runner import RunFailed, run

from tests.conftest import Runner, expected_restores
from tests.pipeline.test_targets import NOW, SECOND_PROJECT, configure, two_regions


@pytest.mark.parametrize(
    ("error", "broken"),
    [(RuntimeError("boom"), "second"), (RecursionError(), "first"), (MemoryError("odd"), "first")],
)
def test_an_unexpected_error_sets_aside_one_project(
    serve: Any,
    runner: Runner,
    monkeypatch: pytest.MonkeyPatch,
    error: BaseException,
    broken: str,
) -> None:
    world_a, sim_a, world_b, sim_b = two_regions(serve)
    configure(monkeypatch, sim_a, sim_b)
    bad_project, bad_sim = (
        (SECOND_PROJECT, sim_b) if broken == "second" else (world_a.project_id, sim_a)
    )
    good_world = world_a if broken == "second" else world_b
    healthy_row = source_module.instance_row

    def breaks_for_one(item: dict[str, Any], settings: Any) -> dict[str, Any]:
        if settings.project_id == bad_project:
            raise error
        return healthy_row(item, settings)

    monkeypatch.setattr(source_module, "instance_row", breaks_for_one)
    with pytest.raises(RunFailed) as info:
        run(database=runner.database, pipelines_dir=runner.pipelines_dir)
    message = str(info.value)
    assert "\n" not in message
    assert f"project {bad_project} at {bad_sim.base_url}: extract failed with" in message
    assert type(error).__name__ in message
    assert runner.restores() == expected_restores(good_world, NOW)

    # the error goes away: the project set aside loads in full, the other is unchanged
    monkeypatch.setattr(source_module, "instance_row", healthy_row)
    run(database=runner.database, pipelines_dir=runner.pipelines_dir)
    both = sorted(
        expected_restores(world_a, NOW) + expected_restores(world_b, NOW),
        key=lambda r: r["restore_id"],
    )
    assert runner.restores() == both
