"""What the report shows, read from the views for one period: headline, days, codes, risks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb

from dcs_restores_pipeline.reportformat import duration
from dcs_restores_pipeline.views import quote

Row = dict[str, Any]

# the views the report reads; all come from models/ (beside this file)
REPORT_VIEWS = (
    "stg_restores",
    "restore_failures",
    "restore_daily",
    "instance_readiness",
    "restores_in_progress",
)
# without --since, the report covers this many days up to the last day with a restore
DEFAULT_PERIOD_DAYS = 30
# an instance is at risk when its last restores failed in a row at least this often ...
FAILING_STREAK = 2
# ... or it has had no successful restore for longer than this (or never) ...
MAX_DAYS_WITHOUT_SUCCESS = 30
# ... or its newest restorable backup is older than this (data lost if restored now)
MAX_RPO_HOURS = 24
# risk weights: a restore running late now outranks history
_OVERDUE, _STREAK, _UNTESTED, _RPO = 8, 4, 4, 2


@dataclass(frozen=True)
class Period:
    """UTC days from `since` to `until`, both included."""

    since: date
    until: date

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1

    def previous(self) -> Period:
        """The period of equal length just before this one."""
        return Period(self.since - timedelta(days=self.days), self.since - timedelta(days=1))

    def label(self) -> str:
        return f"{self.since.isoformat()} to {self.until.isoformat()} (UTC, {self.days} days)"


@dataclass(frozen=True)
class Headline:
    """Totals of restores created in one period."""

    restores: int
    finished: int
    failed: int
    instances: int
    p50: float | None
    p95: float | None

    @property
    def failure_rate(self) -> float | None:
        return self.failed / self.finished if self.finished else None


@dataclass(frozen=True)
class Day:
    """One UTC day of `restore_daily`; days without restores have zeros."""

    day: date
    restores: int
    finished: int
    failed: int
    p50: float | None
    p95: float | None
    # the first day of loaded history and today are not whole days
    partial: bool

    @property
    def failure_rate(self) -> float | None:
        return self.failed / self.finished if self.finished else None


@dataclass(frozen=True)
class CodeDay:
    """Failed restores with one error code on one UTC day."""

    day: date
    code: str | None
    meaning: str | None
    failures: int


@dataclass
class Instance:
    """One row of `instance_readiness`, the period's counts, and why it is at risk."""

    readiness: Row
    restores: int = 0
    finished: int = 0
    failed: int = 0
    reasons: list[str] = field(default_factory=list)
    score: int = 0

    @property
    def instance_id(self) -> str:
        return str(self.readiness["instance_id"])

    @property
    def failure_rate(self) -> float | None:
        return self.failed / self.finished if self.finished else None


@dataclass(frozen=True)
class ReportData:
    """Everything one report shows; the text and HTML renderings read only this."""

    schema: str
    generated_at: datetime
    period: Period
    headline: Headline
    previous: Headline
    days: list[Day]
    code_days: list[CodeDay]
    # instances sorted by risk (highest first), then name; the at-risk ones have reasons
    instances: list[Instance]
    in_progress: list[Row]

    @property
    def at_risk(self) -> list[Instance]:
        return [i for i in self.instances if i.reasons]

    @property
    def has_data(self) -> bool:
        return bool(self.instances)


