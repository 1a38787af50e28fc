"""`dcs-restores run` as a scheduler starts it: its first requests go out while dlt is imported.

Importing dlt and setting up the pipeline take about a second of every run. When the
environment alone configures one project on DuckDB (a crontab line, the README's way), the
run's reads begin at once with the settings and cursors read here without dlt
(`dcs_restores.prefetch`), and the extract takes them over. Whenever this module cannot see
the configuration as dlt will (settings in .dlt/*.toml, targets, pipeline-scoped or bare
variables, PostgreSQL, another run holding the lock), the run starts as before. The extract
checks the settings dlt resolves against these before using any answer.
"""

from __future__ import annotations

import contextlib
import json
import os
import tomllib
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from dcs_restores import prefetch
from dcs_restores.settings import CONFIG_DEFAULTS, ENV_PREFIX, SECTION
from dcs_restores.spelling import project_folder
from dcs_restores.validation import CREDENTIAL_KEYS, SourceSettings, validate

from dcs_restores_pipeline.config import PIPELINE_NAME, database_path
from dcs_restores_pipeline.localstate import duckdb_destination
from dcs_restores_pipeline.runlock import database_lock, held

# the options of `run` that change nothing the early reads depend on
_PLAIN_OPTIONS = frozenset({"--quiet", "--json"})
_CREDENTIALS = ENV_PREFIX + "CREDENTIALS__"


def begin(argv: Sequence[str], environ: Mapping[str, str] = os.environ) -> bool:
    """Start the early reads of `dcs-restores <argv>` if it is a plain run; True if started.

    Never raises: whatever goes wrong here, the run starts as before.
    """
    try:
        if not argv or argv[0] != "run" or not set(argv[1:]) <= _PLAIN_OPTIONS:
            return False
        settings = env_settings(environ)
        if settings is None:
            return False
        database = database_path()
        if held(database_lock(database)):
            return False  # that run's own message comes once dlt is set up
        cursors = _cursors(database, environ)
        if cursors is None:
            return False
        prefetch.start(settings, cursors)
        return True
    except Exception:
        return False


def env_settings(environ: Mapping[str, str]) -> SourceSettings | None:
    """One project's settings from `SOURCES__DCS_RESTORES__*` alone; None if anything else
    could configure the run (dlt would then resolve settings this cannot see)."""
    if not _env_alone(environ):
        return None
    values: dict[str, Any] = dict(CONFIG_DEFAULTS)
    credentials: dict[str, Any] = dict.fromkeys(CREDENTIAL_KEYS)
    for name, value in environ.items():
        if name.startswith(_CREDENTIALS):
            key = name[len(_CREDENTIALS) :].lower()
            if key not in credentials:
                return None
            credentials[key] = value
        elif name.startswith(ENV_PREFIX):
            key = name[len(ENV_PREFIX) :].lower()
            if key not in CONFIG_DEFAULTS:
                return None  # targets, or a key this does not know
            values[key] = value
    spec = SimpleNamespace(**values, credentials=SimpleNamespace(**credentials))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # dlt's resolution warns, once
            return validate(spec)
    except Exception:
        return None  # the run's own resolution says what is wrong


def _env_alone(environ: Mapping[str, str]) -> bool:
    """No variable or file that dlt would read for this source besides ENV_PREFIX ones."""
    keys = {*CONFIG_DEFAULTS, "credentials", "targets"}
    pipeline_scoped = PIPELINE_NAME.upper() + "__"
    for name in environ:
        upper = name.upper()
        if upper.startswith(pipeline_scoped) or (name != upper and upper.startswith(ENV_PREFIX)):
            return False
        first = upper.split("__", 1)[0].lower()
        if first in keys or (upper.startswith("SOURCES__") and not upper.startswith(ENV_PREFIX)):
            return False
    if environ.get("DESTINATION_TYPE", "duckdb").strip().lower() != "duckdb":
        return False
    # dlt reads settings from other folders then: a config folder, a workspace's profiles
    if environ.get("DLT_CONFIG_FOLDER") or (project_folder() / ".workspace").exists():
        return False
    if not os.access(Path.home(), os.W_OK):
        return False  # dlt's global folder is then /tmp/dlt
    for folder in (project_folder(), _global_dir(environ), Path.home() / ".dlt"):
        for name in ("config.toml", "secrets.toml"):
            path = folder / name
            if path.exists() and not _silent(path, keys):
                return False
    return True


def _silent(path: Path, keys: set[str]) -> bool:
    """True if the toml file sets nothing this source or the destination type reads."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if "destination_type" in data or any(key in data for key in keys):
        return False
    return _empty(data.get("sources", {}))


def _empty(value: Any) -> bool:
    if isinstance(value, dict):
        return all(_empty(item) for item in value.values())
    return False


def _global_dir(environ: Mapping[str, str]) -> Path:
    """dlt's global folder (its config.toml/secrets.toml, and its data dir unless DLT_DATA_DIR
    says otherwise), found as dlt finds it."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return Path("/var/dlt")
    home = Path.home() / ".dlt"
    xdg = environ.get("XDG_DATA_HOME")
    return Path(xdg) / "dlt" if xdg and not home.is_dir() else home


def _pipelines_root(environ: Mapping[str, str]) -> Path:
    """dlt's pipelines dir (a wrong guess only costs requests that the run sends again)."""
    data_dir = environ.get("DLT_DATA_DIR")
    return (Path(data_dir) if data_dir else _global_dir(environ)) / "pipelines"


def _cursors(database: Path, environ: Mapping[str, str]) -> dict[str, Any] | None:
    """The restores' and backups' cursors of the last run, from the local state file; empty
    before the first run, None when they cannot be known without dlt."""
    key = duckdb_destination(database).key
    state = _pipelines_root(environ) / key / PIPELINE_NAME / "state.json"
    if not state.exists():
        # a first run reads everything anyway; a database without its local state (a new
        # container, a wiped ~/.dlt) gets its cursors back from the database, through dlt
        return None if database.exists() else {}
    with contextlib.suppress(OSError, ValueError):
        data = json.loads(state.read_text(encoding="utf-8"))
        resources = data.get("sources", {}).get(SECTION, {}).get("resources", {})
        return {
            kind: dict(resources.get(kind, {}).get("cursors", {}))
            for kind in ("restores", "backups")
        }
    return None
