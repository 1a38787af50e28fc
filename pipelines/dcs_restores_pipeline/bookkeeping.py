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
from datetime import UTC, timedelta
from typing import Any

import dlt
from dcs_restores.backup_plan import BACKUP_TERMINAL_STATUSES, RECHECK
from dcs_restores.fingerprint import RECORD_HASH, KnownRows
from dcs_restores.settings import TERMINAL_STATUSES
from dlt.destinations.sql_client import SqlClientBase


def _sql_list(statuses: frozenset[str]) -> str:
    return "(" + ", ".join(f"'{status}'" for status in sorted(statuses)) + ")"


TERMINAL_SQL = _sql_list(TERMINAL_STATUSES)
# a succeeded backup still changes (expired, deleted): the run counts those changes as updates
BACKUP_FINAL_SQL = _sql_list(BACKUP_TERMINAL_STATUSES - {"succeed"})
# a backup in none of these statuses is open: every run reads it again
BACKUP_OPEN_SQL = _sql_list(BACKUP_TERMINAL_STATUSES)
STATE_TABLE = "_dlt_pipeline_state"
RESTORES_TABLE = "restores"
BACKUPS_TABLE = "backups"
INSTANCES_TABLE = "instances"
# beyond the re-read windows: a read asks from 14 h earlier (BEGIN_TIME_MARGIN), and a cursor
# may sit a little before the newest created_at the table holds
KNOWN_MARGIN = timedelta(days=1)
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
    # project_id -> id -> record_hash of the rows a run may read again (see `known_rows`)
    known: dict[str, KnownRows] = field(default_factory=dict)
    # the views and tables the dataset has: a run that loads nothing still makes missing views
    views: frozenset[str] = frozenset()
    tables: frozenset[str] = frozenset()

    def known_for(self, project_id: str) -> KnownRows:
        """The known rows of one project, handed out once: a second target of the same
        project in this run reads after the first one wrote, so the map would be stale."""
        return self.known.pop(project_id, KnownRows())

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
        self._hashed: set[str] | None = None

    def views(self) -> frozenset[str]:
        """Names of the views in the dataset."""
        sql = "select table_name from information_schema.views where table_schema = %s"
        return frozenset(str(row[0]) for row in self.rows(sql, self.dataset))

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

    def hashed_tables(self) -> set[str]:
        """The tables that have column record_hash (a database of 0.4.0 or older has none)."""
        if self._hashed is None:
            rows = self.rows(
                "select table_name from information_schema.columns "
                "where table_schema = %s and column_name = %s",
                self.dataset,
                RECORD_HASH,
            )
            self._hashed = {str(row[0]) for row in rows} & self.tables()
        return self._hashed

    def record_hashes(
        self, table: str, id_column: str, window: timedelta, open_sql: str
    ) -> list[tuple[str, str, str]]:
        """(project_id, id, record_hash) of the rows of `table` a run may read again: created
        within `window` before the newest created_at of their instance, or not final
        (status not in `open_sql`).

        Bounded like the re-reads themselves: per instance, the rows of its window and the
        open ones, never its whole history (in memory ~200 bytes a row: 100,000 rows, ~20 MB);
        two scans of the table (the newest per instance, then the rows), no sort.
        """
        if table not in self.hashed_tables():
            return []
        seconds = int(window.total_seconds()) + 1
        name = self.table(table)
        return [
            (str(project_id), str(record_id), str(digest))
            for project_id, record_id, digest in self.rows(
                f"select t.project_id, t.{id_column}, t.{RECORD_HASH} from {name} t "
                "join (select project_id, instance_id, max(created_at) as newest "
                f"from {name} group by project_id, instance_id) m "
                "on t.project_id = m.project_id and t.instance_id = m.instance_id "
                f"where t.{RECORD_HASH} is not null and ("
                f"t.created_at >= m.newest - interval '{seconds} seconds' "
                f"or t.status is null or t.status not in {open_sql})"
            )
        ]

    def instance_hashes(self) -> list[tuple[str, str, str]]:
        """(project_id, instance_id, record_hash) of every instance: the listing reads all."""
        if INSTANCES_TABLE not in self.hashed_tables():
            return []
        rows = self.rows(
            f"select project_id, instance_id, {RECORD_HASH} from {self.table(INSTANCES_TABLE)} "
            f"where {RECORD_HASH} is not null"
        )
        return [(str(project_id), str(iid), str(digest)) for project_id, iid, digest in rows]

    def known_rows(self, lookback: timedelta) -> dict[str, KnownRows]:
        """project_id -> the record_hash of each row a run with `lookback` may read again."""
        kinds = (
            self.record_hashes(RESTORES_TABLE, "restore_id", lookback + KNOWN_MARGIN, TERMINAL_SQL),
            self.record_hashes(
                BACKUPS_TABLE, "backup_id", lookback + RECHECK + KNOWN_MARGIN, BACKUP_OPEN_SQL
            ),
            self.instance_hashes(),
        )
        found: dict[str, tuple[dict[str, str], ...]] = {}
        for index, rows in enumerate(kinds):
            for project_id, record_id, digest in rows:
                found.setdefault(project_id, ({}, {}, {}))[index][record_id] = digest
        return {project_id: KnownRows(*maps) for project_id, maps in found.items()}

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


def read_before(pipeline: dlt.Pipeline, lookback: timedelta | None = None) -> Before:
    """Read the open restores and backups, the row counts, the newest saved state and, with
    the run's (longest) `lookback`, the record_hash of the rows it may read again, in one
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
            db.known_rows(lookback) if lookback is not None else {},
            db.views(),
            frozenset(db.tables()),
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
