"""One run: extract DCS restores and backups, load them, rebuild the SQL models, summarise."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import dlt
from dcs_restores import ExtractStats, SourceSettings, dcs_restores
from dcs_restores.errors import (
    ConfigError,
    DcsApiError,
    DcsRestoresError,
    chain,
    find,
    one_line,
    root,
)
from dcs_restores.targets import load_targets, select_target
from dlt.common.destination.exceptions import SchemaUpdateError
from dlt.common.pipeline import LoadInfo
from dlt.pipeline.exceptions import PipelineStepFailed

from dcs_restores_pipeline.bookkeeping import (
    After,
    Before,
    count_after,
    destination_state_hash,
    read_before,
    session,
)
from dcs_restores_pipeline.config import (
    DATASET_NAME,
    PIPELINE_NAME,
    database_path,
    destination,
    destination_type,
    target_pipeline_name,
)
from dcs_restores_pipeline.localstate import destination_dir, for_target, identify, local_state
from dcs_restores_pipeline.recovery import (
    align_state,
    disk_full,
    disk_full_message,
    drop_pending,
    finish_pending,
    reset_hint,
    step_failure_gist,
)
from dcs_restores_pipeline.views import SOURCE_TABLES, build_views, model_paths
from dcs_restores_pipeline.workdir import raise_if_damaged, working_dir


class RunFailed(DcsRestoresError):
    """The run loaded what it could but did not finish; `str()` is one line, `summary` the rest."""

    def __init__(self, message: str, summary: RunSummary | None = None) -> None:
        super().__init__(message)
        self.summary = summary


@dataclass
class RunSummary:
    """Figures of one run, printed for the log and available as JSON."""

    project_id: str
    database: str
    instances_listed: int | None = None
    instances_read: int = 0
    instances_skipped: list[str] = field(default_factory=list)
    instances_failed: list[str] = field(default_factory=list)
    # listed instances whose row is stored exactly so already (not loaded again)
    instances_unchanged: int = 0
    restores_new: int = 0
    restores_updated: int = 0
    rows_extracted: int = 0
    # of the rows read, those stored exactly so already: not loaded again
    restores_unchanged: int = 0
    restores_total: int = 0
    # table `backups`: rows new, rows that changed (open or succeed before the run), read
    backups_new: int = 0
    backups_updated: int = 0
    backups_rows_extracted: int = 0
    backups_unchanged: int = 0
    backups_total: int = 0
    backups_rejected: int = 0
    # instances whose backups were set aside (their restores loaded)
    backups_failed: list[str] = field(default_factory=list)
    rejected: int = 0
    # values set to NULL because they could not be stored as sent (see column invalid_fields)
    values_set_aside: int = 0
    unknown_status: int = 0
    # load packages an interrupted earlier run left behind, loaded by this run first
    pending_loaded: list[str] = field(default_factory=list)
    requests: int = 0
    retries: int = 0
    # requests answered by reads sent while the run was still starting (early.py)
    early_answers: int = 0
    seconds: float = 0.0
    load_ids: list[str] = field(default_factory=list)
    targets: list[dict[str, Any]] = field(default_factory=list)
    views: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def text(self) -> str:
        listed = "" if self.instances_listed is None else f" of {self.instances_listed} listed"
        lines = [
            f"instances read: {self.instances_read}{listed}"
            + (
                f", skipped (deleted): {len(self.instances_skipped)}"
                if self.instances_skipped
                else ""
            )
            + (f", failed: {len(self.instances_failed)}" if self.instances_failed else ""),
            f"restores: {self.restores_new} new, {self.restores_updated} updated, "
            f"{self.rows_extracted} rows read{_unchanged(self.restores_unchanged)}, "
            f"{self.restores_total} in table",
            f"backups: {self.backups_new} new, {self.backups_updated} updated, "
            f"{self.backups_rows_extracted} rows read{_unchanged(self.backups_unchanged)}, "
            f"{self.backups_total} in table"
            + (
                f", set aside for {len(self.backups_failed)} instance(s): "
                + ", ".join(self.backups_failed[:5])
                + (" ..." if len(self.backups_failed) > 5 else "")
                if self.backups_failed
                else ""
            ),
            f"rejected records: {self.rejected} (see table {DATASET_NAME}.restores_rejected)"
            if self.rejected
            else "rejected records: 0",
            *(
                [
                    f"rejected backup records: {self.backups_rejected} "
                    f"(see table {DATASET_NAME}.backups_rejected)"
                ]
                if self.backups_rejected
                else []
            ),
            *(
                [
                    f"values set aside: {self.values_set_aside} (NULL, named in column "
                    "invalid_fields)"
                ]
                if self.values_set_aside
                else []
            ),
            *(
                [f"restores with an unknown status: {self.unknown_status} (loaded as they are)"]
                if self.unknown_status
                else []
            ),
            *(
                [f"finished {len(self.pending_loaded)} load package(s) of an interrupted run"]
                if self.pending_loaded
                else []
            ),
            f"requests: {self.requests} ({self.retries} retries), time: {self.seconds:.1f}s",
            f"database: {self.database} (schema {DATASET_NAME})",
        ]
        if len(self.targets) > 1:
            for t in self.targets:
                state = f"FAILED: {t['errors'][0]}" if t["errors"] else "ok"
                lines.append(
                    f"project {t['project_id']} at {t['endpoint']}: "
                    f"{t['instances_read']} instances, {t['rows_extracted']} rows read, {state}"
                )
        return "\n".join(lines)


def _unchanged(count: int) -> str:
    return f" ({count} unchanged, not loaded again)" if count else ""


def make_pipeline(
    database: Path | None = None,
    pipelines_dir: str | None = None,
    destination_kind: str | None = None,
) -> dlt.Pipeline:
    """Return the `dcs_restores` pipeline: DuckDB file `database`, or PostgreSQL if configured.

    Its working dir is the destination's own, inside `pipelines_dir` (default: dlt's), see
    `local_dir`.

    Raises:
        DamagedState: the local state is damaged (a run heals it first; other commands say so).
    """
    kind = destination_kind or destination_type()
    return _pipeline(database, kind, local_dir(database, pipelines_dir, kind))


def local_dir(database: Path | None, pipelines_dir: str | None, kind: str) -> Path:
    """The destination's own pipelines dir: its working dir `dcs_restores/`, its run lock and
    a `DESTINATION` file naming it (see localstate)."""
    return destination_dir(pipelines_dir, identify(database, kind))


def _pipeline(
    database: Path | None, kind: str, directory: Path, target: str | None = None
) -> dlt.Pipeline:
    name = target_pipeline_name(target) if target else PIPELINE_NAME
    try:
        return dlt.pipeline(
            pipeline_name=name,
            destination=destination(database, kind, target),
            dataset_name=DATASET_NAME,
            pipelines_dir=str(directory),
        )
    except Exception as exc:
        raise_if_damaged(working_dir(str(directory), name), exc)
        raise


def reset_pending(
    database: Path | None = None, pipelines_dir: str | None = None, target: str | None = None
) -> list[str]:
    """Drop every pending load package and rewind the cursors to before them (of `target`'s
    own pipeline when given).

    Returns:
        The load ids dropped (empty when nothing was pending).
    """
    kind = destination_type()

    def opener(directory: Path) -> dlt.Pipeline:
        return _pipeline(database, kind, directory, target)

    identity, name = identify(database, kind), PIPELINE_NAME
    if target is not None:
        identity, name = for_target(identity, target), target_pipeline_name(target)
    with local_state(identity, pipelines_dir, opener, target is None, name) as (directory, _):
        return drop_pending(opener(directory))


def _duckdb_file(database: Path | None, kind: str) -> Path | None:
    return database_path(database) if kind == "duckdb" else None


def _load_target(
    pipeline: dlt.Pipeline,
    settings: SourceSettings,
    summary: RunSummary,
    progress: Callable[[str], None] | None,
    before: Before,
) -> list[str]:
    """Extract and load one project into `pipeline`; returns its one-line errors."""
    stats = ExtractStats()
    try:
        # no request yet: the listing is the instances resource's first step in extract
        source = dcs_restores(
            settings=settings,
            stats=stats,
            progress=progress,
            open_since=before.open_since_for(settings.project_id),
            open_backups_since=before.open_backups_since_for(settings.project_id),
            known=before.known_for(settings.project_id),
        )
        info = _run(pipeline, source)
        info.raise_on_failed_jobs()
        summary.load_ids.extend(info.loads_ids)
    except PipelineStepFailed as exc:
        if exc.step != "extract" or disk_full(exc):
            raise  # the machine, not this project: the run stops with its own line
        # this project is set aside (e.g. its instance listing failed), the others still load
        stats.failures.append(target_failure(exc, settings))
    if stats.instances_listed is not None:
        summary.instances_listed = (summary.instances_listed or 0) + stats.instances_listed
    summary.instances_read += stats.instances_read
    summary.instances_skipped.extend(stats.instances_skipped)
    summary.instances_failed.extend(f.instance_id for f in stats.failures if f.instance_id)
    summary.rows_extracted += stats.rows
    summary.restores_unchanged += stats.unchanged
    summary.instances_unchanged += stats.instances_unchanged
    summary.rejected += stats.rejected
    summary.values_set_aside += stats.values_set_aside
    summary.unknown_status += stats.unknown_status
    summary.backups_rows_extracted += stats.backups.rows
    summary.backups_unchanged += stats.backups.unchanged
    summary.backups_rejected += stats.backups.rejected
    summary.backups_failed.extend(f.instance_id for f in stats.backups.failures if f.instance_id)
    summary.requests += stats.requests
    summary.retries += stats.retries
    summary.early_answers += stats.early_answers
    errors = [str(f) for f in [*stats.failures, *stats.backups.failures]]
    summary.targets.append(
        {
            "project_id": settings.project_id,
            "endpoint": settings.endpoint,
            "instances_read": stats.instances_read,
            "rows_extracted": stats.rows,
            "errors": errors,
        }
    )
    return errors


# tries of the load step when its schema update fails (targets racing to create the tables)
SCHEMA_UPDATE_TRIES = 4


def _run(pipeline: dlt.Pipeline, source: Any) -> LoadInfo:
    """`pipeline.run(source)`; when its load step's schema update fails, that step again.

    Runs of two targets loading into one new dataset at the same moment race to create its
    schema and tables (PostgreSQL answers with a deadlock or "already exists"). dlt then keeps
    the package, and loading it again is safe: dlt reads the destination anew and applies
    only what is still missing (its documented `retry_schema_update`).
    """
    try:
        return pipeline.run(source)
    except PipelineStepFailed as exc:
        if exc.step != "load" or find(exc, SchemaUpdateError) is None:
            raise
        failure = exc
    for attempt in range(1, SCHEMA_UPDATE_TRIES):
        time.sleep(0.2 * attempt)
        try:
            return pipeline.load()
        except PipelineStepFailed as exc:
            if find(exc, SchemaUpdateError) is None:
                raise
            failure = exc
    raise failure


def target_failure(exc: PipelineStepFailed, settings: SourceSettings) -> DcsApiError:
    """One line for a project whose extract failed: the API error inside, or the root cause."""
    for each in chain(exc):
        if isinstance(each, DcsApiError):
            return each
        if isinstance(each, ConfigError | KeyboardInterrupt):
            raise each
    cause = root(exc)
    return DcsApiError(
        f"project {settings.project_id} at {settings.endpoint}: extract failed with "
        f"{type(cause).__name__}: {one_line(cause, 200)}; nothing of this project was "
        "loaded by this run, the other projects were",
        code="extract_failed",
    )


def run(
    settings: SourceSettings | list[SourceSettings] | None = None,
    database: Path | None = None,
    pipelines_dir: str | None = None,
    progress: Callable[[str], None] | None = None,
    models: bool = True,
    destination_kind: str | None = None,
    take_over: bool = True,
    target: str | None = None,
) -> RunSummary:
    """Extract and load every configured project (target), then rebuild the models.

    `target` (a target's name): load that target alone, as pipeline `dcs_restores__<name>`
    with its own state, working dir and run lock, and no models (they run once, after every
    target); runs of different targets can load into one PostgreSQL dataset at the same time.

    One target's failure does not stop the others; the run then raises RunFailed after
    loading everything that could be read.

    `destination_kind` overrides the configured destination type; `take_over=False` leaves an
    earlier version's working dir alone (the demo: it never touches another pipeline's state).

    Returns:
        The run summary.

    Raises:
        ConfigError: the configuration is incomplete or malformed (before any request).
        RunFailed: a project or an instance could not be read; everything else is loaded.
    """
    started = time.monotonic()
    if isinstance(settings, SourceSettings):
        targets = [settings]
    elif target is not None and not settings:
        targets = [select_target(target)]
    else:
        targets = list(settings) if settings else load_targets()
    kind = destination_kind or destination_type()
    identity = identify(database, kind)
    if target is not None:
        identity, models, take_over = for_target(identity, target), False, False

    def opener(directory: Path) -> dlt.Pipeline:
        return _pipeline(database, kind, directory, target)

    name = target_pipeline_name(target) if target else PIPELINE_NAME
    with local_state(identity, pipelines_dir, opener, take_over, name) as (directory, healed):
        pipeline = opener(directory)
        summary = RunSummary(
            project_id=",".join(t.project_id for t in targets),
            database=str(_duckdb_file(database, kind) or "postgres (DESTINATION__POSTGRES__*)"),
        )
        before = read_before(pipeline, max((t.lookback for t in targets), default=None))
        summary.pending_loaded = finish_pending(pipeline, target)
        if summary.pending_loaded:
            # those packages may overwrite rows whose hash was just read: skip nothing
            before.known.clear()
        # loading pending packages moved the destination's state on: read it again
        remote = destination_state_hash(pipeline) if summary.pending_loaded else before.state_hash
        pipeline = align_state(pipeline, remote, quiet=bool(healed.damaged))
        errors: list[str] = []
        for each in targets:
            try:
                errors.extend(_load_target(pipeline, each, summary, progress, before))
            except PipelineStepFailed as exc:
                if exc.step not in ("normalize", "load"):
                    raise
                summary.errors = errors
                summary.seconds = time.monotonic() - started
                where = disk_full(exc)
                if where is not None:
                    raise RunFailed(disk_full_message(where, exc.step), summary) from exc
                raise RunFailed(
                    f"the {exc.step} step failed; what was read waits in a load package that "
                    f"the next run loads first; if that keeps failing, {reset_hint(target)}; "
                    f"cause: {step_failure_gist(exc)}",
                    summary,
                ) from exc
        loaded = bool(summary.load_ids or summary.pending_loaded)
        # a run that loads nothing still makes views that are missing (a views step that
        # failed, a new version's new view)
        views_step = models and (
            loaded
            or (not set(model_paths()) <= before.views and set(SOURCE_TABLES) <= before.tables)
        )
        if not loaded and not views_step and kind == "duckdb":
            # nothing loaded, and no other process writes a DuckDB file while this run holds
            # it: the counts are the ones read before (an idle run opens the file once)
            after = After(before.count, 0, before.backups_count, 0)
        else:
            # after loading: the views step, then the counts, on one connection (~30 ms each)
            with session(pipeline) as db:
                if views_step:
                    summary.views = build_views(db.client, db.dataset, db.tables())
                after = count_after(db, before)
        summary.restores_total = after.count
        summary.restores_new = after.count - before.count
        summary.restores_updated = after.changed
        summary.backups_total = after.backups_count
        summary.backups_new = after.backups_count - before.backups_count
        summary.backups_updated = after.backups_changed
    summary.errors = errors
    summary.seconds = time.monotonic() - started
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise RunFailed(f"{errors[0]}{more}; everything else read is loaded", summary)
    return summary
