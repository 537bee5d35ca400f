"""Per-account rate limits for what people submit, and for failed sign-ins per user name.

A sliding window: at most `limit` events per key in the last `window_s` seconds (a monotonic
clock), kept in the web process's memory. One `ysim web` process serves a run, so its memory is
the one place every request of an account passes through; a restart forgets the windows.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Hashable


class RateLimiter:
    def __init__(self, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window_s, self._clock = limit, window_s, clock
        self._events: dict[Hashable, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()  # sync routes run in a thread pool

    def allow(self, key: Hashable) -> bool:
        """Count one event for `key` if the window has room; whether it had."""
        now = self._clock()
        with self._lock:
            events = self._events[key]
            while events and events[0] <= now - self.window_s:
                events.popleft()
            if len(events) >= self.limit:
                return False
            events.append(now)
            return True

    def retry_after(self, key: Hashable) -> int:
        """Seconds until `key` may act again (at least 1)."""
        with self._lock:
            events = self._events.get(key)
            oldest = events[0] if events else self._clock()
        return max(1, int(oldest + self.window_s - self._clock()) + 1)

    def forget(self, key: Hashable) -> None:
        with self._lock:
            self._events.pop(key, None)
