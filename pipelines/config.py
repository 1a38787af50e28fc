"""Names and defaults shared by the pipeline, the CLI, the models and the report."""

from __future__ import annotations

import os
from pathlib import Path

PIPELINE_NAME = "dcs_restores"
DATASET_NAME = "dcs"
DEFAULT_DATABASE_FILE = "dcs_restores.duckdb"
DATABASE_ENV = "DESTINATION__DUCKDB__CREDENTIALS"


def database_path() -> Path:
    """Return the DuckDB file the pipeline writes and the report reads.

    `DESTINATION__DUCKDB__CREDENTIALS` names another file; otherwise `dcs_restores.duckdb` in
    the working directory.
    """
    configured = os.environ.get(DATABASE_ENV, "").strip()
    if configured.startswith("duckdb:///"):
        configured = configured[len("duckdb:///") :]
    return Path(configured or DEFAULT_DATABASE_FILE).expanduser().resolve()
