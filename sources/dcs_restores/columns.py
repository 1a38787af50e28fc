"""dlt column hints of the tables `restores`, `instances`, `backups` and their `*_rejected`."""

from __future__ import annotations

import importlib.util
from typing import Any

import dlt
from dlt.common.schema.typing import TFileFormat
from dlt.extract.hints import TResourceHints

from .fingerprint import RECORD_HASH
from .settings import RESTORE_TEXT_FIELDS
from .values import INVALID_FIELDS

RESTORE_COLUMNS: dict[str, Any] = {
    "restore_id": {"data_type": "text", "nullable": False, "primary_key": True},
    "project_id": {"data_type": "text"},
    "instance_id": {"data_type": "text"},
    # which API the row came from, so several regions can share one table
    "endpoint": {"data_type": "text"},
    # backup_id ... error_code: the API's text fields, as records.py shapes them
    **{name: {"data_type": "text"} for name in RESTORE_TEXT_FIELDS},
    "progress": {"data_type": "double"},
    "created_at": {"data_type": "timestamp", "timezone": True},
    # the newest copy of a restore read twice in one run (offset drift) wins
    "updated_at": {"data_type": "timestamp", "timezone": True, "dedup_sort": "desc"},
    # values set aside while shaping, with the reasons; NULL for a clean row (see records.py)
    INVALID_FIELDS: {"data_type": "text"},
    # digest of the row as loaded: a re-read record whose row is unchanged is not loaded again
    # (fingerprint.py); NULL in rows loaded before version 0.5.0
    RECORD_HASH: {"data_type": "text"},
}
INSTANCE_COLUMNS: dict[str, Any] = {
    "instance_id": {"data_type": "text", "nullable": False, "primary_key": True},
    "project_id": {"data_type": "text"},
    "endpoint": {"data_type": "text"},
    "name": {"data_type": "text"},
    "engine": {"data_type": "text"},
    "engine_version": {"data_type": "text"},
    "status": {"data_type": "text"},
    "created_at": {"data_type": "timestamp", "timezone": True},
    "updated_at": {"data_type": "timestamp", "timezone": True},
    # often empty; typed here so the columns exist from the first load on
    "description": {"data_type": "text"},
    "readonly_domain_name": {"data_type": "text"},
    "domain_name": {"data_type": "text"},
    "capacity_minor": {"data_type": "text"},
    "tags": {"data_type": "json"},
    "features": {"data_type": "json"},
    "az_codes": {"data_type": "json"},
    RECORD_HASH: {"data_type": "text"},
}


def _rejected_hints(table: str, id_column: str) -> TResourceHints:
    """Hints of the quarantine table `table`, whose rows name the record's id when known."""
    return dlt.mark.make_hints(
        table_name=table,
        write_disposition="merge",
        primary_key="record_hash",
        columns={
            "record_hash": {"data_type": "text", "nullable": False},
            # a table variant starts from the hints of the records' own table: their id must
            # not stay its non-null primary key here, where it is only known for some records
            id_column: {"data_type": "text", "nullable": True, "primary_key": False},
            "project_id": {"data_type": "text"},
            "instance_id": {"data_type": "text"},
            "reason": {"data_type": "text"},
            "raw_record": {"data_type": "text"},
            "rejected_at": {"data_type": "timestamp", "timezone": True},
        },
    )


REJECTED_HINTS = _rejected_hints("restores_rejected", "restore_id")
BACKUP_COLUMNS: dict[str, Any] = {
    "backup_id": {"data_type": "text", "nullable": False, "primary_key": True},
    "project_id": {"data_type": "text"},
    "instance_id": {"data_type": "text"},
    "endpoint": {"data_type": "text"},
    "backup_name": {"data_type": "text"},
    "period": {"data_type": "text"},
    "size": {"data_type": "bigint"},
    "backup_type": {"data_type": "text"},
    "backup_format": {"data_type": "text"},
    "status": {"data_type": "text"},
    "progress": {"data_type": "double"},
    "error_code": {"data_type": "text"},
    "remark": {"data_type": "text"},
    "is_support_restore": {"data_type": "bool"},
    "created_at": {"data_type": "timestamp", "timezone": True},
    "updated_at": {"data_type": "timestamp", "timezone": True, "dedup_sort": "desc"},
    "execution_at": {"data_type": "timestamp", "timezone": True},
    INVALID_FIELDS: {"data_type": "text"},
    RECORD_HASH: {"data_type": "text"},
}
BACKUPS_REJECTED_HINTS = _rejected_hints("backups_rejected", "backup_id")
# DuckDB parses dlt's default INSERT ... VALUES files slowly and with ~25 KB of memory per row
# (100,000 rows: 25 s and 2.6 GB); it reads parquet natively (0.8 s). jsonl would need no
# pyarrow, but DuckDB's read_json fails on a key first seen after its 20,480-row sample.
# Destinations without parquet (PostgreSQL) fall back to their own format, with a warning.
LOADER_FILE_FORMAT: TFileFormat = "parquet" if importlib.util.find_spec("pyarrow") else "preferred"
