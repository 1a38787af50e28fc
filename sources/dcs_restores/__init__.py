"""dlt source for DCS restore and backup records: tables `instances`, `restores`, `backups`
and their quarantines `restores_rejected`, `backups_rejected`.

The names below load on first use: importing the request path (`dcs_restores.client`,
`dcs_restores.prefetch`) must not import dlt, so that a scheduled run can send its first
requests while dlt is still being imported.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .columns import (
        BACKUP_COLUMNS,
        INSTANCE_COLUMNS,
        LOADER_FILE_FORMAT,
        REJECTED_HINTS,
        RESTORE_COLUMNS,
    )
    from .configuration import load_settings
    from .errors import (
        ConfigError,
        DcsApiError,
        DcsAuthError,
        DcsNotFound,
        DcsRestoresError,
        RecordError,
    )
    from .source import dcs_restores
    from .stats import ExtractStats
    from .validation import SourceSettings

# name -> the module that defines it
_HOMES = {
    "BACKUP_COLUMNS": "columns",
    "INSTANCE_COLUMNS": "columns",
    "LOADER_FILE_FORMAT": "columns",
    "REJECTED_HINTS": "columns",
    "RESTORE_COLUMNS": "columns",
    "ConfigError": "errors",
    "DcsApiError": "errors",
    "DcsAuthError": "errors",
    "DcsNotFound": "errors",
    "DcsRestoresError": "errors",
    "ExtractStats": "stats",
    "RecordError": "errors",
    "SourceSettings": "validation",
    "dcs_restores": "source",
    "load_settings": "configuration",
}
__all__ = [
    "BACKUP_COLUMNS",
    "INSTANCE_COLUMNS",
    "LOADER_FILE_FORMAT",
    "REJECTED_HINTS",
    "RESTORE_COLUMNS",
    "ConfigError",
    "DcsApiError",
    "DcsAuthError",
    "DcsNotFound",
    "DcsRestoresError",
    "ExtractStats",
    "RecordError",
    "SourceSettings",
    "dcs_restores",
    "load_settings",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{home}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])
