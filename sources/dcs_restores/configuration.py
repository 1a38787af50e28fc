"""Configuration of the source: dlt config specs, resolved from env vars and .dlt/*.toml, and
validated (validation.py) into one-line errors."""

from __future__ import annotations

import warnings
from typing import Any

from dlt.common.configuration import configspec, resolve_configuration
from dlt.common.configuration.specs import BaseConfiguration, CredentialsConfiguration
from dlt.common.typing import TSecretStrValue, TSecretValue

from .errors import ConfigError, ConfigWarning
from .settings import (
    DEFAULT_BACKUPS,
    DEFAULT_CONCURRENCY,
    DEFAULT_LOOKBACK_HOURS,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_MAX_BODY_MB,
    DEFAULT_MAX_RETRY_DELAY_S,
    DEFAULT_PAGE_SIZE,
    DEFAULT_REQUEST_TIMEOUT_S,
    SECTION,
)
from .validation import Credentials, SourceSettings, validate

__all__ = [
    "ConfigError",
    "Credentials",
    "DcsCredentials",
    "DcsRestoresConfiguration",
    "SourceSettings",
    "load_settings",
    "resolve_spec",
    "validate",
]


@configspec
class DcsCredentials(CredentialsConfiguration):
    """AK/SK (optionally temporary, with a security token) or an IAM token."""

    access_key: str | None = None
    secret_key: TSecretStrValue | None = None
    security_token: TSecretStrValue | None = None
    auth_token: TSecretStrValue | None = None


@configspec
class DcsRestoresConfiguration(BaseConfiguration):
    """Everything under `[sources.dcs_restores]`; every field has a default in code."""

    endpoint: str | None = None
    region: str | None = None
    project_id: str | None = None
    instance_ids: Any | None = None
    # several projects/regions in one run (see targets.py); secret-typed because a target may
    # carry its own keys: dlt then reads it only from secrets.toml or the environment and
    # never writes its value into traces
    targets: TSecretValue | None = None
    start_date: str | None = None
    # numbers are typed Any so that a bad value reaches validate() and its one-line message
    lookback_hours: Any = DEFAULT_LOOKBACK_HOURS
    page_size: Any = DEFAULT_PAGE_SIZE
    concurrency: Any = DEFAULT_CONCURRENCY
    max_attempts: Any = DEFAULT_MAX_ATTEMPTS
    max_retry_delay: Any = DEFAULT_MAX_RETRY_DELAY_S
    request_timeout: Any = DEFAULT_REQUEST_TIMEOUT_S
    max_body_mb: Any = DEFAULT_MAX_BODY_MB
    # also load table `backups` (one more request per instance and run)
    backups: Any = DEFAULT_BACKUPS
    credentials: DcsCredentials = None  # type: ignore[assignment]


def _gist(exc: BaseException) -> str:
    # a TOML syntax error sits in the cause, on the line after "A problem encountered..."
    parts = [str(exc), *([str(exc.__cause__)] if exc.__cause__ else [])]
    lines = dict.fromkeys(line.strip() for part in parts for line in part.splitlines())
    text = " ".join(line for line in lines if line)
    if "cannot hold secret values" in text:
        text += " (secrets go to .dlt/secrets.toml or environment variables)"
    return text[:400]


def _config_keys() -> list[str]:
    keys = list(DcsRestoresConfiguration.get_resolvable_fields())
    return keys + [f"credentials.{key}" for key in DcsCredentials.get_resolvable_fields()]


def warn_misspelled() -> None:
    """Warn (ConfigWarning) about variables and keys meant for this source that dlt ignores."""
    import os

    from .spelling import env_warnings, project_folder, toml_warnings

    keys = _config_keys()
    for message in env_warnings(os.environ, keys) + toml_warnings(project_folder(), keys):
        warnings.warn(message, ConfigWarning, stacklevel=2)


def resolve_spec(**overrides: Any) -> DcsRestoresConfiguration:
    """Resolve `[sources.dcs_restores]` from env vars and .dlt/*.toml and apply overrides."""
    warn_misspelled()
    try:
        spec = resolve_configuration(
            DcsRestoresConfiguration(), sections=("sources", SECTION), accept_partial=True
        )
    except Exception as exc:  # dlt's own errors are multi-line: one line, with the cause
        raise ConfigError(f"cannot read configuration: {_gist(exc)}") from exc
    for key, value in overrides.items():
        if value is not None:
            setattr(spec, key, value)
    return spec


def load_settings(**overrides: Any) -> SourceSettings:
    """Resolve `[sources.dcs_restores]`, apply overrides and validate one project."""
    return validate(resolve_spec(**overrides))
