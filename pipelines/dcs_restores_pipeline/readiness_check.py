"""Recovery-readiness thresholds of `dcs-restores check`, read from the readiness views.

`--max-days-since-restore D`: an instance whose newest succeeded restore was created more than D
days ago, or that never restored successfully. `--max-rpo-hours H`: an instance whose newest
restorable backup is more than H hours old, or that has none. `--max-overdue N`: an instance
with more than N restores running past their expectation (each named, with its elapsed and
expected time). `--max-consecutive-failures N`: an instance whose newest more than N finished
restores all failed, however recent its last success. Every `--max-*` flag allows its value
and flags what is above it. The ages are the views' own, measured from their one clock
(`stg_clock`). Instances are named by their full id, ready to paste into the console or API.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from dcs_restores_pipeline.argnumbers import finite_number, out_of_range, validate, whole_number
from dcs_restores_pipeline.reportformat import duration
from dcs_restores_pipeline.text import printable

# one row per instance: its ages and how many of its restores are overdue; {readiness} and
# {in_progress} are the qualified views. Portable between DuckDB and PostgreSQL.
READINESS_SQL = """
select
    readiness.project_id,
    readiness.instance_id,
    readiness.instance_name,
    readiness.days_since_successful_restore,
    readiness.rpo_exposure_seconds,
    coalesce(overdue.count_overdue, 0) as count_overdue,
    readiness.consecutive_failed_restores
from {readiness} as readiness
left join (
    select instance_id, count(*) as count_overdue
    from {in_progress}
    where is_overdue
    group by instance_id
) as overdue
    on readiness.instance_id = overdue.instance_id
