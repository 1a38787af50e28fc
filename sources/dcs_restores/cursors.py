"""Per-instance cursors on created_at: what to ask the API for, and what to remember."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .records import parse_timestamp
from .settings import TERMINAL_STATUSES


@dataclass(frozen=True)
class InstanceCursor:
    """What one instance's last complete read saw.

    Attributes:
        max_created_at: newest created_at ever read for the instance.
        oldest_open: oldest created_at among restores not yet finished at that read; the next
            read must reach back to it so their status changes are not missed.
    """

    max_created_at: datetime | None = None
    oldest_open: datetime | None = None

    @classmethod
    def from_state(cls, value: Any) -> InstanceCursor | None:
        if not isinstance(value, dict):
            return None
        return cls(
            max_created_at=parse_timestamp(value.get("max_created_at")),
            oldest_open=parse_timestamp(value.get("oldest_open")),
        )

    def to_state(self) -> dict[str, str | None]:
        return {
            "max_created_at": self.max_created_at.isoformat() if self.max_created_at else None,
            "oldest_open": self.oldest_open.isoformat() if self.oldest_open else None,
        }


def begin_time(
    cursor: InstanceCursor | None, lookback: timedelta, start_date: datetime | None
) -> datetime | None:
    """Return the earliest created_at the next read must cover, or None for all history.

    An instance never read before gets its whole history (from `start_date` if set), however
    old it is compared with other instances; a known one re-reads the look-back window and
    every restore that was still open.
    """
    if cursor is None or cursor.max_created_at is None:
        return start_date
    begin = cursor.max_created_at - lookback
    if start_date is not None:
        begin = max(begin, start_date)
    # a restore still open is re-read even if it predates a start_date set later
    if cursor.oldest_open is not None:
        begin = min(begin, cursor.oldest_open)
    return begin


class CursorTracker:
    """Follows the rows of one instance's read and yields the cursor to store after it."""

    def __init__(self, previous: InstanceCursor | None) -> None:
        self._max: datetime | None = previous.max_created_at if previous else None
        self._oldest_open: datetime | None = None

    def observe(self, created_at: datetime, status: str | None) -> None:
        if self._max is None or created_at > self._max:
            self._max = created_at
        # anything not known to be final (including a status we do not know) is re-read
        if status not in TERMINAL_STATUSES and (
            self._oldest_open is None or created_at < self._oldest_open
        ):
            self._oldest_open = created_at

    def result(self) -> InstanceCursor:
        return InstanceCursor(max_created_at=self._max, oldest_open=self._oldest_open)
