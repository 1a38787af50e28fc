"""What a run reads from its destination before and after loading.

Opening the destination costs more than these queries (~30 ms for each connection to a
DuckDB file), so everything a run needs before extracting is read in one session
(`read_before`), and after loading the run opens one more `session` for its views step and
`count_after`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

import dlt
from dcs_restores.backup_plan import BACKUP_TERMINAL_STATUSES
from dcs_restores.settings import TERMINAL_STATUSES
from dlt.destinations.sql_client import SqlClientBase


def _sql_list(statuses: frozenset[str]) -> str:
    return "(" + ", ".join(f"'{status}'" for status in sorted(statuses)) + ")"


TERMINAL_SQL = _sql_list(TERMINAL_STATUSES)
# a succeeded backup still changes (expired, deleted): the run counts those changes as updates
BACKUP_FINAL_SQL = _sql_list(BACKUP_TERMINAL_STATUSES - {"succeed"})
STATE_TABLE = "_dlt_pipeline_state"
RESTORES_TABLE = "restores"
BACKUPS_TABLE = "backups"
# ids per query when re-reading the restores that were open: bounded statements and memory
CHUNK = 1000


@dataclass
class Before:
    """The destination before a run: what the summary compares with, and whose state it holds."""

    open_restores: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    count: int = 0
    state_hash: str | None = None
    # (project_id, instance_id) -> created_at of its oldest open restore: the next read of the
    # instance reaches back to it, even if the last read (a glitch) did not show it
    open_since: dict[tuple[str, str], Any] = field(default_factory=dict)

    # the same for table `backups`
    open_backups: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    backups_count: int = 0
    open_backups_since: dict[tuple[str, str], Any] = field(default_factory=dict)

    def open_since_for(self, project_id: str) -> dict[str, Any]:
        """instance_id -> oldest open created_at, for one project."""
        return {iid: at for (pid, iid), at in self.open_since.items() if pid == project_id}

    def open_backups_since_for(self, project_id: str) -> dict[str, Any]:
        """instance_id -> created_at of its oldest open backup, for one project."""
        found = self.open_backups_since.items()
        return {iid: at for (pid, iid), at in found if pid == project_id}


@dataclass
class After:
    """The destination after a run: how the restores (and backups) changed."""

    count: int = 0
    changed: int = 0
    backups_count: int = 0
    backups_changed: int = 0


class Session:
    """Queries on one open connection to the pipeline's dataset."""

    def __init__(self, client: SqlClientBase[Any], dataset: str) -> None:
        self.client = client
        self.dataset = dataset
        self._tables: set[str] | None = None

    def tables(self) -> set[str]:
        """Names of the base tables in the dataset (views are not tables here)."""
        if self._tables is None:
            sql = (
                "select table_name from information_schema.tables "
                "where table_schema = %s and table_type = 'BASE TABLE'"
            )
            self._tables = {str(row[0]) for row in self.rows(sql, self.dataset)}
        return self._tables

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with self.client.execute_query(sql, *params) as cursor:
            return [tuple(row) for row in cursor.fetchall()]

    def table(self, name: str) -> str:
        return self.client.make_qualified_table_name(name)

    def open_restores(
        self,
    ) -> tuple[dict[str, tuple[Any, ...]], dict[tuple[str, str], Any]]:
        """The restores not known to be finished, in one scan: restore_id -> (status, progress,
        updated_at), and (project_id, instance_id) -> created_at of the oldest of them."""
        return self.open_rows(RESTORES_TABLE, "restore_id", TERMINAL_SQL)

    def open_backups(
        self,
    ) -> tuple[dict[str, tuple[Any, ...]], dict[tuple[str, str], Any]]:
        """The backups that can still change (open or succeed): backup_id -> (status, progress,
        updated_at), and (project_id, instance_id) -> created_at of the oldest open one."""
        return self.open_rows(
            BACKUPS_TABLE, "backup_id", BACKUP_FINAL_SQL, BACKUP_TERMINAL_STATUSES
        )

    def open_rows(
        self,
        table: str,
        id_column: str,
        final_sql: str,
        terminal: frozenset[str] = TERMINAL_STATUSES,
    ) -> tuple[dict[str, tuple[Any, ...]], dict[tuple[str, str], Any]]:
        """The rows of `table` whose status is not in `final_sql`, and per instance the oldest
        created_at of those whose status is not `terminal` either (the open ones)."""
        if table not in self.tables():
            return {}, {}
        rows = self.rows(
            f"select {id_column}, status, progress, updated_at, project_id, instance_id, "
            f"created_at from {self.table(table)} "
            f"where status is null or status not in {final_sql}"
        )
        since: dict[tuple[str, str], Any] = {}
        for _, status, _, _, project_id, instance_id, created_at in rows:
            if created_at is None or status in terminal:
                continue
            key, moment = (str(project_id), str(instance_id)), created_at.astimezone(UTC)
            if key not in since or moment < since[key]:
                since[key] = moment
        return {row[0]: row[1:4] for row in rows}, since

    def count(self, table: str = RESTORES_TABLE) -> int:
        if table not in self.tables():
            return 0
        return int(self.rows(f"select count(*) from {self.table(table)}")[0][0])

    def changed(
        self,
        before: dict[str, tuple[Any, ...]],
        table: str = RESTORES_TABLE,
        id_column: str = "restore_id",
    ) -> int:
        """Count the rows open before the run whose status, progress or updated_at changed."""
        ids = list(before)
        changed = 0
        # only the rows that were open: a full-table read would dominate a large run's memory
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            marks = ", ".join(["%s"] * len(chunk))
            rows = self.rows(
                f"select {id_column}, status, progress, updated_at from "
                f"{self.table(table)} where {id_column} in ({marks})",
                *chunk,
            )
            changed += sum(1 for row in rows if tuple(row[1:]) != before[row[0]])
        return changed

    def state_hash(self, pipeline_name: str) -> str | None:
        """The version hash of the newest pipeline state the destination holds."""
        if STATE_TABLE not in self.tables():
            return None
        rows = self.rows(
            f"select version_hash from {self.table(STATE_TABLE)} where pipeline_name = %s "
            "order by created_at desc, version desc limit 1",
            pipeline_name,
        )
        return str(rows[0][0]) if rows else None


@contextmanager
def session(pipeline: dlt.Pipeline) -> Iterator[Session]:
    """One connection to the pipeline's destination, for several queries."""
    with pipeline.sql_client() as client:
        yield Session(client, pipeline.dataset_name)


def read_before(pipeline: dlt.Pipeline) -> Before:
    """Read the open restores and backups, the row counts and the newest saved state, in one
    session."""
    with session(pipeline) as db:
        open_restores, open_since = db.open_restores()
        open_backups, backups_since = db.open_backups()
        return Before(
            open_restores,
            db.count(),
            db.state_hash(pipeline.pipeline_name),
            open_since,
            open_backups,
            db.count(BACKUPS_TABLE),
            backups_since,
        )


def destination_state_hash(pipeline: dlt.Pipeline) -> str | None:
    """The version hash of the newest pipeline state in the destination, or None."""
    with session(pipeline) as db:
        return db.state_hash(pipeline.pipeline_name)


def count_after(db: Session, before: Before) -> After:
    """Count the restores and backups now, and those open before the run that changed."""
    return After(
        db.count(),
        db.changed(before.open_restores),
        db.count(BACKUPS_TABLE),
        db.changed(before.open_backups, BACKUPS_TABLE, "backup_id"),
    )