order by readiness.project_id, readiness.instance_id
"""

# the overdue restores themselves, to name them in their instance's breach
OVERDUE_SQL = """
select instance_id, restore_id, status, elapsed_seconds, expected_duration_seconds
from {in_progress}
where is_overdue
order by instance_id, created_at, restore_id
"""

READINESS_VIEWS = ("instance_readiness", "restores_in_progress")

# an instance's breach line names at most this many of its overdue restores
MAX_NAMED_OVERDUE = 5

_DAYS = "days, 0 or more, e.g. 7"
_HOURS = "hours, 0 or more, e.g. 24"
_COUNT = "a whole number, 0 or more"


def _non_negative(text: str, wanted: str) -> float:
    value = finite_number(text, wanted)
    if value < 0:
        raise out_of_range(text, wanted)
    return value


def days_arg(text: str) -> float:
    """`--max-days-since-restore`: finite days, 0 or more."""
    return _non_negative(text, _DAYS)


def hours_arg(text: str) -> float:
    """`--max-rpo-hours`: finite hours, 0 or more."""
    return _non_negative(text, _HOURS)


def count_arg(text: str) -> int:
    """`--max-overdue`, `--max-consecutive-failures`: a whole number, 0 or more."""
    return whole_number(text, _COUNT)


def add_readiness_arguments(parser: argparse.ArgumentParser) -> None:
    """The readiness options of `check`."""
    parser.add_argument(
        "--max-days-since-restore",
        type=days_arg,
        metavar="DAYS",
        help="instances whose last successful restore is older, or that never had one",
    )
    parser.add_argument(
        "--max-rpo-hours",
        type=hours_arg,
        metavar="HOURS",
        help="instances whose newest restorable backup is older, or that have none",
    )
    parser.add_argument(
        "--max-overdue",
        type=count_arg,
        metavar="N",
        help="instances with more than N restores running past their expected duration",
    )
    parser.add_argument(
        "--max-consecutive-failures",
        type=count_arg,
        metavar="N",
        help="instances whose newest more than N finished restores all failed",
    )


@dataclass(frozen=True)
class Thresholds:
    """The readiness thresholds given; None is not checked."""

    max_days_since_restore: float | None = None
    max_rpo_hours: float | None = None
    max_overdue: int | None = None
    max_consecutive_failures: int | None = None

    @property
    def any(self) -> bool:
        return any(value is not None for value in asdict(self).values())

    def validate(self) -> None:
        """The command line's ranges, for callers of `check()` in code.

        Raises:
            ValueError: a threshold out of its range.
        """
        parsers = {
            "max_days_since_restore": days_arg,
            "max_rpo_hours": hours_arg,
            "max_overdue": count_arg,
            "max_consecutive_failures": count_arg,
        }

        def checks() -> Iterator[tuple[str, Any, Callable[[str], object]]]:
            for name, value in asdict(self).items():
                if value is None:
                    continue
                if parsers[name] is count_arg and not isinstance(value, int):
                    raise ValueError(f"{name}: {value!r} is not a whole number: give {_COUNT}")
                yield name, value, parsers[name]

        # lazily: the fields are checked in their order, as the command line does
        validate(checks())


# the age measures: what a breach line says without a value, with one ({} is it), and its unit
_AGES = {
    "days_since_successful_restore": (
        "never restored successfully",
        "last successful restore {} days ago",
        "days",
    ),
    "rpo_hours": ("no restorable backup", "newest restorable backup {} h old", "h"),
}


@dataclass(frozen=True)
class Overdue:
    """One restore running past its expected duration (seconds from the view)."""

    restore_id: str
    status: str
    elapsed_seconds: float
    expected_seconds: float

    def text(self) -> str:
        return printable(
            f"restore {self.restore_id} {self.status} {duration(self.elapsed_seconds)} "
            f"(expected {duration(self.expected_seconds)})"
        )


@dataclass(frozen=True)
class Breach:
    """One instance past one readiness threshold; `value` None means never / none."""

    project_id: str
    instance_id: str
    instance_name: str | None
    measure: str
    value: float | None
    threshold: float
    # overdue_restores only: the restores running past their expectation
    overdue: tuple[Overdue, ...] = ()

    def line(self) -> str:
        name = self.instance_name if self.instance_name is not None else "(no name)"
        who = printable(f"{self.project_id} {name} ({self.instance_id})")
        limit = f"{self.threshold:g}"
        age = _AGES.get(self.measure)
        if age is not None:
            never, seen, unit = age
            what = never if self.value is None else seen.format(_above(self.value, self.threshold))
            return f"{who}: {what} > {limit} {unit}"
        if self.measure == "consecutive_failed_restores":
            return f"{who}: {self.value:.0f} consecutive failed restores > {limit}"
        named = [o.text() for o in self.overdue[:MAX_NAMED_OVERDUE]]
        if len(self.overdue) > MAX_NAMED_OVERDUE:
            named.append(f"{len(self.overdue) - MAX_NAMED_OVERDUE} more")
        listed = f": {'; '.join(named)}" if named else ""
        return f"{who}: {self.value:.0f} restore(s) overdue > {limit}{listed}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _above(value: float, limit: float) -> str:
    """`value` with one decimal, or as many more as it takes to show it above `limit`."""
    for digits in range(1, 7):
        text = f"{value:.{digits}f}"
        if float(text) > limit:
            return text
    return repr(value)


def overdue_by_instance(rows: list[tuple[Any, ...]]) -> dict[str, list[Overdue]]:
    """OVERDUE_SQL's rows, per instance id; seconds to the millisecond, as the views give ages
    (percentiles differ between DuckDB and PostgreSQL in their last bits)."""
    found: dict[str, list[Overdue]] = {}
    for instance_id, restore_id, status, elapsed, expected in rows:
        seconds = round(float(elapsed), 3), round(float(expected), 3)
        late = Overdue(str(restore_id), str(status), *seconds)
        found.setdefault(str(instance_id), []).append(late)
    return found


def breaches(
    rows: list[tuple[Any, ...]],
    thresholds: Thresholds,
    overdue: dict[str, list[Overdue]] | None = None,
) -> list[Breach]:
    """The breaches of READINESS_SQL's rows, per instance in the rows' order; `overdue`
    (from `overdue_by_instance`) names the restores of an overdue breach."""
    found: list[Breach] = []
    for project_id, instance_id, name, days, rpo_seconds, count_overdue, streak in rows:
        who = (str(project_id), str(instance_id), None if name is None else str(name))
        limit_days = thresholds.max_days_since_restore
        if limit_days is not None and (days is None or float(days) > limit_days):
            value = None if days is None else float(days)
            found.append(Breach(*who, "days_since_successful_restore", value, limit_days))
        limit_hours = thresholds.max_rpo_hours
        hours = None if rpo_seconds is None else float(rpo_seconds) / 3600
        if limit_hours is not None and (hours is None or hours > limit_hours):
            found.append(Breach(*who, "rpo_hours", hours, limit_hours))
        limit_overdue = thresholds.max_overdue
        if limit_overdue is not None and int(count_overdue) > limit_overdue:
            late = tuple((overdue or {}).get(str(instance_id), []))
            found.append(
                Breach(*who, "overdue_restores", float(count_overdue), limit_overdue, late)
            )
        limit_streak = thresholds.max_consecutive_failures
        if limit_streak is not None and int(streak) > limit_streak:
            found.append(Breach(*who, "consecutive_failed_restores", float(streak), limit_streak))
    return found
