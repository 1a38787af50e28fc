"""Several projects and regions in one run: `targets`, each validated like a single project.

Each target has a name (`name`, default its project id): `dcs-restores run --target NAME` loads
that target alone, with its own pipeline name and state (an orchestrator runs one task per
target).
"""

from __future__ import annotations

import ast
import copy
import json
import re
from typing import Any

from .configuration import (
    DcsCredentials,
    DcsRestoresConfiguration,
    SourceSettings,
    resolve_spec,
    validate,
)
from .errors import ConfigError
from .settings import env_var

TARGET_KEYS = frozenset(
    {"name", "endpoint", "region", "project_id", "instance_ids", "credentials", "start_date"}
)
# a name becomes part of a pipeline, dataset and directory name: nothing else may be in it,
# and no "__" (dataset names collapse it, so "a__b" and "a_b" would share a staging dataset)
NAME_PATTERN = re.compile(r"(?=.{1,64}$)[a-z0-9]+(?:_[a-z0-9]+)*")
CREDENTIAL_KEYS = frozenset({"access_key", "secret_key", "security_token", "auth_token"})
HINT = f'set {env_var("targets")} to a list like [{{"region": "eu-west-101", "project_id": "..."}}]'


def _parse(value: Any) -> list[Any]:
    if isinstance(value, str):
        text = value.strip()
        try:
            value = json.loads(text)
        except ValueError:
            try:
                value = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                raise ConfigError(f"targets is not a list: {HINT}") from None
    if not isinstance(value, list | tuple) or not value:
        raise ConfigError(f"targets must be a non-empty list: {HINT}")
    return list(value)


def _target_spec(
    base: DcsRestoresConfiguration, index: int, target: Any
) -> DcsRestoresConfiguration:
    if not isinstance(target, dict):
        raise ConfigError(f"targets[{index}] is not a table/object: {HINT}")
    unknown = set(target) - TARGET_KEYS
    if unknown:
        raise ConfigError(
            f"targets[{index}] has unknown keys {sorted(unknown)}: use {sorted(TARGET_KEYS)}"
        )
    if "name" in target:
        _check_name(target["name"])
    spec = copy.copy(base)
    spec.endpoint = target.get("endpoint")
    spec.region = target.get("region")
    spec.project_id = target.get("project_id")
    spec.instance_ids = target.get("instance_ids")
    spec.start_date = target.get("start_date", base.start_date)
    own = target.get("credentials")
    if own is not None:
        if not isinstance(own, dict) or set(own) - CREDENTIAL_KEYS:
            raise ConfigError(
                f"targets[{index}].credentials must have only {sorted(CREDENTIAL_KEYS)}"
            )
        credentials = DcsCredentials()
        for key in CREDENTIAL_KEYS:
            setattr(credentials, key, own.get(key))
        spec.credentials = credentials
    return spec


def _check_name(name: Any) -> None:
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise ConfigError(
            "name must be 1-64 lowercase letters and digits, words joined by single '_'"
        )


def target_names(**overrides: Any) -> list[str]:
    """Return the name of each target (`name`, default its project id), in order; without
    `targets`, the one project's id.

    Raises:
        ConfigError: a target is wrong, or two targets have the same name.
    """
    return [name for name, _ in named_targets(**overrides)]


def select_target(name: str, **overrides: Any) -> SourceSettings:
    """Return the settings of the target named `name`.

    Raises:
        ConfigError: no target has that name (the line lists the names), or a target is wrong.
    """
    named = dict(named_targets(**overrides))
    if name not in named:
        raise ConfigError(
            f"no target named {name!r}: the targets are {', '.join(sorted(named))} (a target's "
            'name is its "name", else its project_id)'
        )
    return named[name]


def named_targets(**overrides: Any) -> list[tuple[str, SourceSettings]]:
    """Return (name, settings) of every target, like `load_targets`; names are unique.

    Raises:
        ConfigError: a target is wrong, or two targets have the same name.
    """
    base = resolve_spec(**overrides)
    if base.targets in (None, "", []):
        single = validate(base)
        return [(single.project_id, single)]
    settings = load_targets(**overrides)
    # load_targets checked each target and its name, when it has one
    names = [
        str(target.get("name") or each.project_id)
        for target, each in zip(_parse(base.targets), settings, strict=True)
    ]
    if len(set(names)) != len(names):
        raise ConfigError(
            'two targets have the same name: give each its own "name" (default: its project_id)'
        )
    return list(zip(names, settings, strict=True))


def load_targets(**overrides: Any) -> list[SourceSettings]:
    """Return one validated SourceSettings per target, or the single project when no `targets`.

    Shared keys (look-back, page size, concurrency, retries, credentials) apply to every
    target unless the target sets its own credentials.

    Raises:
        ConfigError: one line, naming the target (`targets[i]`) that is wrong.
    """
    base = resolve_spec(**overrides)
    if base.targets in (None, "", []):
        return [validate(base)]
    settings = []
    for index, target in enumerate(_parse(base.targets)):
        try:
            settings.append(validate(_target_spec(base, index, target)))
        except ConfigError as exc:
            raise ConfigError(f"targets[{index}]: {exc}") from None
    keys = [(s.endpoint, s.project_id) for s in settings]
    if len(set(keys)) != len(keys):
        raise ConfigError("targets lists the same endpoint and project_id twice: remove one")
    return settings
