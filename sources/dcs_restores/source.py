"""The dlt source `dcs_restores`: tables `instances`, `restores`, `backups` and their
quarantines `restores_rejected`, `backups_rejected` (imported as `dcs_restores.dcs_restores`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

import dlt
from dlt.common.typing import TDataItems
from dlt.extract.resource import DltResource

from .batches import DLT_COLUMNS
from .columns import (
    BACKUP_COLUMNS,
    INSTANCE_COLUMNS,
    LOADER_FILE_FORMAT,
    RESTORE_COLUMNS,
)
from .configuration import DcsRestoresConfiguration, SourceSettings, validate
from .errors import (
    ConfigError,
)
from .extract import Extract, Progress
from .fingerprint import KnownRows
from .settings import SECTION, SOURCE_NAME, env_var
from .stats import ExtractStats

__all__ = ["dcs_restores"]


def _one_project(spec: DcsRestoresConfiguration) -> SourceSettings:
    """The injected `[sources.dcs_restores]` as one project; `targets` is the runner's."""
    if spec.targets not in (None, "", []):
        raise ConfigError(
            f"{env_var('targets')} is set, but dcs_restores() reads one project: pass "
            "settings=... for each of dcs_restores.targets.load_targets(), or use "
            "`dcs-restores run`, which loads every target"
        )
    return validate(spec)


@dlt.source(name=SOURCE_NAME, section=SECTION, max_table_nesting=0, spec=DcsRestoresConfiguration)
def dcs_restores(
    config: DcsRestoresConfiguration = dlt.config.value,
    settings: SourceSettings | None = None,
    stats: ExtractStats | None = None,
    progress: Progress | None = None,
    open_since: Mapping[str, datetime] | None = None,
    open_backups_since: Mapping[str, datetime] | None = None,
    known: KnownRows | None = None,
) -> list[DltResource]:
    """Restore and backup records of every instance of one DCS project.

    Creating the source sends no request: the instance listing is the first thing the
    `instances` resource does when dlt extracts it, and `restores` reads the instances it
    lists (a transformer of `instances`).

    Args:
        config: `[sources.dcs_restores]`, injected by dlt (env vars, .dlt/*.toml or any other
            config provider); validated into one project when `settings` is None. A
            configured `targets` list is refused: see `dcs_restores.targets.load_targets`.
        settings: one validated project (the runner passes each target's).
        stats: an `ExtractStats` to fill in for the run summary.
        progress: called with a one-line progress message every few seconds.
        open_since: instance_id -> created_at of its oldest restore the destination holds as
            open: the read reaches back to it, whatever the last read showed.
        open_backups_since: the same for backups.
        known: id -> record_hash of rows the destination holds (restores, backups,
            instances): a row read whose digest is the one stored is not loaded again. None
            loads every row read.

    Returns:
        Resources `instances` (merge on instance_id), `restores` (merge on restore_id,
        one created_at cursor per instance in its resource state, under `cursors`) and,
        unless the settings turn it off, `backups` (merge on backup_id, cursors likewise).
    """
    settings = settings or _one_project(config)
    extract = Extract(
        settings,
        stats if stats is not None else ExtractStats(),
        progress,
        open_since,
        open_backups_since,
        known,
    )

    def instances() -> Iterator[TDataItems]:
        rows = extract.instances()
        if rows or extract.instance_ids:
            # even with every row unchanged: the reads are transformers of this item, and an
            # empty list starts them without loading anything
            yield rows

    instances_resource = dlt.resource(
        instances,
        name="instances",
        write_disposition="merge",
        primary_key="instance_id",
        columns=INSTANCE_COLUMNS,
        file_format=LOADER_FILE_FORMAT,
    )
    restores_resource = _per_instance(
        "restores", "restore_id", RESTORE_COLUMNS, extract.restores, instances_resource
    )
    if not settings.backups:
        return [instances_resource, restores_resource]
    backups_resource = _per_instance(
        "backups", "backup_id", BACKUP_COLUMNS, extract.backups, instances_resource
    )
    return [instances_resource, restores_resource, backups_resource]


def _per_instance(
    name: str,
    key: str,
    columns: dict[str, Any],
    read: Callable[[dict[str, Any]], Iterator[TDataItems]],
    listing: DltResource,
) -> DltResource:
    """A resource of records read per listed instance (merge on `key`), with one created_at
    cursor per instance in its resource state, under `cursors`."""

    def records(listed: TDataItems) -> Iterator[TDataItems]:
        # `listed` only starts the read: the plan is every instance the listing kept
        cursors: dict[str, Any] = dlt.current.resource_state().setdefault("cursors", {})
        yield from read(cursors)

    return dlt.transformer(
        records,
        data_from=listing,
        name=name,
        write_disposition="merge",
        primary_key=key,
        columns=columns | DLT_COLUMNS,
        file_format=LOADER_FILE_FORMAT,
    )
