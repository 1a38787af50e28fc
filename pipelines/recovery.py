"""Load packages left by an interrupted or failed run: finish them first, or drop them.

dlt commits the cursors (pipeline state) together with the extracted data in one load
package. A run killed after its extract leaves that package pending; dlt's `run()` would then
load it and silently skip the new data. Finishing pending packages before extracting keeps
every run a full run, and keeps data and cursors in step.
"""

from __future__ import annotations

import dlt
from dlt.pipeline.exceptions import PipelineStepFailed

RESET_HINT = "run `dcs-restores reset-pending` to drop it (its restores are then read again)"


class PendingLoadFailed(Exception):
    """A package of an earlier run cannot be loaded; `str()` is one line naming the fix."""


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    # dlt puts a job's whole traceback into its message; the part before it is the gist
    line = lines[0].split(" with message: Traceback")[0].strip() if lines else ""
    return f"{type(exc).__name__}: {line[:300]}" if line else type(exc).__name__


def step_failure_gist(exc: BaseException) -> str:
    """Return one line for an error dlt wrapped in PipelineStepFailed: the first wrapped
    exception and, when another one caused it, the innermost one."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__
    wrapped = [e for e in chain if not isinstance(e, PipelineStepFailed)] or chain
    gist = _first_line(wrapped[0])
    return gist if len(wrapped) == 1 else f"{gist}; caused by {_first_line(wrapped[-1])}"


def finish_pending(pipeline: dlt.Pipeline) -> list[str]:
    """Normalize and load the packages an interrupted run left, and return their load ids.

    Raises:
        PendingLoadFailed: a package cannot be loaded; the message names the command that
            drops it, so a broken package never blocks later runs silently.
    """
    if not pipeline.has_pending_data:
        return []
    pending = [*pipeline.list_extracted_load_packages(), *pipeline.list_normalized_load_packages()]
    try:
        if pipeline.list_extracted_load_packages():
            pipeline.normalize()
        if pipeline.list_normalized_load_packages():
            pipeline.load().raise_on_failed_jobs()
    except Exception as exc:
        raise PendingLoadFailed(
            f"a load package left by an earlier run cannot be loaded: {RESET_HINT}; "
            f"cause: {step_failure_gist(exc)}"
        ) from exc
    return pending


def drop_pending(pipeline: dlt.Pipeline) -> list[str]:
    """Drop every pending package and rewind the local state (the cursors) to before them.

    dlt restores state from the destination only from completed loads, so a dropped
    package's state row that did reach the database never comes back.

    Returns:
        The load ids dropped (empty when nothing was pending).
    """
    plan = pipeline.abort_packages()
    if plan is None:
        return []
    aborted = [plan["package_to_abort"]["load_id"]] if plan["package_to_abort"] else []
    return aborted + plan["packages_to_delete"] + plan["extracted_packages_to_delete"]
