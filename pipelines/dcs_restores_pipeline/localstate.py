"""Where a destination's local pipeline state lives: one pipelines dir per destination.

dlt keeps a pipeline's working dir at `<pipelines dir>/<pipeline name>/`, one per user and
machine (as root `/var/dlt/pipelines`, whatever HOME is). Runs on two databases would then share
cursors, load packages and the run lock: each switch drops the other's local state, and one's
run blocks the other. So every destination gets its own pipelines dir inside dlt's,
`<dlt pipelines dir>/<kind>-<name>-<hash of its identity>/`, holding the working dir
`dcs_restores/` (the pipeline name stays `dcs_restores`: the cursors saved in the databases are
keyed by it), the run lock `.dcs_restores.lock` and a `DESTINATION` file naming the destination.
A DuckDB destination is its file's absolute path; a PostgreSQL one its host, port, database and
dataset (never a user name or password: those do not make another destination).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dcs_restores import log as logger

from dcs_restores_pipeline.config import DATASET_NAME, PIPELINE_NAME, database_path
from dcs_restores_pipeline.runlock import exclusive_run, lock_paths
from dcs_restores_pipeline.workdir import (
    STATE_FILE,
    Healing,
    heal_and_log,
    pending_packages,
    working_dir,
)

MARKER_FILE = "DESTINATION"
HASH_CHARS = 16
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class Destination:
    """One destination's identity: `label` for people, `key` for its pipelines dir's name."""

    kind: str
    label: str
    key: str
    database: Path | None = None


def _key(kind: str, name: str, identity: str) -> str:
    digest = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:HASH_CHARS]
    readable = _UNSAFE.sub("_", name).strip("._")[:40] or "db"
    return f"{kind}-{readable}-{digest}"


def duckdb_destination(database: Path) -> Destination:
    path = database.expanduser().resolve()
    return Destination("duckdb", f"duckdb {path}", _key("duckdb", path.stem, str(path)), path)


def postgres_destination() -> Destination:
    """The configured PostgreSQL destination (DESTINATION__POSTGRES__CREDENTIALS).

    Raises:
        ConfigError: the credentials do not name a host and a database.
    """
    import dlt
    from dcs_restores.configuration import ConfigError

    config = dlt.destinations.postgres().configuration(None, accept_partial=True)  # type: ignore[arg-type]
    credentials = config.credentials
    host = getattr(credentials, "host", None)
    database = getattr(credentials, "database", None)
    if not host or not database:
        raise ConfigError(
            "the PostgreSQL destination is not configured: set DESTINATION__POSTGRES__CREDENTIALS="
            "postgresql://user:password@host:5432/database"
        )
    where = f"{host}:{getattr(credentials, 'port', None) or 5432}/{database}"
    label = f"postgres {where} dataset {DATASET_NAME}"
    return Destination("postgres", label, _key("postgres", str(database), label))


def identify(database: Path | None, kind: str) -> Destination:
    """The destination a command writes: PostgreSQL as configured, or the DuckDB file
    `database` (default: database_path())."""
    return (
        postgres_destination()
        if kind == "postgres"
        else duckdb_destination(database_path(database))
    )


def for_target(destination: Destination, name: str) -> Destination:
    """The destination as one target's run sees it: its own pipelines dir, so its own working
    dir and run lock (on DuckDB the lock beside the file still makes runs take turns)."""
    return Destination(
        destination.kind,
        f"{destination.label} target {name}",
        f"{destination.key}-{name}",
        destination.database,
    )


def destination_dir(root: str | Path | None, destination: Destination) -> Path:
    """`<root>/<key>`: the destination's own pipelines dir (root: dlt's pipelines dir)."""
    return pipelines_root(root) / destination.key


def pipelines_root(root: str | Path | None) -> Path:
    """`root`, or dlt's pipelines dir (`$DLT_DATA_DIR/pipelines`, `~/.dlt/pipelines`, or as
    root `/var/dlt/pipelines`)."""
    from dlt.common.pipeline import get_dlt_pipelines_dir

    return Path(root or get_dlt_pipelines_dir())


def mark(directory: Path, destination: Destination) -> None:
    """Write the `DESTINATION` file that says whose state a pipelines dir holds."""
    marker = directory / MARKER_FILE
    text = destination.label + "\n"
    if marker.is_file() and marker.read_text(encoding="utf-8", errors="replace") == text:
        return
    directory.mkdir(parents=True, exist_ok=True)
    marker.write_text(text, encoding="utf-8")


def _state_hash(path: Path) -> str | None:
    from dlt.common.versioned_state import json_decode_state

    try:
        value = json_decode_state(path.read_text(encoding="utf-8")).get("_version_hash")
    except Exception:  # a damaged file is not evidence of anything
        return None
    return value if isinstance(value, str) else None


def adopt_legacy(
    root: Path, working_dir: Path, remote_hash: Callable[[], str | None]
) -> str | None:
    """Move the working dir of an earlier version (`<root>/dcs_restores/`) into `working_dir`
    when it is this destination's; return the line to log, or None.

    It is this destination's when the state it starts from is the newest one the destination
    holds: the snapshot in its oldest pending load package (the state before that package), or,
    with nothing pending, its state.json. Only then are its pending packages loaded here; a
    working dir of another destination stays where it is, and while it holds pending packages
    every run says so. Runs under this destination's lock; the earlier version's lock
    (`<root>/.dcs_restores.lock`) is held while moving, so a run of it never sees its dir go.
    """
    legacy = root / PIPELINE_NAME
    if not legacy.is_dir() or legacy.resolve() == working_dir.resolve():
        return None
    pending = pending_packages(legacy)
    # a working dir of this version with nothing pending holds only what the destination holds
    replaceable = not pending_packages(working_dir) if pending else not working_dir.exists()
    if replaceable:
        start = pending[0] / ".restore" / STATE_FILE if pending else legacy / STATE_FILE
        ours = _state_hash(start) if start.is_file() else None
        if ours is not None and ours == remote_hash():
            with exclusive_run([root / f".{PIPELINE_NAME}.lock"]):
                if working_dir.exists():
                    shutil.rmtree(working_dir)
                working_dir.parent.mkdir(parents=True, exist_ok=True)
                legacy.replace(working_dir)
            return (
                f"moved the local pipeline state of an earlier version from {legacy} to "
                f"{working_dir} (local state is kept per destination now)"
                + (f", with {len(pending)} pending load package(s)" if pending else "")
            )
    if not pending:
        return None
    return (
        f"{legacy} (the local pipeline state of an earlier version) holds {len(pending)} pending "
        "load package(s) of another destination: run `dcs-restores run` against the database they "
        "were read for (it takes them over), or, if they are this destination's, move that "
        f"directory to {working_dir} while no run is going; deleting it drops them (their "
        "restores are read again)"
    )


def _probe_state_hash(open_pipeline: Callable[[Path], Any], directory: Path) -> str | None:
    """The destination's newest state hash, read through a throwaway working dir."""
    from dcs_restores_pipeline.bookkeeping import destination_state_hash

    try:
        with tempfile.TemporaryDirectory(prefix=".probe-", dir=directory) as scratch:
            return destination_state_hash(open_pipeline(Path(scratch)))
    except Exception as exc:  # unreachable now: the run itself says so, in its own words
        logger.debug(f"could not read the destination's state: {type(exc).__name__}")
        return None


@contextmanager
def local_state(
    destination: Destination,
    pipelines_dir: str | None,
    open_pipeline: Callable[[Path], Any],
    take_over: bool = True,
    name: str = PIPELINE_NAME,
) -> Iterator[tuple[Path, Healing]]:
    """Hold the destination's run lock, take over an earlier version's working dir when it is
    this destination's (`take_over`), heal the working dir; yield (its pipelines dir, healing).

    `open_pipeline(pipelines_dir)` opens the pipeline with its working dir in that dir;
    `name` is the pipeline's name (its working dir's).

    Raises:
        RunLocked: another run of this destination (or on this DuckDB file) is in progress.
    """
    directory = destination_dir(pipelines_dir, destination)
    with exclusive_run(lock_paths(str(directory), destination.database)):
        mark(directory, destination)
        workdir = working_dir(str(directory), name)
        if take_over:
            line = adopt_legacy(
                pipelines_root(pipelines_dir),
                workdir,
                lambda: _probe_state_hash(open_pipeline, directory),
            )
            if line:
                logger.warning(line)
        yield directory, heal_and_log(workdir)
