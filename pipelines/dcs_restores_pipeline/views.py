"""SQL models: the plain `.sql` files in `models/`, applied as views over the load.

The files live in one folder per layer, in lineage order: `staging/` holds one `stg_*` view per
loaded table (names, types and the shared definitions), `marts/` the views analysts query, which
read staging views and other marts, never a loaded table.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from graphlib import TopologicalSorter
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import dlt
    import duckdb
    from dlt.destinations.sql_client import SqlClientBase

MODELS_DIR = Path(__file__).parent / "models"
# the folders under MODELS_DIR, upstream first
LAYERS = ("staging", "marts")

# tables loaded by the pipeline that the models may read
SOURCE_TABLES = ("restores", "instances")

# every view, dependencies first; tests check this matches the files in MODELS_DIR
VIEWS = (
    "stg_instances",
    "stg_restores",
    "restore_error_codes",
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


def model_paths() -> dict[str, Path]:
    """Return view name -> model file, for every `*.sql` file in the layer folders.

    Raises:
        ValueError: a model file outside the layer folders (it would never be applied), or
            two files with one name (one view would silently replace the other).
    """
    paths: dict[str, Path] = {}
    for path in sorted(MODELS_DIR.rglob("*.sql")):
        if path.parent.parent != MODELS_DIR or path.parent.name not in LAYERS:
            raise ValueError(f"{path}: a model belongs in one of models/{{{','.join(LAYERS)}}}/")
        if path.stem in paths:
            raise ValueError(f"{path}: view {path.stem} is also defined in {paths[path.stem]}")
        paths[path.stem] = path
    return paths


def layer(path: Path) -> str:
    """The layer of a model file: the name of its folder (`staging` or `marts`)."""
    return path.parent.name


def reads(path: Path) -> set[str]:
    """The loaded tables and views that a model file reads."""
    return _references(path.read_text()) & (set(SOURCE_TABLES) | model_paths().keys())


def model_files() -> list[Path]:
    """Return the model files, each after the views it reads from.

    Returns:
        Paths of all `*.sql` files under `models/<layer>/`, topologically sorted with ties
        broken by layer (staging first), then by name, so the order is stable.
    """
    files = model_paths()
    graph = {name: _references(path.read_text()) & files.keys() for name, path in files.items()}
    sorter = TopologicalSorter(graph)
    sorter.prepare()
    rank = {name: (LAYERS.index(layer(path)), name) for name, path in files.items()}
    ordered: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=rank.__getitem__)
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
    relations = set(SOURCE_TABLES) | model_paths().keys()
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


def build_views(client: SqlClientBase[Any], schema: str, tables: Collection[str]) -> list[str]:
    """The views step of a run: create or replace every view, once the loaded tables exist.

    dlt creates a table only once rows arrive, so a first run in which every instance failed
    has no `restores` yet: the views are then skipped with a warning, and the run's own error
    is the one to report, not a view's.

    Args:
        client: An open dlt sql client on the destination.
        schema: The dataset schema.
        tables: The base tables in `schema` now.

    Returns:
        The view names in the order they were created; empty when they were skipped.
    """
    missing = [table for table in SOURCE_TABLES if table not in tables]
    if missing:
        from dlt.common import logger

        logger.warning(f"views not built: no table {', '.join(missing)} loaded yet")
        return []
    return create_views(client, schema)


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
