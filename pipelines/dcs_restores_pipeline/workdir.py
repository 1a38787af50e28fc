"""The pipeline's working dir (`<pipelines dir>/dcs_restores/`): heal it before dlt reads it.

dlt keeps the cursors in `state.json` and the table schemas in `schemas/*.json` there, and
fails every later run with a bare JSON error when one of them is damaged (disk full while
writing, a copy cut short, a hand edit), although the destination holds the same state. A run
therefore checks these files first, moves a damaged one aside (kept for inspection) and lets
dlt take the state from the destination. It also removes what killed extracts left behind and
can never load. All of this runs under the run lock.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from dcs_restores import log as logger
from dcs_restores.errors import DcsRestoresError

from dcs_restores_pipeline.config import PIPELINE_NAME

STATE_FILE = "state.json"
SCHEMAS_DIR = "schemas"
# dlt's extract storage writes new packages to `normalize/<random id>/` and moves each to
# `normalize/extracted/` when the extract commits; anything else there can never load
NORMALIZE_DIR = "normalize"
NORMALIZE_KEEP = frozenset({"extracted", ".version"})
PENDING_DIRS = ("normalize/extracted", "load/new", "load/normalized")
# where damaged files are kept: outside the working dir, which dlt wipes when state.json is gone
DAMAGED_DIR = f".{PIPELINE_NAME}.damaged"


class DamagedState(DcsRestoresError):
    """The local state is damaged and this command does not repair it; one line."""


@dataclass
class Healing:
    """What `heal()` did; `lines()` is what the run logs (at most one line per kind)."""

    # (file, why it is damaged, where it was moved)
    damaged: list[tuple[str, str, Path]] = field(default_factory=list)
    # healthy files moved with them, so that dlt restores a consistent set from the destination
    set_aside: list[Path] = field(default_factory=list)
    from_snapshot: str | None = None
    removed: list[str] = field(default_factory=list)
    removed_files: int = 0

    def lines(self) -> list[str]:
        lines = []
        if self.damaged:
            source = (
                f"the snapshot in pending load package {self.from_snapshot}, then the destination"
                if self.from_snapshot
                else "the destination"
            )
            files = "; ".join(f"{name} ({why}) set aside as {to}" for name, why, to in self.damaged)
            also = f" (also moved there: {', '.join(p.name for p in self.set_aside)})"
            lines.append(
                f"damaged local pipeline state: {files}; state taken from {source}"
                + (also if self.set_aside else "")
            )
        if self.removed:
            lines.append(
                f"removed {len(self.removed)} unfinished extract folder(s) of an interrupted run "
                f"({self.removed_files} files, nothing of them was committed): "
                f"{', '.join(self.removed)}"
            )
        return lines


def _state_problem(text: str) -> str | None:
    """Why dlt could not use this state.json, or None when it can."""
    from dlt.common.versioned_state import json_decode_state
    from dlt.pipeline.state_sync import migrate_state_to_current

    try:
        state = json_decode_state(text)
        if not isinstance(state, dict):
            return f"a JSON {type(state).__name__}, not a pipeline state"
        for key, kind in (("_state_version", int), ("_state_engine_version", int)):
            if not isinstance(state.get(key), kind):
                return f"no {key}"
        if not isinstance(state.get("_local", {}), dict):
            return "no _local section"
        migrate_state_to_current(PIPELINE_NAME, state)
    except Exception as exc:  # any way of failing to decode is damage here
        return _gist(exc)
    return None


def _schema_problem(text: str) -> str | None:
    """Why dlt could not use this stored schema, or None when it can."""
    from dlt.common.schema import Schema

    try:
        stored = json.loads(text)
        if not isinstance(stored, dict):
            return f"a JSON {type(stored).__name__}, not a schema"
        Schema.from_dict(stored)
    except Exception as exc:
        return _gist(exc)
    return None


def _gist(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0][:120]}" if lines else type(exc).__name__


def _read(path: Path) -> tuple[str | None, str | None]:
    """The file's text, or None and why it is unreadable as UTF-8."""
    try:
        return path.read_bytes().decode("utf-8"), None
    except UnicodeDecodeError:
        return None, "not UTF-8 text"


def _problem(path: Path, kind: str) -> str | None:
    text, problem = _read(path)
    if text is None:
        return problem
    if not text.strip():
        return "empty"
    return _state_problem(text) if kind == "state" else _schema_problem(text)


def pending_packages(working_dir: Path) -> list[Path]:
    """Committed packages not yet loaded (any of them can still load), oldest first."""
    found = [
        package
        for sub in PENDING_DIRS
        if (working_dir / sub).is_dir()
        for package in (working_dir / sub).iterdir()
        if package.is_dir()
    ]
    return sorted(found, key=lambda p: p.name)


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def _set_aside(path: Path, working_dir: Path, stamp: str) -> Path:
    target_dir = working_dir.parent / DAMAGED_DIR
    target_dir.mkdir(parents=True, exist_ok=True)
    relative = path.relative_to(working_dir)
    name = f"{'__'.join(relative.parts)}.damaged-{stamp}"
    target, n = target_dir / name, 1
    while target.exists():  # two repairs within a second keep both copies
        target, n = target_dir / f"{name}.{n}", n + 1
    path.replace(target)
    return target


def _snapshot(package: Path) -> tuple[Path | None, Path | None]:
    """The state.json and the schema that dlt saved in `package` when it started it."""
    restore = package / ".restore"
    state = restore / STATE_FILE
    schema = package / "schema.json"
    return (state if state.is_file() else None, schema if schema.is_file() else None)


