"""Alert thresholds: failure rate and p95 duration of finished restores in a recent window."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import dlt

from pipelines.config import DATASET_NAME

# portable between DuckDB and PostgreSQL: the same text runs on both destinations
_CHECK_SQL = """
select
    {group} as scope,
    count(*) as finished,
    sum(case when status = 'failed' then 1 else 0 end) as failed,
    percentile_cont(0.95) within group (order by duration_seconds) as p95_seconds
from {durations}
where created_at >= %s
group by {group}
order by scope
"""


class CheckError(Exception):
    """The check cannot be evaluated (no database or no views); one line."""


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

    @property
    def ok(self) -> bool:
        return not self.breaches

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "since": self.since.isoformat(),
            "breaches": self.breaches,
            "measures": [asdict(m) | {"failure_rate": m.failure_rate} for m in self.measures],
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


def measure(pipeline: dlt.Pipeline, since: datetime, per_instance: bool) -> list[Measure]:
    """Return the failure figures of finished restores created at or after `since`."""
    from dlt.destinations.exceptions import DatabaseUndefinedRelation

    try:
        with pipeline.sql_client() as client:
            durations = client.make_qualified_table_name("restore_durations")
            group = "instance_id" if per_instance else "'all instances'"
            sql = _CHECK_SQL.format(group=group, durations=durations)
            with client.execute_query(sql, since) as cursor:
                rows = cursor.fetchall()
    except DatabaseUndefinedRelation as exc:
        raise CheckError(
            f"no view {DATASET_NAME}.restore_durations: run `dcs-restores run` first"
        ) from exc
    return [
        Measure(str(r[0]), int(r[1]), int(r[2] or 0), None if r[3] is None else float(r[3]))
        for r in rows
    ]


def check(
    pipeline: dlt.Pipeline,
    *,
    max_failure_rate: float | None,
    max_p95_seconds: float | None,
    since_days: float = 7.0,
    per_instance: bool = False,
    min_finished: int = 1,
    now: datetime | None = None,
) -> CheckResult:
    """Evaluate the thresholds over restores created in the last `since_days` days.

    Scopes with fewer than `min_finished` finished restores are reported but never breach,
    so one failed restore on a quiet instance does not page anyone.
    """
    since = (now or datetime.now(UTC)) - timedelta(days=since_days)
    result = CheckResult(since=since, measures=measure(pipeline, since, per_instance))
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
    return result
