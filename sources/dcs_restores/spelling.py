"""Settings that are never read because a name is misspelled: a warning naming the closest
known one (dlt itself ignores an unknown key or variable without a word)."""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .settings import ENV_PREFIX, SECTION

# how alike a name must be to a known one to be taken for a misspelling of it
_CUTOFF = 0.8
# bounded: a crowded environment or a huge file costs little and says little
_MAX_WARNINGS = 10


def _close(name: str, known: Iterable[str]) -> str | None:
    found = difflib.get_close_matches(name, list(known), n=1, cutoff=_CUTOFF)
    return found[0] if found else None


def env_warnings(environ: Mapping[str, str], keys: Iterable[str]) -> list[str]:
    """Warnings for environment variables that look meant for `[sources.dcs_restores]` but
    that dlt does not read (`SOURCES__DCS_RESTORE__ENDPOINT`, `..._RESTORES__PAGESIZE`).

    `keys` are the config keys, `credentials.access_key` style.
    """
    known = [ENV_PREFIX + key.upper().replace(".", "__") for key in keys]
    found = []
    for name in sorted(environ):
        upper = name.upper()
        if upper in known or not ("DCS" in upper or upper.startswith("SOURCE")):
            continue
        if "__" not in upper:
            continue
        guess = _close(upper, known)
        if upper.startswith(ENV_PREFIX):
            hint = f"did you mean {guess}?" if guess else f"known keys: {_known_list(keys)}"
            found.append(f"environment variable {name[:80]} is not a known setting: {hint}")
        elif guess:
            found.append(f"environment variable {name[:80]} is not read: did you mean {guess}?")
    return found[:_MAX_WARNINGS]


def _known_list(keys: Iterable[str]) -> str:
    return ", ".join(key for key in keys if "." not in key)


def toml_warnings(folder: Path, keys: Iterable[str]) -> list[str]:
    """Warnings for unknown keys under `[sources.dcs_restores]` (and a misspelled section
    name) in `folder`/config.toml and `folder`/secrets.toml."""
    keys = list(keys)
    top = {key for key in keys if "." not in key}
    credentials = {key.split(".", 1)[1] for key in keys if key.startswith("credentials.")}
    found = []
    for name in ("config.toml", "secrets.toml"):
        path = folder / name
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # absent, or dlt's own error says what is wrong with it
        sources = document.get("sources")
        if not isinstance(sources, dict):
            continue
        where = f".dlt/{name}"
        for section, table in sources.items():
            if section == SECTION and isinstance(table, dict):
                found.extend(_unknown(table, top, f"[sources.{SECTION}]", where))
                own = table.get("credentials")
                if isinstance(own, dict):
                    found.extend(
                        _unknown(own, credentials, f"[sources.{SECTION}.credentials]", where)
                    )
            elif section not in top and _close(section, [SECTION]):
                found.append(
                    f"[sources.{section[:40]}] in {where} is not read: did you mean "
                    f"[sources.{SECTION}]?"
                )
    return found[:_MAX_WARNINGS]


def _unknown(table: dict[str, Any], known: set[str], section: str, where: str) -> list[str]:
    found = []
    for key in table:
        if key in known:
            continue
        guess = _close(key, known)
        hint = f"did you mean {guess}?" if guess else f"known keys: {', '.join(sorted(known))}"
        found.append(f"unknown key {key[:40]} under {section} in {where} is not read: {hint}")
    return found


def project_folder() -> Path:
    """The project's `.dlt` folder that dlt reads (the working directory's)."""
    return Path(os.environ.get("DLT_PROJECT_DIR") or ".") / ".dlt"
