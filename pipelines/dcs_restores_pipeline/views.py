"""SQL models: the plain `.sql` files in `models/`, applied as views over the load.

The files live in one folder per layer, in lineage order: `staging/` holds one `stg_*` view per
loaded table (names, types and the shared definitions) and `stg_clock`, the one reading of the
time; `marts/` the views analysts query, which read staging views and other marts, never a
loaded table.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
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

# tables loaded by the pipeline that the models may read; the views wait until these exist
SOURCE_TABLES = ("restores", "instances")

# loaded tables a database may lack (loaded before backups existed, or with backups turned
# off): the views do not wait for them, and a model reads an empty relation in their place
OPTIONAL_TABLES = ("backups",)

# the type of each column the models read that a loaded table may lack (dlt adds a column only
# once a value arrives, unless hinted); every column of an optional table is here. Where one is
# missing the model reads NULL of that type. dlt owns the tables: none is created or altered.
COLUMN_TYPES: dict[str, dict[str, str]] = {
    "backups": {
        "backup_id": "text",
        "project_id": "text",
        "instance_id": "text",
        "backup_name": "text",
        "backup_type": "text",
        "backup_format": "text",
        "status": "text",
        "size": "bigint",
        "is_support_restore": "boolean",
        "error_code": "text",
        "created_at": "timestamp with time zone",
        "updated_at": "timestamp with time zone",
        "execution_at": "timestamp with time zone",
    },
    "restores": {"backup_id": "text"},
}

# the view that holds the time "now" for every age the views measure
CLOCK_VIEW = "stg_clock"

# (table, column) of the tables in COLUMN_TYPES, as the database has them
_COLUMNS_SQL = (
    "select table_name, column_name from information_schema.columns"
    " where table_schema = {p} and table_name in ({tables})"
)

# every view, dependencies first; tests check this matches the files in MODELS_DIR
VIEWS = (
    "stg_backups",
    "stg_clock",
    "stg_instances",
    "stg_restores",
    "restore_error_codes",
    "instance_readiness",
    "restore_context",
    "restore_daily",
    "restore_durations",
    "restore_failure_rates",
    "restore_failures",
    "restore_slowest",
    "restore_trend_weekly",
    "restore_duration_percentiles",
    "restore_failures_by_error_code",
    "restores_in_progress",
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
    return _references(path.read_text()) & (_loaded_tables() | model_paths().keys())


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


def render_view(
    path: Path, schema: str, present: Mapping[str, Collection[str]] | None = None
) -> str:
    """Return the `create or replace view` statement for one model file.

    Every reference to a loaded table or another model is qualified with `schema`, so the view
    resolves from any connection, whatever its search path. A reference to a table that
    `present` says is missing or lacks a column of COLUMN_TYPES becomes a stand-in relation of
    the same name, so a model must not alias those tables (`from backups b`).

    Args:
        path: The model's `.sql` file; its stem is the view name.
        schema: The dataset schema holding the tables and the views.
        present: Table of COLUMN_TYPES -> its columns in the database, a table absent when
            missing; None (the database unknown) takes the optional tables as missing and
            the others as complete.

    Returns:
        One SQL statement without a trailing semicolon.

    Raises:
        ValueError: a CTE in the file has the name of a table or model, which qualification
            would silently turn into a reference to the table.
    """
    body = path.read_text().strip().rstrip(";").rstrip()
    relations = _loaded_tables() | model_paths().keys()
    shadowed = {name.lower() for name in _CTE_NAME.findall(body)} & relations
    if shadowed:
        raise ValueError(f"{path.name}: CTE names shadow tables or views: {sorted(shadowed)}")

    def qualify(match: re.Match[str]) -> str:
        keyword, space, name = match.groups()
        if name.lower() not in relations:
            return match.group(0)
        table = f"{quote(schema)}.{quote(name.lower())}"
        if present is None and name.lower() in OPTIONAL_TABLES:
            table = _stand_in(name.lower(), table, ())
        elif present is not None and name.lower() in COLUMN_TYPES:
            table = _stand_in(name.lower(), table, present.get(name.lower(), ()))
        return f"{keyword}{space}{table}"

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
    sql, params = columns_query(schema, "?")
    names = []
    for name, statement in render_views(schema, con.execute(sql, params).fetchall()):
        con.execute(statement)
        names.append(name)
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
    sql, params = columns_query(schema, "%s")
    with client.execute_query(sql, *params) as cursor:
        statements = render_views(schema, cursor.fetchall())
    for _, statement in statements:
        client.execute_sql(statement)
    return [name for name, _ in statements]


def columns_query(schema: str, placeholder: str) -> tuple[str, list[str]]:
    """The query for the columns the tables of COLUMN_TYPES have now, and its parameters.

    Args:
        schema: The dataset schema.
        placeholder: The driver's parameter marker (`?` for DuckDB, `%s` for dlt and psycopg2).
    """
    tables = ", ".join(placeholder for _ in COLUMN_TYPES)
    return _COLUMNS_SQL.format(p=placeholder, tables=tables), [schema, *COLUMN_TYPES]


def render_views(schema: str, column_rows: Collection[tuple[Any, ...]]) -> list[tuple[str, str]]:
    """(view name, statement) for every model in order, for the tables as `columns_query` found
    them (its rows): a missing optional table or column is read through a stand-in."""
    present = _present(column_rows)
    return [(path.stem, render_view(path, schema, present)) for path in model_files()]


def pin_clock_sql(schema: str, now: datetime) -> str:
    """The statement that fixes the views' "now" at `now` (aware), until the views are rebuilt.

    For tests and for reading the views as of a moment: every age, elapsed time and overdue
    flag then follows `now`. Replacing the one clock view keeps its column and type, so
    PostgreSQL accepts it under the views that read it.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    moment = now.astimezone(UTC).isoformat()
    return (
        f"create or replace view {quote(schema)}.{quote(CLOCK_VIEW)} as\n"
        f"select cast('{moment}' as timestamp with time zone) as now_at"
    )


def quote(identifier: str) -> str:
    """Return `identifier` as a double-quoted SQL identifier (DuckDB and PostgreSQL)."""
    return '"' + identifier.replace('"', '""') + '"'


def _loaded_tables() -> set[str]:
    return set(SOURCE_TABLES) | set(OPTIONAL_TABLES)


def _present(rows: Collection[tuple[Any, ...]]) -> dict[str, set[str]]:
    """Table -> the columns it has, from (table_name, column_name) rows."""
    present: dict[str, set[str]] = {}
    for table, column in rows:
        present.setdefault(str(table), set()).add(str(column))
    return present


def _stand_in(table: str, qualified: str, columns: Collection[str]) -> str:
    """`qualified`, or a relation of the same name where the table or some columns are missing:
    the table with the missing columns added as typed NULLs, or an empty relation of them all.
    """
    missing = {name: kind for name, kind in COLUMN_TYPES[table].items() if name not in columns}
    if not missing:
        return qualified
    nulls = ", ".join(f"cast(null as {kind}) as {quote(name)}" for name, kind in missing.items())
    if not columns:
        return f"(select {nulls} where false) as {table}"
    return f"(select *, {nulls} from {qualified}) as {table}"


def _references(sql: str) -> set[str]:
    """Return the lower-cased names that follow `from` or `join` in `sql`."""
    return {match.group(3).lower() for match in _REFERENCE.finditer(sql)}
