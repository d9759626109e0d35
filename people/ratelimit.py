"""Per-user request rate limiting (token bucket), in process memory.

Why memory and not the database: a platform delivers all updates of one bot to one consumer
process (one getUpdates poller / one webhook), so a user's requests always meet the same limiter,
and a limit that resets on restart costs nothing. Keeping it out of the DB keeps abuse from
turning into write load on the store that holds money.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

# Every this many calls, forget buckets that have refilled completely (they equal a new bucket),
# so memory stays bounded by recently active users.
EVICT_EVERY = 1024


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    """``allow(key)`` spends one token; ``per_minute`` tokens refill evenly, burst ``burst``."""

    def __init__(
        self,
        per_minute: int,
        burst: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be >= 1")
        self.rate = per_minute / 60.0
        self.burst = float(burst if burst is not None else per_minute)
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()
        self._calls = 0

    def _refill(self, key: str, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(self.burst, now)
        else:
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
            bucket.stamp = now
        return bucket

    def allow(self, key: str) -> bool:
        with self._lock:
            now = self._clock()
            self._calls += 1
            if self._calls % EVICT_EVERY == 0:
                self._evict(now)
            bucket = self._refill(key, now)
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return True
            return False

    def retry_after(self, key: str) -> float:
        """Seconds until ``allow(key)`` would succeed (0 when it would now)."""
        with self._lock:
            bucket = self._refill(key, self._clock())
            return max(0.0, (1.0 - bucket.tokens) / self.rate)

    def _evict(self, now: float) -> None:
        idle = [k for k, b in self._buckets.items() if b.tokens + (now - b.stamp) * self.rate >= self.burst]
        for key in idle:
            del self._buckets[key]
