"""Alert thresholds: failure rate and p95 duration of finished restores in a recent window, and
the recovery-readiness thresholds of `readiness_check` per instance."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import closing
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dlt
from dcs_restores.errors import DcsRestoresError

from dcs_restores_pipeline.argnumbers import finite_number, out_of_range, validate, whole_number
from dcs_restores_pipeline.config import DATASET_NAME
from dcs_restores_pipeline.readiness_check import (
    OVERDUE_SQL,
    READINESS_SQL,
    Breach,
    Thresholds,
    breaches,
    overdue_by_instance,
)
from dcs_restores_pipeline.text import printable
from dcs_restores_pipeline.views import quote

# ~100 years: far enough back for any history, near enough that `now - days` is a date
MAX_SINCE_DAYS = 36500

# portable between DuckDB and PostgreSQL: the same text runs on both destinations.
# PostgreSQL refuses `group by 'a constant'`: the whole dataset is one group without a
# `group by`, and `having` keeps it from giving a row when nothing finished
_CHECK_SQL = """
select
    {scope} as scope,
    count(*) as finished,
    sum(case when status = 'failed' then 1 else 0 end) as failed,
    percentile_cont(0.95) within group (order by duration_seconds) as p95_seconds
from {durations}
where created_at >= %s
{grouping}
order by scope
"""


class CheckError(DcsRestoresError):
    """The check cannot be evaluated (no database or no views); one line."""


_FRACTION = "a fraction from 0 to 1 (a fraction: 0.05 means 5 %)"
_SECONDS = "seconds above 0, e.g. 600"
_DAYS = f"days above 0 and at most {MAX_SINCE_DAYS}"


def failure_rate_arg(text: str) -> float:
    """`--max-failure-rate`: a finite fraction in [0, 1]."""
    value = finite_number(text, _FRACTION)
    if not 0 <= value <= 1:
        raise out_of_range(text, _FRACTION)
    return value


def seconds_arg(text: str) -> float:
    """`--max-p95-seconds`: a finite number of seconds above 0."""
    value = finite_number(text, _SECONDS)
    if value <= 0:
        raise out_of_range(text, _SECONDS)
    return value


def since_days_arg(text: str) -> float:
    """`--since-days`: finite, above 0 and at most MAX_SINCE_DAYS."""
    value = finite_number(text, _DAYS)
    if not 0 < value <= MAX_SINCE_DAYS:
        raise out_of_range(text, _DAYS)
    return value


def min_finished_arg(text: str) -> int:
    """`--min-finished`: a whole number, 0 or more."""
    return whole_number(text, "0 or more")


def _validate(
    max_failure_rate: float | None,
    max_p95_seconds: float | None,
    since_days: float,
    min_finished: int,
) -> None:
    """The same ranges as the command line, for callers of `check()` in code."""
    checks: list[tuple[str, Any, Callable[[str], object]]] = [
        ("since_days", since_days, since_days_arg),
        ("min_finished", min_finished, min_finished_arg),
    ]
    if max_failure_rate is not None:
        checks.append(("max_failure_rate", max_failure_rate, failure_rate_arg))
    if max_p95_seconds is not None:
        checks.append(("max_p95_seconds", max_p95_seconds, seconds_arg))
    validate(checks)


@dataclass(frozen=True)
class Measure:
    """Figures of one scope (the whole dataset, or one instance) over the window."""

    scope: str
    finished: int
    failed: int
    p95_seconds: float | None

    @property
    def failure_rate(self) -> float:
        return self.failed / self.finished if self.finished else 0.0


@dataclass
class CheckResult:
    """Measures and the thresholds they crossed; `ok` is False when any was crossed."""

    since: datetime
    measures: list[Measure] = field(default_factory=list)
    breaches: list[str] = field(default_factory=list)
    # instances past a readiness threshold; their lines are in `breaches` too
    readiness: list[Breach] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaches

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "since": self.since.isoformat(),
            "breaches": self.breaches,
            "measures": [asdict(m) | {"failure_rate": m.failure_rate} for m in self.measures],
            "readiness_breaches": [b.as_dict() for b in self.readiness],
        }

    def text(self) -> str:
        lines = [f"restores finished since {self.since:%Y-%m-%d %H:%M} UTC:"]
        for m in self.measures:
            p95 = "n/a" if m.p95_seconds is None else f"{m.p95_seconds:.0f}s"
            lines.append(
                f"  {m.scope}: {m.finished} finished, {m.failed} failed "
                f"({m.failure_rate:.1%}), p95 {p95}"
            )
        if not self.measures:
            lines.append("  no finished restores")
        lines.extend(f"THRESHOLD CROSSED: {b}" for b in self.breaches)
        lines.append("OK" if self.ok else f"{len(self.breaches)} threshold(s) crossed")
        return "\n".join(lines)


def measure(source: dlt.Pipeline | Path, since: datetime, per_instance: bool) -> list[Measure]:
    """Return the failure figures of finished restores created at or after `since`.

    `source` is the pipeline (any destination) or a DuckDB file, which is opened read-only:
    a check never needs to write, and works on a read-only file or beside other readers.
    """
    scope, grouping = (
        ("instance_id", "group by instance_id")
        if per_instance
        else ("'all instances'", "having count(*) > 0")
    )
    sql = _CHECK_SQL.replace("{scope}", scope).replace("{grouping}", grouping)
    rows = _fetch(source, sql, {"durations": "restore_durations"}, [since], "`dcs-restores run`")
    return [
        Measure(
            printable(str(r[0])), int(r[1]), int(r[2] or 0), None if r[3] is None else float(r[3])
        )
        for r in rows
    ]


def readiness_breaches(source: dlt.Pipeline | Path, thresholds: Thresholds) -> list[Breach]:
    """The instances past the readiness thresholds, from the readiness views."""
    views = {"readiness": "instance_readiness", "in_progress": "restores_in_progress"}
    # views older than the readiness views: `models` rebuilds them without a new load
    rows = _fetch(source, READINESS_SQL, views, [], "`dcs-restores models`")
    overdue = None
    if thresholds.max_overdue is not None:
        late = _fetch(source, OVERDUE_SQL, views, [], "`dcs-restores models`")
        overdue = overdue_by_instance(late)
    return breaches(rows, thresholds, overdue)


def _fetch(
    source: dlt.Pipeline | Path, template: str, views: dict[str, str], params: list[Any], fix: str
) -> list[Any]:
    """The rows of `template` (`%s` parameters), each `{key}` in it the view `views[key]`.

    Raises:
        CheckError: no database, or one of the views is missing (`fix` says what to run).
    """
    if isinstance(source, Path):
        return _duckdb_rows(source, template, views, params, fix)
    return _pipeline_rows(source, template, views, params, fix)


def _no_view(views: dict[str, str], fix: str) -> CheckError:
    names = " or ".join(f"{DATASET_NAME}.{view}" for view in views.values())
    return CheckError(f"no view {names}: run {fix} first")


def _pipeline_rows(
    pipeline: dlt.Pipeline, template: str, views: dict[str, str], params: list[Any], fix: str
) -> list[Any]:
    from dlt.destinations.exceptions import DatabaseUndefinedRelation

    try:
        with pipeline.sql_client() as client:
            names = {key: client.make_qualified_table_name(v) for key, v in views.items()}
            with client.execute_query(template.format(**names), *params) as cursor:
                return list(cursor.fetchall())
    except DatabaseUndefinedRelation as exc:
        raise _no_view(views, fix) from exc


def _duckdb_rows(
    database: Path, template: str, views: dict[str, str], params: list[Any], fix: str
) -> list[Any]:
    import duckdb

    if not database.is_file():
        raise CheckError(f"no database at {database}: run `dcs-restores run` first")
    try:
        con = duckdb.connect(str(database), read_only=True)
    except duckdb.Error as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise CheckError(f"cannot open {database} read-only: {printable(first)}") from exc
    with closing(con):
        names = {key: f"{quote(DATASET_NAME)}.{quote(v)}" for key, v in views.items()}
        sql = template.format(**names).replace("%s", "?")
        try:
            return con.execute(sql, params).fetchall()
        except duckdb.CatalogException as exc:
            raise _no_view(views, fix) from exc


def check(
    source: dlt.Pipeline | Path,
    *,
    max_failure_rate: float | None,
    max_p95_seconds: float | None,
    since_days: float = 7.0,
    per_instance: bool = False,
    min_finished: int = 1,
    now: datetime | None = None,
    max_days_since_restore: float | None = None,
    max_rpo_hours: float | None = None,
    max_overdue: int | None = None,
    max_consecutive_failures: int | None = None,
) -> CheckResult:
    """Evaluate the thresholds over restores created in the last `since_days` days.

    Scopes with fewer than `min_finished` finished restores are reported but never breach,
    so one failed restore on a quiet instance does not page anyone. `source` is the pipeline
    or a DuckDB file (opened read-only). The readiness thresholds (`readiness_check`) are
    checked per instance, over all time, when given; `now` does not move the views' clock.

    Raises:
        ValueError: a threshold out of its range (the command line rejects it before).
        CheckError: no database, or no views in it.
    """
    _validate(max_failure_rate, max_p95_seconds, since_days, min_finished)
    thresholds = Thresholds(
        max_days_since_restore, max_rpo_hours, max_overdue, max_consecutive_failures
    )
    thresholds.validate()
    since = (now or datetime.now(UTC)) - timedelta(days=since_days)
    result = CheckResult(since=since, measures=measure(source, since, per_instance))
    for m in result.measures:
        if m.finished < min_finished:
            continue
        if max_failure_rate is not None and m.failure_rate > max_failure_rate:
            result.breaches.append(
                f"{m.scope}: failure rate {m.failure_rate:.1%} > {max_failure_rate:.1%}"
            )
        if (
            max_p95_seconds is not None
            and m.p95_seconds is not None
            and m.p95_seconds > max_p95_seconds
        ):
            result.breaches.append(
                f"{m.scope}: p95 duration {m.p95_seconds:.0f}s > {max_p95_seconds:.0f}s"
            )
    if thresholds.any:
        result.readiness = readiness_breaches(source, thresholds)
        result.breaches.extend(b.line() for b in result.readiness)
    return result
