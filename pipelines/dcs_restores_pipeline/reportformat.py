"""How the report writes values for people: durations in human units, rates, ages, short ids."""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime
from typing import Any

from dcs_restores_pipeline.text import printable

SHORT_ID = 8


def duration(seconds: float | None) -> str:
    """Return e.g. `45.0s`, `3m 37.5s` or `2h 05m`; `-` when unknown."""
    if seconds is None:
        return "-"
    # round first so 119.96 s shows as 2m 0.0s, not 1m 60.0s
    total = round(seconds, 1)
    if total < 60:
        return f"{total:.1f}s"
    if total < 3600:
        minutes, rest = divmod(total, 60)
        return f"{int(minutes)}m {rest:.1f}s"
    hours, rest = divmod(round(total), 3600)
    if hours < 48:
        return f"{hours}h {rest // 60:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours:02d}h"


def percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.1%}"


def change(current: float | None, previous: float | None, *, points: bool = False) -> str:
    """Return the change from `previous` to `current`: `+12%`, or `+1.5 pts` for rates."""
    if current is None or previous is None:
        return "no earlier data"
    if points:
        return f"{100 * (current - previous):+.1f} pts"
    if previous == 0:
        return "new" if current else "no change"
    ratio = (current - previous) / previous
    return f"{ratio:+.1%}" if abs(ratio) < 0.1 else f"{ratio:+.0%}"


def short_id(value: str | None) -> str:
    """The first characters of an id, enough to tell instances apart on one screen."""
    return printable(value or "-")[:SHORT_ID]


def name(value: str | None, fallback: str | None = None) -> str:
    """A printable name; an instance without a name shows its short id."""
    if value:
        return printable(value)
    return short_id(fallback) if fallback else "-"


def code(value: str | None) -> str:
    return printable(value) if value else "(none)"


def utc(value: datetime | date | None) -> str:
    """A timestamp in UTC to the minute, a date as it is."""
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def cell(value: Any) -> str:
    """Plain text for any value from the database."""
    if value is None:
        return "-"
    if isinstance(value, date):
        return utc(value)
    if isinstance(value, float):
        return f"{value:.1f}"
    return printable(str(value))


def utc_day(text: str) -> date:
    """Parse a `--since`/`--until` value: a UTC day written YYYY-MM-DD."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD, UTC)") from None
