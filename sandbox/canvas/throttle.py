"""Canvas's leaky-bucket request throttle (``app/middleware/request_throttle.rb``).

Each access token has a bucket. A request may start only while the bucket is below the
high-water mark; starting adds an up-front cost that is refunded when the request ends,
when its real cost (CPU time) is added instead. The bucket leaks at a steady rate and never
holds more than ``maximum``. So a client with one request in flight is practically never
throttled, while one that fans out many parallel requests fills the bucket with up-front
costs and gets ``403 Forbidden (Rate Limit Exceeded)``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class LeakyBucket:
    """One token's bucket; the defaults are Canvas's."""

    def __init__(
        self,
        *,
        high_water: float = 600.0,
        maximum: float = 800.0,
        leak_per_second: float = 10.0,
        up_front_cost: float = 50.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.high_water = high_water
        self.maximum = maximum
        self.leak_per_second = leak_per_second
        self.up_front_cost = up_front_cost
        self._clock = clock
        self._lock = threading.Lock()
        self._level = 0.0
        self._stamp = clock()
        self.in_flight = 0
        self.peak_in_flight = 0
        self.throttled = 0

    def _leak(self) -> None:
        now = self._clock()
        self._level = max(0.0, self._level - (now - self._stamp) * self.leak_per_second)
        self._stamp = now

    def reserve(self) -> bool:
        """Start a request: False (throttled) when the bucket is at the high-water mark."""
        with self._lock:
            self._leak()
            if self._level >= self.high_water:
                self.throttled += 1
                return False
            self._level = min(self.maximum, self._level + self.up_front_cost)
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            return True

    def release(self, cost: float) -> None:
        """End a request: refund the up-front cost and charge the real one."""
        with self._lock:
            self._leak()
            self._level = min(self.maximum, max(0.0, self._level - self.up_front_cost + cost))
            self.in_flight = max(0, self.in_flight - 1)

    def fill(self, amount: float) -> None:
        """Add cost directly (tests and the throttle control)."""
        with self._lock:
            self._leak()
            self._level = min(self.maximum, max(0.0, self._level + amount))

    @property
    def remaining(self) -> float:
        with self._lock:
            self._leak()
            return max(0.0, self.high_water - self._level)