def _schema_name(schema: Path | None) -> str | None:
    """The name inside a usable schema file, or None."""
    if schema is None or _problem(schema, "schema") is not None:
        return None
    name = json.loads(schema.read_text(encoding="utf-8")).get("name")
    return name if isinstance(name, str) and name else None


def _state_from_snapshot(snapshot: Path, schema: Path | None, target: Path) -> bool:
    """Write the package's snapshot of the state as `target`; False when it is unusable.

    The snapshot of a pipeline's first package predates its first schema: the schema the
    package brings is named in it, or dlt would find no schema to normalize and load with.
    """
    from dlt.common.versioned_state import json_decode_state, json_encode_state

    if _problem(snapshot, "state") is not None:
        return False
    state = json_decode_state(snapshot.read_text(encoding="utf-8"))
    name = _schema_name(schema)
    if schema is not None and name is not None:
        names = list(state.get("schema_names") or [])
        state["schema_names"] = names if name in names else [*names, name]
        state["default_schema_name"] = state.get("default_schema_name") or name
        stored = target.parent / SCHEMAS_DIR / f"{name}.schema.json"
        if not stored.is_file():
            stored.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(schema, stored)
    if not state.get("default_schema_name"):
        return False
    target.write_text(json_encode_state(state), encoding="utf-8")  # type: ignore[arg-type]
    return True


def heal(working_dir: Path) -> Healing:
    """Check the local state and schemas, set damaged ones aside, remove dead extract folders.

    With no pending package, a damaged state.json is only moved aside: dlt then starts a fresh
    working dir and restores state and schemas from the destination on the run. With pending
    packages that can still load, the working dir must not be wiped: state.json is taken from the
    newest package's snapshot (the state before that package; the package carries the rest), and
    a damaged schema from the package's own schema, so those packages load first as usual.
    """
    healing = Healing()
    if not working_dir.is_dir():
        return healing
    _remove_dead_extracts(working_dir, healing)
    stamp = _stamp()
    state = working_dir / STATE_FILE
    schemas = sorted((working_dir / SCHEMAS_DIR).glob("*.json"))
    state_problem = _problem(state, "state") if state.is_file() else None
    damaged_schemas = [(s, why) for s in schemas if (why := _problem(s, "schema")) is not None]
    if state_problem is None and not damaged_schemas:
        return healing
    pending = pending_packages(working_dir)
    snapshot_state, snapshot_schema = _snapshot(pending[-1]) if pending else (None, None)

    def damaged(path: Path, why: str) -> None:
        name = str(path.relative_to(working_dir))
        healing.damaged.append((name, why, _set_aside(path, working_dir, stamp)))

    if state_problem is not None:
        damaged(state, state_problem)
        if snapshot_state is not None and _state_from_snapshot(
            snapshot_state, snapshot_schema, state
        ):
            healing.from_snapshot = pending[-1].name
    elif not pending:
        # dlt would otherwise keep a state whose schemas are gone; fresh from the destination
        healing.set_aside.append(_set_aside(state, working_dir, stamp))
    for schema, why in damaged_schemas:
        damaged(schema, why)
        if pending and _schema_name(snapshot_schema) == schema.name.split(".")[0]:
            assert snapshot_schema is not None
            shutil.copyfile(snapshot_schema, schema)
            healing.from_snapshot = pending[-1].name
        elif pending and state.is_file():
            # a state naming a schema that is gone fails dlt: both come from the destination
            healing.set_aside.append(_set_aside(state, working_dir, stamp))
    if pending and not state.is_file():
        # no usable snapshot: keep the packages for inspection rather than let dlt wipe them
        for package in pending:
            healing.set_aside.append(_set_aside(package, working_dir, stamp))
    return healing


def _remove_dead_extracts(working_dir: Path, healing: Healing) -> None:
    normalize = working_dir / NORMALIZE_DIR
    if not normalize.is_dir():
        return
    for entry in sorted(normalize.iterdir()):
        if entry.name in NORMALIZE_KEEP or not entry.is_dir():
            continue
        healing.removed_files += sum(1 for p in entry.rglob("*") if p.is_file())
        shutil.rmtree(entry)
        healing.removed.append(f"{NORMALIZE_DIR}/{entry.name}")


def raise_if_damaged(path: Path, cause: BaseException) -> None:
    """Raise DamagedState naming the file and the fix if a local state file is damaged.

    For commands that open the pipeline without the run lock (`models`, `check` on
    PostgreSQL): only a run, under the lock, may move files of the working dir.
    """
    files = [path / STATE_FILE] if (path / STATE_FILE).is_file() else []
    files += sorted((path / SCHEMAS_DIR).glob("*.json"))
    for file in files:
        why = _problem(file, "state" if file.name == STATE_FILE else "schema")
        if why is not None:
            raise DamagedState(
                f"the local pipeline state file {file} is damaged ({why}): run "
                "`dcs-restores run`, which sets it aside and takes the state from the destination"
            ) from cause


def working_dir(pipelines_dir: str | None, name: str = PIPELINE_NAME) -> Path:
    """`<pipelines dir>/<name>` (default `dcs_restores`), where dlt keeps the local state of
    pipeline `name`."""
    from dlt.common.pipeline import get_dlt_pipelines_dir

    return Path(pipelines_dir or get_dlt_pipelines_dir()) / name


def heal_and_log(path: Path, report: Callable[[str], None] | None = None) -> Healing:
    """`heal()`, then one warning line per kind of repair (also to `report`, the progress)."""
    healing = heal(path)
    for line in healing.lines():
        logger.warning(line)
        if report is not None:
            report(line)
    return healing
