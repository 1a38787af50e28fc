"""Validated settings of one project, and the checks that make them: free of dlt, so a
scheduled run can build them (prefetch.py) before dlt is imported."""

from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from .errors import ConfigError, ConfigWarning, RecordError
from .settings import (
    DEFAULT_CONCURRENCY,
    DEFAULT_LOOKBACK_HOURS,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_MAX_BODY_MB,
    DEFAULT_MAX_RETRY_DELAY_S,
    DEFAULT_PAGE_SIZE,
    HUAWEI_ENDPOINT,
    MAX_BODY_MB,
    MAX_CONCURRENCY,
    MAX_PAGE_SIZE,
    OTC_ENDPOINT,
    OTC_REGIONS,
    OTC_UNKNOWN_REGIONS,
    env_var,
)
from .timestamps import parse_timestamp

__all__ = ["CREDENTIAL_KEYS", "Credentials", "SourceSettings", "validate"]

# the keys under [sources.dcs_restores.credentials]
CREDENTIAL_KEYS = ("access_key", "secret_key", "security_token", "auth_token")
_PROJECT_ID = re.compile(r"^[0-9a-fA-F]{32}$")
_INSTANCE_ID = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
_REGION = re.compile(r"^[a-z]{2}(-[a-z0-9]+)+$")
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class Credentials:
    """Validated credentials; `repr` never shows a secret."""

    access_key: str | None = None
    secret_key: str | None = field(default=None, repr=False)
    security_token: str | None = field(default=None, repr=False)
    auth_token: str | None = field(default=None, repr=False)

    @property
    def mode(self) -> str:
        return "token" if self.auth_token else "aksk"

    def secrets(self) -> list[str]:
        """Return every secret value, so callers can check that none leaks."""
        return [s for s in (self.secret_key, self.security_token, self.auth_token) if s]


@dataclass(frozen=True)
class SourceSettings:
    """Validated settings of one run against one project."""

    endpoint: str
    project_id: str
    credentials: Credentials
    instance_ids: tuple[str, ...] | None = None
    start_date: datetime | None = None
    lookback: timedelta = timedelta(hours=DEFAULT_LOOKBACK_HOURS)
    page_size: int = DEFAULT_PAGE_SIZE
    concurrency: int = DEFAULT_CONCURRENCY
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    max_retry_delay: float = DEFAULT_MAX_RETRY_DELAY_S
    request_timeout: float = 60.0
    max_body_bytes: int = DEFAULT_MAX_BODY_MB * 1024 * 1024
    backups: bool = True


def _region_endpoint(region: str) -> str:
    if not _REGION.match(region):
        raise ConfigError(
            f"region {region[:40]!r} is not a region name: set {env_var('region')} "
            "to e.g. eu-de (Open Telekom Cloud) or eu-west-101 (Huawei Cloud)"
        )
    if region in OTC_UNKNOWN_REGIONS:
        raise ConfigError(
            f"region {region!r} is an Open Telekom Cloud region without a known DCS endpoint: "
            f"set {env_var('endpoint')} to its DCS endpoint (see the IAM token's catalog)"
        )
    return (OTC_ENDPOINT if region in OTC_REGIONS else HUAWEI_ENDPOINT).format(region=region)


def _endpoint(endpoint: str | None, region: str | None) -> str:
    endpoint = (endpoint or "").strip() or None
    region = (region or "").strip() or None
    if endpoint and region:
        chosen = _endpoint(endpoint, None)
        try:
            implied: str | None = _region_endpoint(region)
        except ConfigError:
            implied = None
        if implied != chosen:
            # ENDPOINT is the more specific of the two: it wins, and the user hears of it
            warnings.warn(
                f"both endpoint ({chosen}) and region ({region[:40]}) are set: using the "
                f"endpoint; unset {env_var('region')} (or {env_var('endpoint')})",
                ConfigWarning,
                stacklevel=2,
            )
        return chosen
    if endpoint:
        parts = urlsplit(endpoint.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                # shown without anything before an "@", which could be a password
                f"endpoint {endpoint.strip().rpartition('@')[2][:80]!r} is not an http(s) URL: "
                f"set {env_var('endpoint')} "
                "to e.g. https://dcs.eu-de.otc.t-systems.com"
            )
        if parts.username or parts.password:
            raise ConfigError(
                f"endpoint must not contain a user or password: set {env_var('endpoint')} to "
                f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''} "
                "and the keys under [sources.dcs_restores.credentials]"
            )
        if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
            # signatures and tokens would cross the network in clear text
            raise ConfigError(
                f"endpoint {parts.hostname!r} uses http: set {env_var('endpoint')} to an https URL "
                "(plain http is accepted only for a local simulator on 127.0.0.1/localhost)"
            )
        if parts.path.strip("/") or parts.query:
            raise ConfigError(
                f"endpoint must be scheme and host only, without a path: set {env_var('endpoint')} "
                f"to {parts.scheme}://{parts.netloc}"
            )
        return f"{parts.scheme}://{parts.netloc}"
    if region:
        return _region_endpoint(region)
    raise ConfigError(
        f"no endpoint: set {env_var('endpoint')} (e.g. https://dcs.eu-de.otc.t-systems.com) "
        f"or {env_var('region')}, or endpoint under [sources.dcs_restores] in .dlt/config.toml"
    )


