"""Load packages left by an interrupted or failed run: finish them first, or drop them.

dlt commits the cursors (pipeline state) together with the extracted data in one load
package. A run killed after its extract leaves that package pending; dlt's `run()` would then
load it and silently skip the new data. Finishing pending packages before extracting keeps
every run a full run, and keeps data and cursors in step.
"""

from __future__ import annotations

import errno
import re

import dlt
from dcs_restores.errors import DcsRestoresError, chain, find
from dlt.pipeline.exceptions import PipelineStepFailed

RESET_HINT = "run `dcs-restores reset-pending` to drop it (its restores are then read again)"


class PendingLoadFailed(DcsRestoresError):
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


# how DuckDB (and other C libraries) report ENOSPC in a message, and the file they name
_NO_SPACE = re.compile(r"no space left on device|disk is full|disk full", re.IGNORECASE)
_QUOTED_PATH = re.compile(r"[\"'](/[^\"']+)[\"']")


def disk_full(exc: BaseException) -> str | None:
    """Where the disk ran full, if that is what `exc` (or anything it wraps) says; else None.

    Returns the file being written when known, else "an unknown file".
    """
    links = list(chain(exc))
    for current in links:
        if isinstance(current, OSError) and current.errno in (errno.ENOSPC, errno.EDQUOT):
            name = current.filename or current.filename2
            return str(name) if name else "an unknown file"
    found: str | None = None
    for current in links:
        # dlt puts whole tracebacks into messages: the file is the one named on the same line
        for line in str(current).splitlines():
            if _NO_SPACE.search(line):
                path = _QUOTED_PATH.search(line)
                if path:
                    return path.group(1)
                found = found or "an unknown file"
    return found


def disk_full_message(where: str, step: str | None = None, run: bool = True) -> str:
    """One line for a command that stopped because the disk is full (`run`: a load run)."""
    during = f" during the {step} step" if step else ""
    kept = (
        "; what was loaded is kept, and what was read waits in a load package or is read again"
        if run
        else ""
    )
    return (
        f"disk full (no space left on device) writing {where}{during}: free space on that "
        f"file system and run again{kept}"
    )


def _is_transient(exc: BaseException) -> bool:
    from dlt.common.destination.exceptions import DestinationTransientException

    return find(exc, DestinationTransientException) is not None


def reset_hint(target: str | None = None) -> str:
    """What to run to drop a package that cannot load: a target's run has its own packages."""
    if target is None:
        return RESET_HINT
    return RESET_HINT.replace("reset-pending", f"reset-pending --target {target}")


def finish_pending(pipeline: dlt.Pipeline, target: str | None = None) -> list[str]:
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
        where = disk_full(exc)
        if where is not None:
            raise PendingLoadFailed(disk_full_message(where, "load")) from exc
        if _is_transient(exc):
            # the package is fine; the destination is not reachable right now
            raise PendingLoadFailed(
                "a load package left by an earlier run could not be loaded because the "
                "destination is unavailable: fix that and run again (nothing is lost); "
                f"cause: {step_failure_gist(exc)}"
            ) from exc
        raise PendingLoadFailed(
            f"a load package left by an earlier run cannot be loaded: {reset_hint(target)}; "
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


def align_state(pipeline: dlt.Pipeline, remote: str | None, quiet: bool = False) -> dlt.Pipeline:
    """Return a pipeline whose cursors are those saved in its destination.

    dlt keeps the local state when it has a higher version than the destination's. If the
    database was replaced (restored from a backup, or the path pointed at another file), the
    local cursors would then be ahead of the data and the restores in between never read.
    When the newest state in the destination (`remote`, its version hash) is not the local
    one, the local copy is dropped and dlt restores the destination's on the next run.
    `quiet` when the run already said so (a damaged local state was set aside).
    """
    if pipeline.has_pending_data:
        return pipeline  # pending packages are this destination's, ahead of it on purpose
    local = pipeline.state.get("_version_hash")
    if remote is None or local is None or remote == local:
        return pipeline
    from dlt.common import logger

    if not quiet:
        logger.warning(
            "the local pipeline state does not match the destination's; "
            "continuing from the cursors saved in the destination"
        )
    return pipeline.drop()
