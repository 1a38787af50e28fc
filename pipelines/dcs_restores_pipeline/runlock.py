"""One run at a time: an exclusive, non-blocking file lock per destination and per database.

Two runs of the same pipeline at once would both extract from the same cursors and race on
the pipeline's local state and load packages. `flock` locks belong to the open file, so the
kernel releases them when the process ends, however it ends (SIGKILL included): a crashed run
never leaves a stale lock behind, and the lock file itself is never deleted (deleting it would
let a second process lock a fresh file while the first still holds the old one).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from dcs_restores.errors import DcsRestoresError

from dcs_restores_pipeline.config import PIPELINE_NAME


class RunLocked(DcsRestoresError):
    """Another run holds the lock; `str()` is one line saying which process and what to do."""


def lock_paths(pipelines_dir: str | None, database: Path | None) -> list[Path]:
    """Return the lock files of a run: one in the destination's own pipelines dir (beside its
    working dir; see localstate), one beside a DuckDB file (two pipelines dirs, e.g. cron's and
    a user's, or an earlier version's, can share one database)."""
    from dlt.common.pipeline import get_dlt_pipelines_dir

    root = Path(pipelines_dir or get_dlt_pipelines_dir())
    paths = [root / f".{PIPELINE_NAME}.lock"]
    if database is not None:
        paths.append(database_lock(database))
    return paths


def database_lock(database: Path) -> Path:
    """The lock file beside a DuckDB file."""
    return database.with_name(database.name + ".lock")


def held(path: Path) -> bool:
    """Whether another process holds the lock `path` now (a probe: nothing is written)."""
    if not path.exists():
        return False
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    return False


def _holder(handle: IO[str]) -> str:
    handle.seek(0)
    text = handle.read().strip()
    return f" ({text})" if text else ""


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    # "a+" never truncates: the holder's pid stays readable for the refusal message
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunLocked(
                f"another dcs-restores run is in progress{_holder(handle)}, holding {path}: "
                "wait for it to finish (the lock is released when that process exits)"
            ) from None
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()}, started {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}\n")
            handle.flush()
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextmanager
def exclusive_run(paths: Sequence[Path]) -> Iterator[None]:
    """Hold every lock in `paths` for the block, or raise RunLocked without waiting."""
    with ExitStack() as stack:
        for path in paths:
            stack.enter_context(_locked(path))
        yield
