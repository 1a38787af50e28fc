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


def _named_specs(base: DcsRestoresConfiguration) -> list[tuple[str, DcsRestoresConfiguration]]:
    """(name, unvalidated spec) of every target: names need neither keys nor requests."""
    if base.targets in (None, "", []):
        if not (base.project_id or "").strip():
            # no target and no project: the settings a first run lacks, said as `run` says them
            validate(base)
        named = [((base.project_id or "").strip(), base)]
    else:
        named = []
        for index, target in enumerate(_parse(base.targets)):
            try:
                spec = _target_spec(base, index, target)
            except ConfigError as exc:
                raise ConfigError(f"targets[{index}]: {exc}") from None
            named.append((str(target.get("name") or (spec.project_id or "").strip()), spec))
    for index, (name, _) in enumerate(named):
        if not NAME_PATTERN.fullmatch(name):
            raise ConfigError(
                f"targets[{index}] has no usable name: set its project_id, or a name of 1-64 "
                "lowercase letters and digits, words joined by single '_'"
            )
    names = [name for name, _ in named]
    if len(set(names)) != len(names):
        raise ConfigError(
            'two targets have the same name: give each its own "name" (default: its project_id)'
        )
    return named


def target_names(**overrides: Any) -> list[str]:
    """Return the name of each target (`name`, default its project id), in order; without
    `targets`, the one project's id. Needs no credentials: each target's run brings its own.

    Raises:
        ConfigError: a target is malformed, or two targets have the same name.
    """
    return [name for name, _ in _named_specs(resolve_spec(**overrides))]


def select_target(name: str, **overrides: Any) -> SourceSettings:
    """Return the validated settings of the target named `name`; the other targets are not
    validated (their keys may be absent where this one runs).

    Raises:
        ConfigError: no target has that name (the line lists the names), or it is wrong.
    """
    base = resolve_spec(**overrides)
    named = _named_specs(base)
    for index, (each, spec) in enumerate(named):
        if each == name:
            try:
                return validate(spec)
            except ConfigError as exc:
                if base.targets in (None, "", []):
                    raise
                raise ConfigError(f"targets[{index}]: {exc}") from None
    raise ConfigError(
        f"no target named {name!r}: the targets are {', '.join(sorted(n for n, _ in named))} "
        '(a target\'s name is its "name", else its project_id)'
    )


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
