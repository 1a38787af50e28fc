"""What one extract did, in one object: the run summary reads it, the client counts into it."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from .errors import DcsApiError

# counters the client's worker threads increment (under the lock)
REQUEST_COUNTERS = ("requests", "retries", "auth_failures", "throttled", "early_answers")


@dataclass
class BackupStats:
    """Figures of the backups read of one extract (the requests count into ExtractStats)."""

    instances_planned: int = 0
    instances_read: int = 0
    instances_skipped: list[str] = field(default_factory=list)
    # instances whose backups were set aside (their restores are not affected)
    failures: list[DcsApiError] = field(default_factory=list)
    pages: int = 0
    rows: int = 0
    # of `rows`, those whose row was stored exactly so already: not loaded again
    unchanged: int = 0
    rejected: int = 0
    unknown_status: int = 0


@dataclass
class ExtractStats:
    """Figures of one extract of one project."""

    instances_listed: int | None = None
    # listed instances whose row was stored exactly so already: not loaded again
    instances_unchanged: int = 0
    instances_planned: int = 0
    instances_read: int = 0
    instances_skipped: list[str] = field(default_factory=list)
    failures: list[DcsApiError] = field(default_factory=list)
    pages: int = 0
    # restores read within their instance's window (the loaded and the `unchanged` ones)
    rows: int = 0
    unchanged: int = 0
    rejected: int = 0
    unknown_status: int = 0
    # values NULLed, truncated or repaired while shaping (named in `invalid_fields`)
    values_set_aside: int = 0
    requests: int = 0
    retries: int = 0
    auth_failures: int = 0
    throttled: int = 0
    # requests answered by reads sent while the run was still starting (prefetch.py)
    early_answers: int = 0
    backups: BackupStats = field(default_factory=BackupStats)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, counter: str, by: int = 1) -> None:
        """Add `by` to one of REQUEST_COUNTERS; safe from any thread."""
        if counter not in REQUEST_COUNTERS:
            raise KeyError(counter)
        with self._lock:
            setattr(self, counter, getattr(self, counter) + by)
