"""Names and defaults shared by the pipeline, the CLI, the models and the report."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

PIPELINE_NAME = "dcs_restores"
DATASET_NAME = "dcs"
DEFAULT_DATABASE_FILE = "dcs_restores.duckdb"
DATABASE_ENV = "DESTINATION__DUCKDB__CREDENTIALS"
DESTINATIONS = ("duckdb", "postgres")
DUCKDB_MEMORY_LIMIT = "128MB"
DUCKDB_GLOBAL_CONFIG_ENV = "DESTINATION__DUCKDB__CREDENTIALS__GLOBAL_CONFIG"


def database_path(explicit: str | Path | None = None) -> Path:
    """Return the DuckDB file the pipeline writes and the report reads, as an absolute path.

    `explicit` (the `--database` option) first; else `DESTINATION__DUCKDB__CREDENTIALS`;
    otherwise `dcs_restores.duckdb` in the working directory.
    """
    configured = str(explicit or "").strip() or os.environ.get(DATABASE_ENV, "").strip()
    if configured.startswith("duckdb:///"):
        configured = configured[len("duckdb:///") :]
    return Path(configured or DEFAULT_DATABASE_FILE).expanduser().resolve()


def demo_database_path() -> Path:
    """The demo's database: `dcs_restores.duckdb` in the working directory, whatever the
    destination settings say (they are the production pipeline's)."""
    return Path(DEFAULT_DATABASE_FILE).resolve()


def destination_type() -> str:
    """Return the configured destination: `destination_type` (env DESTINATION_TYPE), default duckdb.

    Raises:
        ConfigError: an unsupported destination; one line saying what to set.
    """
    import dlt

    value = (dlt.config.get("destination_type", str) or "duckdb").strip().lower()
    if value not in DESTINATIONS:
        from dcs_restores.configuration import ConfigError

        raise ConfigError(
            f"destination_type {value!r} is not supported: set DESTINATION_TYPE to one of "
            f"{', '.join(DESTINATIONS)}"
        )
    return value


def target_pipeline_name(target: str) -> str:
    """The pipeline of one target's own runs (`dcs-restores run --target NAME`): its state
    (cursors) is saved in the destination under this name, apart from every other target's."""
    return f"{PIPELINE_NAME}__{target}"


def destination(
    database: Path | None = None, kind: str | None = None, target: str | None = None
) -> Any:
    """Return the dlt destination: DuckDB at `database` (or database_path()), or PostgreSQL.

    PostgreSQL takes its credentials from dlt's usual place,
    `DESTINATION__POSTGRES__CREDENTIALS=postgresql://user:password@host:5432/database`.
    A `target`'s runs merge through their own staging dataset (`dcs_staging_<target>`): dlt
    empties the staging tables before each load, so a shared one would lose the rows of a
    target loading at the same time.
    """
    import dlt

    kind = kind or destination_type()
    staging: dict[str, Any] = (
        {"staging_dataset_name_layout": f"%s_staging_{target}"} if target else {}
    )
    if kind == "postgres":
        return dlt.destinations.postgres(**staging)
    from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials

    path = str(database_path(database))
    if os.environ.get(DUCKDB_GLOBAL_CONFIG_ENV):
        return dlt.destinations.duckdb(credentials=path, **staging)
    # DuckDB's default (80 % of RAM) made the merge of a million restores the peak of a run;
    # with a cap it spills to disk instead, at little cost in time
    credentials = DuckDbCredentials(path, global_config={"memory_limit": DUCKDB_MEMORY_LIMIT})
    return dlt.destinations.duckdb(credentials=credentials, **staging)
