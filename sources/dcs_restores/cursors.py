"""Per-instance cursors on created_at: what to ask the API for, and what to remember.

A cursor moves only on evidence it can trust: never past the real clock (plus a small skew),
never back before the API existed, and an open restore is not forgotten because one read did
not show it (the destination's open restores count too, see `begin_time`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .errors import RecordError
from .settings import BEGIN_TIME_MARGIN, EARLIEST_CREATED_AT, MAX_CLOCK_SKEW, TERMINAL_STATUSES
from .timestamps import parse_timestamp


def _trusted(value: Any, now: datetime) -> datetime | None:
    """A stored time, or None when it cannot be a real restore time (an older version of this
    source, or a damaged state, may hold one): the instance is then read as if new."""
    try:
        moment = parse_timestamp(value)
    except RecordError:
        return None
    if moment is None or moment < EARLIEST_CREATED_AT:
        return None
    return min(moment, now + MAX_CLOCK_SKEW)


def earlier(moment: datetime, delta: timedelta) -> datetime:
    """`moment - delta`, or the earliest plausible time where that would underflow."""
    try:
        return max(moment - delta, EARLIEST_CREATED_AT)
    except OverflowError:
        return EARLIEST_CREATED_AT


@dataclass(frozen=True)
class InstanceCursor:
    """What one instance's last complete read saw.

    Attributes:
        max_created_at: newest created_at ever read for the instance (at most now + skew).
        oldest_open: oldest created_at among restores not yet finished at that read; the next
            read must reach back to it so their status changes are not missed.
        full_read_at: when (real clock) the instance's whole history was last read; kept by
            backups only, which read it all again now and then (see backup_plan.py).
    """

    max_created_at: datetime | None = None
    oldest_open: datetime | None = None
    full_read_at: datetime | None = None

    @classmethod
    def from_state(cls, value: Any, now: datetime | None = None) -> InstanceCursor | None:
        if not isinstance(value, dict):
            return None
        now = now or datetime.now(UTC)
        return cls(
            max_created_at=_trusted(value.get("max_created_at"), now),
            oldest_open=_trusted(value.get("oldest_open"), now),
            full_read_at=_trusted(value.get("full_read_at"), now),
        )

    def to_state(self) -> dict[str, str | None]:
        state = {
            "max_created_at": self.max_created_at.isoformat() if self.max_created_at else None,
            "oldest_open": self.oldest_open.isoformat() if self.oldest_open else None,
        }
        # an instance that has shown nothing yet is read whole on every run (backup_plan.py):
        # the moment of that read tells the next run nothing, and storing it would change the
        # state, and load a state-only package, on every run where nothing changed
        if self.full_read_at is not None and self.max_created_at is not None:
            state["full_read_at"] = self.full_read_at.isoformat()
        return state


def begin_time(
    cursor: InstanceCursor | None,
    lookback: timedelta,
    start_date: datetime | None,
    open_since: datetime | None = None,
) -> datetime | None:
    """Return the earliest created_at the next read must cover, or None for all history.

    An instance never read before gets its whole history (from `start_date` if set), however
    old it is compared with other instances; a known one re-reads the look-back window and
    every restore that was still open, in the cursor or in the destination (`open_since`).
    """
    if cursor is None or cursor.max_created_at is None:
        return start_date
    begin = earlier(cursor.max_created_at, lookback)
    if start_date is not None:
        begin = max(begin, start_date)
    # a restore still open is re-read even if it predates a start_date set later
    for open_at in (cursor.oldest_open, open_since):
        if open_at is not None:
            begin = min(begin, open_at)
    return begin


def requested_begin(begin: datetime | None) -> datetime | None:
    """The begin_time to send: earlier by a margin, for a server that reads it in its own zone
    (rows before `begin` that come back are dropped by the reader, not loaded twice)."""
    return None if begin is None else earlier(begin, BEGIN_TIME_MARGIN)


class CursorTracker:
    """Follows the rows of one instance's read and yields the cursor to store after it."""

    def __init__(
        self,
        previous: InstanceCursor | None,
        now: datetime | None = None,
        terminal: Collection[str] = TERMINAL_STATUSES,
        full_read_at: datetime | None = None,
    ) -> None:
        self._max: datetime | None = previous.max_created_at if previous else None
        self._oldest_open: datetime | None = None
        self._terminal = terminal
        self._full_read_at = full_read_at
        # a created_at ahead of the real clock is a server's error, not a reason to skip
        # everything before it on the next run
        self._ceiling = (now or datetime.now(UTC)) + MAX_CLOCK_SKEW

    def observe(self, created_at: datetime, status: str | None) -> None:
        trusted = min(created_at, self._ceiling)
        if self._max is None or trusted > self._max:
            self._max = trusted
        # anything not known to be final (including a status we do not know) is re-read
        if status not in self._terminal and (
            self._oldest_open is None or created_at < self._oldest_open
        ):
            self._oldest_open = created_at

    def result(self) -> InstanceCursor:
        return InstanceCursor(self._max, self._oldest_open, self._full_read_at)


# (cursors, instance ids, now, lookback, start_date, open_since) -> instance id -> (where its
# read begins, the tracker of the cursor it stores): restore_begins, backup_plan.backup_begins
Begins = Callable[
    [Mapping[str, Any], list[str], datetime, timedelta, datetime | None, Mapping[str, datetime]],
    dict[str, tuple[datetime | None, CursorTracker]],
]


def restore_begins(
    cursors: Mapping[str, Any],
    instance_ids: list[str],
    now: datetime,
    lookback: timedelta,
    start_date: datetime | None,
    open_since: Mapping[str, datetime],
) -> dict[str, tuple[datetime | None, CursorTracker]]:
    """Where each instance's restores read begins (its cursor, the lookback, its oldest open
    restore), and the tracker of the cursor it stores after the read."""
    planned = {}
    for instance_id in instance_ids:
        previous = InstanceCursor.from_state(cursors.get(instance_id), now)
        begin = begin_time(previous, lookback, start_date, open_since.get(instance_id))
        planned[instance_id] = (begin, CursorTracker(previous, now))
    return planned
