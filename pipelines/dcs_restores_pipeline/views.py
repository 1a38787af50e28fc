"""SQL models: the plain `.sql` files in `models/`, applied as views over the load."""

from __future__ import annotations

import re
from graphlib import TopologicalSorter
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import dlt
    import duckdb
    from dlt.destinations.sql_client import SqlClientBase

MODELS_DIR = Path(__file__).parent / "models"

# tables loaded by the pipeline that the models may read
SOURCE_TABLES = ("restores", "instances")

# every view, dependencies first; tests check this matches the files in MODELS_DIR
VIEWS = (
    "restore_error_codes",
    "stg_restores",
    "restore_durations",
    "restore_failure_rates",
    "restore_failures",
    "restore_slowest",
    "restore_trend_weekly",
    "restore_duration_percentiles",
    "restore_failures_by_error_code",
    "restore_instance_summary",
)

_REFERENCE = re.compile(r"\b(from|join)(\s+)([a-z_][a-z0-9_]*)\b(?!\s*\.)", re.IGNORECASE)
_CTE_NAME = re.compile(r"(?:\bwith|,)\s+([a-z_][a-z0-9_]*)\s+as\s*\(", re.IGNORECASE)


def model_files() -> list[Path]:
    """Return the model files, each after the views it reads from.

    Returns:
        Paths of all `*.sql` files under `models/`, topologically sorted with ties
        broken by name so the order is stable.
    """
    files = {path.stem: path for path in sorted(MODELS_DIR.rglob("*.sql"))}
    graph = {name: _references(path.read_text()) & files.keys() for name, path in files.items()}
    sorter = TopologicalSorter(graph)
    sorter.prepare()
    ordered: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        ordered.extend(ready)
        sorter.done(*ready)
    return [files[name] for name in ordered]


def render_view(path: Path, schema: str) -> str:
    """Return the `create or replace view` statement for one model file.

    Every reference to a loaded table or another model is qualified with `schema`, so the view
    resolves from any connection, whatever its search path.

    Args:
        path: The model's `.sql` file; its stem is the view name.
        schema: The dataset schema holding the tables and the views.

    Returns:
        One SQL statement without a trailing semicolon.

    Raises:
        ValueError: a CTE in the file has the name of a table or model, which qualification
            would silently turn into a reference to the table.
    """
    body = path.read_text().strip().rstrip(";").rstrip()
    relations = set(SOURCE_TABLES) | {p.stem for p in MODELS_DIR.rglob("*.sql")}
    shadowed = {name.lower() for name in _CTE_NAME.findall(body)} & relations
    if shadowed:
        raise ValueError(f"{path.name}: CTE names shadow tables or views: {sorted(shadowed)}")

    def qualify(match: re.Match[str]) -> str:
        keyword, space, name = match.groups()
        if name.lower() not in relations:
            return match.group(0)
        return f"{keyword}{space}{quote(schema)}.{quote(name.lower())}"

    qualified = _REFERENCE.sub(qualify, body)
    return f"create or replace view {quote(schema)}.{quote(path.stem)} as\n{qualified}"


def apply_models_duckdb(con: duckdb.DuckDBPyConnection, schema: str = "dcs") -> list[str]:
    """Create or replace every view in a DuckDB connection.

    Args:
        con: An open, writable connection to the database holding `schema`.
        schema: The dataset schema with the loaded `restores` and `instances` tables.

    Returns:
        The view names, in the order they were created.
    """
    names = []
    for path in model_files():
        con.execute(render_view(path, schema))
        names.append(path.stem)
    return names


def apply_models(pipeline: dlt.Pipeline) -> list[str]:
    """Create or replace every view in the pipeline's destination dataset.

    Args:
        pipeline: A pipeline that has loaded `restores` and `instances`.

    Returns:
        The view names, in the order they were created.
    """
    with pipeline.sql_client() as client:
        return create_views(client, pipeline.dataset_name)


def create_views(client: SqlClientBase[Any], schema: str) -> list[str]:
    """Create or replace every view through an open dlt sql client; returns their names."""
    names = []
    for path in model_files():
        client.execute_sql(render_view(path, schema))
        names.append(path.stem)
    return names


def quote(identifier: str) -> str:
    """Return `identifier` as a double-quoted SQL identifier (DuckDB and PostgreSQL)."""
    return '"' + identifier.replace('"', '""') + '"'


def _references(sql: str) -> set[str]:
    """Return the lower-cased names that follow `from` or `join` in `sql`."""
    return {match.group(3).lower() for match in _REFERENCE.finditer(sql)}
