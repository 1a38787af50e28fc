"""Where each instance's backups read begins: open backups, changes of old ones, full re-reads.

A backup's status keeps changing after it is final: `succeed` turns `expired` when its
retention ends (automatic backups: the backup policy's save_days, at most 7 days) and
`deleted` when someone deletes it. Two rules follow those changes without reading every
instance's whole history on every run:

- every run re-reads the backups created within RECHECK (8 days) before the newest one the
  last read saw, plus the look-back window: every expiry of an automatic backup falls in it
  (with runs at most a day apart), and with daily backups that is ~10 records: the one
  request an idle run makes per instance;
- every FULL_REREAD (7 days, real clock) an instance's whole history is read again: manual
  backups deleted at any age, and anything the window missed, are caught within a week, at
  ceil(history / page_size) requests per instance and week.

Both hold whatever order the API lists backups in (it documents none): the window is asked
for with `begin_time` and every row before it that comes back anyway is dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from .cursors import CursorTracker, InstanceCursor, begin_time

BACKUPS_PATH = "/v2/{project_id}/instances/{instance_id}/backups"
BACKUP_OPEN_STATUSES = frozenset({"waiting", "backuping"})
BACKUP_TERMINAL_STATUSES = frozenset({"succeed", "failed", "expired", "deleted"})
BACKUP_KNOWN_STATUSES = BACKUP_OPEN_STATUSES | BACKUP_TERMINAL_STATUSES
RECHECK = timedelta(days=8)
FULL_REREAD = timedelta(days=7)


def plan_backups(
    state: Any,
    now: datetime,
    lookback: timedelta,
    start_date: datetime | None,
    open_since: datetime | None,
) -> tuple[datetime | None, CursorTracker]:
    """Return where one instance's backups read begins (None: all history) and its tracker.

    `state` is the instance's stored cursor, `open_since` the created_at of its oldest backup
    the destination holds as open.
    """
    previous = InstanceCursor.from_state(state, now)
    full = (
        previous is None
        or previous.max_created_at is None
        or previous.full_read_at is None
        or now - previous.full_read_at >= FULL_REREAD
    )
    read_at: datetime | None
    if full:
        begin = start_date
        if start_date is not None and open_since is not None:
            begin = min(start_date, open_since)
        read_at = now
    else:
        assert previous is not None
        begin = begin_time(previous, lookback + RECHECK, start_date, open_since)
        read_at = previous.full_read_at
    return begin, CursorTracker(previous, now, BACKUP_TERMINAL_STATUSES, read_at)


def backup_begins(
    cursors: Mapping[str, Any],
    instance_ids: list[str],
    now: datetime,
    lookback: timedelta,
    start_date: datetime | None,
    open_since: Mapping[str, datetime],
) -> dict[str, tuple[datetime | None, CursorTracker]]:
    """`plan_backups` for every instance of the listing."""
    return {
        iid: plan_backups(cursors.get(iid), now, lookback, start_date, open_since.get(iid))
        for iid in instance_ids
    }