def _instance_ids(value: Any) -> tuple[str, ...] | None:
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = ast.literal_eval(text)
            except (ValueError, SyntaxError) as exc:
                raise ConfigError(
                    f"instance_ids is not a list: set {env_var('instance_ids')} to "
                    '["<uuid>", ...] or a comma-separated list of instance ids'
                ) from exc
        else:
            value = [part for part in text.split(",") if part.strip()]
    if not isinstance(value, list | tuple):
        raise ConfigError(
            f"instance_ids must be a list of instance ids: set {env_var('instance_ids')}"
        )
    ids = tuple(str(item).strip() for item in value)
    bad = [item for item in ids if not _INSTANCE_ID.match(item)]
    if bad:
        raise ConfigError(
            f"instance id {bad[0][:40]!r} is not a DCS instance id (a UUID): "
            f"fix {env_var('instance_ids')}"
        )
    return tuple(dict.fromkeys(ids))


def _start_date(value: str | None) -> datetime | None:
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    if re.match(r"^\d{4}-\d{2}-\d{2}$", text):
        text += "T00:00:00"
    try:
        parsed = parse_timestamp(text)
    except RecordError as exc:
        raise ConfigError(
            f"start_date {text[:40]!r} is not a date: set {env_var('start_date')} to YYYY-MM-DD "
            "or an ISO timestamp (UTC unless it has an offset)"
        ) from exc
    return parsed.astimezone(UTC) if parsed else None


def _credentials(spec: Any) -> Credentials:
    ak, sk, token, auth_token = (
        (getattr(spec, key, None) or "").strip() or None for key in CREDENTIAL_KEYS
    )
    where = "[sources.dcs_restores.credentials] in .dlt/secrets.toml"
    if auth_token and (ak or sk):
        raise ConfigError(
            f"both auth_token and access_key/secret_key are set: keep one of them ({where})"
        )
    if auth_token:
        return Credentials(auth_token=auth_token)
    if ak and sk:
        if not re.match(r"^[A-Za-z0-9]{8,128}$", ak):
            raise ConfigError(
                "access_key is malformed (letters and digits only): "
                f"fix {env_var('credentials.access_key')}"
            )
        return Credentials(access_key=ak, secret_key=sk, security_token=token)
    if ak or sk:
        missing = "secret_key" if ak else "access_key"
        raise ConfigError(
            f"{missing} is missing: set {env_var('credentials.' + missing)} or {where}"
        )
    if token:
        raise ConfigError(
            "security_token is set but access_key and secret_key are not: temporary credentials "
            f"need all three ({env_var('credentials.access_key')}, "
            f"{env_var('credentials.secret_key')}) or {where}"
        )
    raise ConfigError(
        f"no credentials: set {env_var('credentials.access_key')} "
        f"and {env_var('credentials.secret_key')} "
        f"(or {env_var('credentials.auth_token')}), or {where}"
    )


def _bounded(name: str, value: Any, low: float, high: float, kind: type = int) -> Any:
    try:
        number = kind(value)
    except (TypeError, ValueError):
        number = None
    if number is None or not low <= number <= high:
        raise ConfigError(f"{name} must be a number from {low:g} to {high:g}: fix {env_var(name)}")
    return number


def _flag(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false: fix {env_var(name)}")


def _missing(spec: Any) -> list[str]:
    """The required settings `spec` lacks altogether, each with the variable to set."""
    missing = []
    if not (spec.project_id or "").strip():
        missing.append(f"project id ({env_var('project_id')})")
    if not (spec.endpoint or "").strip() and not (spec.region or "").strip():
        missing.append(f"endpoint ({env_var('endpoint')} or {env_var('region')})")
    keys = [getattr(spec.credentials, key, None) for key in CREDENTIAL_KEYS]
    if not any((key or "").strip() for key in keys):
        missing.append(
            f"credentials ({env_var('credentials.access_key')} and "
            f"{env_var('credentials.secret_key')}, or {env_var('credentials.auth_token')})"
        )
    return missing


def validate(spec: Any) -> SourceSettings:
    """Check a resolved configuration and return settings, or raise a one-line ConfigError.

    `spec`: the fields of `[sources.dcs_restores]` as attributes (a resolved
    `DcsRestoresConfiguration`, or any object with the same attribute names).
    """
    missing = _missing(spec)
    if len(missing) > 1:
        # a first try without any configuration: everything at once, and the way to try first
        raise ConfigError(
            f"missing settings: {'; '.join(missing)}; set them in the environment or under "
            "[sources.dcs_restores] in .dlt/config.toml (keys in .dlt/secrets.toml); to try the "
            "tool without a DCS project, run `dcs-restores demo`"
        )
    project_id = (spec.project_id or "").strip()
    if not project_id:
        raise ConfigError(
            f"no project id: set {env_var('project_id')} or project_id under [sources.dcs_restores]"
        )
    if not _PROJECT_ID.match(project_id):
        raise ConfigError(
            f"project_id {project_id[:40]!r} is not a project id (32 hex characters): "
            f"fix {env_var('project_id')}"
        )
    return SourceSettings(
        endpoint=_endpoint(spec.endpoint, spec.region),
        project_id=project_id,
        credentials=_credentials(spec.credentials),
        instance_ids=_instance_ids(spec.instance_ids),
        start_date=_start_date(spec.start_date),
        lookback=timedelta(
            hours=_bounded("lookback_hours", spec.lookback_hours, 0, 24 * 366, float)
        ),
        page_size=_bounded("page_size", spec.page_size, 1, MAX_PAGE_SIZE),
        concurrency=_bounded("concurrency", spec.concurrency, 1, MAX_CONCURRENCY),
        max_attempts=_bounded("max_attempts", spec.max_attempts, 1, 20),
        max_retry_delay=_bounded("max_retry_delay", spec.max_retry_delay, 0, 600, float),
        request_timeout=_bounded("request_timeout", spec.request_timeout, 1, 600, float),
        max_body_bytes=_bounded("max_body_mb", spec.max_body_mb, 1, MAX_BODY_MB) * 1024 * 1024,
        backups=_flag("backups", spec.backups),
    )
