"""Two targets creating one dataset's tables at once: the load step is tried again, bounded."""

from __future__ import annotations

from typing import Any

import pytest
from dcs_restores_pipeline import runner
from dlt.common.destination.exceptions import SchemaUpdateError
from dlt.pipeline.exceptions import PipelineStepFailed


class Pipeline:
    """The calls `runner._run` makes: `run` fails in its load step, `load` after `fails` tries."""

    has_pending_data = True
    pipeline_name = "dcs_restores__alpha"

    def __init__(self, fails: int, step: str = "load", cause: Exception | None = None) -> None:
        self.fails, self.step, self.runs, self.loads = fails, step, 0, 0
        self.cause = cause or SchemaUpdateError.from_cause(
            "dcs_restores", ["restores"], Exception("deadlock detected")
        )

    def failed(self) -> PipelineStepFailed:
        try:
            raise self.cause
        except Exception as exc:
            return PipelineStepFailed(self, self.step, "1.2", exc)  # type: ignore[arg-type]

    def run(self, source: Any) -> str:
        self.runs += 1
        raise self.failed()

    def load(self) -> str:
        self.loads += 1
        if self.loads < self.fails:
            raise self.failed()
        return "loaded"


@pytest.fixture(autouse=True)
def no_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner.time, "sleep", lambda seconds: None)


def test_a_failed_schema_update_loads_the_package_again() -> None:
    pipeline = Pipeline(fails=2)
    assert runner._run(pipeline, object()) == "loaded"  # type: ignore[arg-type]
    assert (pipeline.runs, pipeline.loads) == (1, 2)


def test_the_tries_are_bounded() -> None:
    pipeline = Pipeline(fails=99)
    with pytest.raises(PipelineStepFailed):
        runner._run(pipeline, object())  # type: ignore[arg-type]
    assert pipeline.loads == runner.SCHEMA_UPDATE_TRIES - 1


@pytest.mark.parametrize(
    "pipeline", [Pipeline(fails=1, step="extract"), Pipeline(fails=1, cause=OSError("disk"))]
)
def test_other_failures_are_not_tried_again(pipeline: Pipeline) -> None:
    with pytest.raises(PipelineStepFailed):
        runner._run(pipeline, object())  # type: ignore[arg-type]
    assert pipeline.loads == 0
