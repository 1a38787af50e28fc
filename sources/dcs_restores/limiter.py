"""Adaptive cap on requests in flight: halves on throttling, grows back one step at a time."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class AdaptiveLimiter:
    """Additive-increase / multiplicative-decrease limit on concurrent requests.

    A 429 halves the limit (and keeps it there for `cooldown_s`), so a throttled run slows
    down instead of hammering the gateway; each full round of successes raises it by one.
    """

    def __init__(self, maximum: int, cooldown_s: float = 1.0) -> None:
        self.maximum = max(1, maximum)
        self.limit = self.maximum
        self.lowest = self.maximum
        self.throttled = 0
        self._in_flight = 0
        self._successes = 0
        self._cooldown_s = cooldown_s
        self._calm_after = 0.0
        self._cond = threading.Condition()

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the `limit` request slots for the duration of the block."""
        with self._cond:
            while self._in_flight >= self.limit:
                self._cond.wait()
            self._in_flight += 1
        try:
            yield
        finally:
            with self._cond:
                self._in_flight -= 1
                self._cond.notify()

    def on_throttle(self) -> None:
        with self._cond:
            self.throttled += 1
            now = time.monotonic()
            if now >= self._calm_after:
                # one halving per cooldown: a burst of 429s from one wave is one signal
                self.limit = max(1, self.limit // 2)
                self.lowest = min(self.lowest, self.limit)
                self._calm_after = now + self._cooldown_s
            self._successes = 0

    def on_success(self) -> None:
        with self._cond:
            if self.limit >= self.maximum or time.monotonic() < self._calm_after:
                return
            self._successes += 1
            if self._successes >= self.limit:
                self._successes = 0
                self.limit += 1
                self._cond.notify_all()