def query(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[Row]:
    """Return the result of `sql` as one dict per row."""
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def missing_views(con: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    """Return the views the report reads that do not exist in `schema`."""
    found = con.execute(
        "select table_name from information_schema.tables where table_schema = ?", [schema]
    ).fetchall()
    present = {name for (name,) in found}
    return [view for view in REPORT_VIEWS if view not in present]


def default_period(
    con: duckdb.DuckDBPyConnection, schema: str, since: date | None, until: date | None
) -> Period:
    """Fill what the user left open: `until` is the last day with a restore (else today)."""
    if until is None:
        (last,) = con.execute(f"select max(day) from {quote(schema)}.restore_daily").fetchone() or (
            None,
        )
        until = last if isinstance(last, date) else datetime.now(UTC).date()
    if since is None:
        since = until - timedelta(days=DEFAULT_PERIOD_DAYS - 1)
    return Period(since, until)


def load(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    since: date | None = None,
    until: date | None = None,
    now: datetime | None = None,
) -> ReportData:
    """Read the views for the period (`since`/`until` inclusive UTC days; None: defaults)."""
    period = default_period(con, schema, since, until)
    now = now or datetime.now(UTC)
    in_progress = query(
        con,
        f"select * from {quote(schema)}.restores_in_progress"
        " order by is_overdue desc, elapsed_seconds desc, restore_id",
    )
    instances = _instances(con, schema, period)
    _assess(instances, in_progress)
    instances.sort(key=_risk_order)
    return ReportData(
        schema=schema,
        generated_at=now,
        period=period,
        headline=headline(con, schema, period),
        previous=headline(con, schema, period.previous()),
        days=_days(con, schema, period, now.date()),
        code_days=_code_days(con, schema, period),
        instances=instances,
        in_progress=in_progress,
    )


def headline(con: duckdb.DuckDBPyConnection, schema: str, period: Period) -> Headline:
    """Totals and duration percentiles of the restores created in `period`."""
    (row,) = query(
        con,
        "select count(*) as restores,"
        " count(*) filter (where is_finished) as finished,"
        " count(*) filter (where is_failed) as failed,"
        " count(distinct instance_id) as instances,"
        " percentile_cont(0.5) within group (order by duration_seconds) as p50,"
        " percentile_cont(0.95) within group (order by duration_seconds) as p95"
        f" from {quote(schema)}.stg_restores where created_day between ? and ?",
        [period.since, period.until],
    )
    return Headline(**row)


def _days(con: duckdb.DuckDBPyConnection, schema: str, period: Period, today: date) -> list[Day]:
    rows = {
        r["day"]: r
        for r in query(
            con,
            f"select * from {quote(schema)}.restore_daily where day between ? and ?",
            [period.since, period.until],
        )
    }
    (first,) = con.execute(f"select min(day) from {quote(schema)}.restore_daily").fetchone() or (
        None,
    )
    days = []
    for offset in range(period.days):
        day = period.since + timedelta(days=offset)
        r = rows.get(day, {})
        days.append(
            Day(
                day=day,
                restores=int(r.get("count_restores") or 0),
                finished=int(r.get("count_finished") or 0),
                failed=int(r.get("count_failed") or 0),
                p50=r.get("p50_duration_seconds"),
                p95=r.get("p95_duration_seconds"),
                partial=day == first or day >= today,
            )
        )
    return days


def _code_days(con: duckdb.DuckDBPyConnection, schema: str, period: Period) -> list[CodeDay]:
    rows = query(
        con,
        "select cast((created_at at time zone 'UTC') as date) as day, error_code as code,"
        " max(meaning) as meaning, count(*) as failures"
        f" from {quote(schema)}.restore_failures"
        " where cast((created_at at time zone 'UTC') as date) between ? and ?"
        " group by 1, 2 order by 1, 2 nulls last",
        [period.since, period.until],
    )
    return [CodeDay(**r) for r in rows]


def _instances(con: duckdb.DuckDBPyConnection, schema: str, period: Period) -> list[Instance]:
    counts = {
        r["instance_id"]: r
        for r in query(
            con,
            "select instance_id, count(*) as restores,"
            " count(*) filter (where is_finished) as finished,"
            " count(*) filter (where is_failed) as failed"
            f" from {quote(schema)}.stg_restores where created_day between ? and ?"
            " group by instance_id",
            [period.since, period.until],
        )
    }
    readiness = query(
        con, f"select * from {quote(schema)}.instance_readiness order by instance_id, project_id"
    )
    instances = []
    for r in readiness:
        c = counts.get(r["instance_id"], {})
        instances.append(
            Instance(
                readiness=r,
                restores=int(c.get("restores", 0)),
                finished=int(c.get("finished", 0)),
                failed=int(c.get("failed", 0)),
            )
        )
    return instances


def _assess(instances: list[Instance], in_progress: list[Row]) -> None:
    """Give each instance its risk reasons (plain words) and a score to sort by."""
    overdue: dict[str, list[Row]] = {}
    for r in in_progress:
        if r["is_overdue"]:
            overdue.setdefault(r["instance_id"], []).append(r)
    # without any backup loaded (an older database) a missing backup says nothing
    backups_known = any(i.readiness["newest_restorable_backup_at"] for i in instances)
    for i in instances:
        r = i.readiness
        for late in overdue.get(i.instance_id, []):
            i.reasons.append(
                f"overdue: restore {str(late['restore_id'])[:8]} {late['status']} "
                f"{duration(late['elapsed_seconds'])} "
                f"(expected {duration(late['expected_duration_seconds'])})"
            )
            i.score += _OVERDUE
        streak = int(r["consecutive_failed_restores"] or 0)
        if streak >= FAILING_STREAK:
            i.reasons.append(f"last {streak} restores failed")
            i.score += _STREAK + streak
        days = r["days_since_successful_restore"]
        if r["last_successful_restore_at"] is None:
            i.reasons.append(
                "never restored" if not r["count_restores"] else "never restored successfully"
            )
            i.score += _UNTESTED
        elif days is not None and days > MAX_DAYS_WITHOUT_SUCCESS:
            i.reasons.append(f"no successful restore in {int(days)} days")
            i.score += _UNTESTED
        rpo = r["rpo_exposure_seconds"]
        if rpo is not None and rpo > MAX_RPO_HOURS * 3600:
            i.reasons.append(f"newest restorable backup {duration(rpo)} old")
            i.score += _RPO
        elif rpo is None and backups_known:
            i.reasons.append("no restorable backup")
            i.score += _RPO


def _risk_order(i: Instance) -> tuple[Any, ...]:
    name = i.readiness["instance_name"] or ""
    return (-i.score, -(i.failure_rate or 0), name, i.instance_id)
