"""Several projects and regions in one run: `targets`, each validated like a single project."""

from __future__ import annotations

import ast
import copy
import json
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
    {"endpoint", "region", "project_id", "instance_ids", "credentials", "start_date"}
)
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
