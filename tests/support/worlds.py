"""Small seeded worlds for the simulator, and a run of the pipeline against one."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from dcs_restores_pipeline import runner as pipeline_runner
from dcs_restores_pipeline.runner import RunSummary
from dcs_simulator import DcsSimulator, World

from tests.conftest import Runner

# restores are spread over 20 days; runs start 2 days before the end, so a later run has news
SPAN = timedelta(days=20)
BEFORE_END = timedelta(days=2)


def small_world(seed: int = 1, instances: int = 4, restores: int = 20, empty: int = 1) -> World:
    """A seeded world; its last `empty` instances have no restores (the API answers 204)."""
    return World.generate(
        seed=seed,
        instances=instances,
        restores_per_instance=restores,
        span=SPAN,
        empty_instances=empty,
    )


def early(world: World) -> datetime:
    """A simulated time before the world's end, so that moving on brings new restores."""
    assert world.default_now is not None
    return world.default_now - BEFORE_END


def quick_run(runner: Runner, simulator: DcsSimulator, **changes: Any) -> RunSummary:
    """`runner.run()` without rebuilding the SQL views (they are not under test here)."""
    return pipeline_runner.run(
        runner.settings(simulator, **changes),
        database=runner.database,
        pipelines_dir=runner.pipelines_dir,
        models=False,
    )
