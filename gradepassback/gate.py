"""A district-wide cap on SIS requests in flight, shared by every worker through Redis.

IC allows at most 5 concurrent requests off-peak (infinite-campus.md §9). One passback run
fans out into many course tasks on many machines; each request first takes a slot here, so
together they never exceed ``District.oneroster_concurrency``.

The slots are a sorted set per district: member = a random token, score = when it was
taken (Redis's own clock, so machines with skewed clocks agree). Taking a slot is one Lua
script: drop slots older than the lease (their holder died), then add ours if fewer than
``limit`` remain. Releasing removes our token. A holder that dies leaks its slot for at
most ``lease_seconds``; the lease exceeds a request's longest retry budget so a live slow
request never loses its slot.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache

import redis
from django.conf import settings

#: Longer than one request's retry budget (RetryPolicy.budget_seconds, 180 s) plus timeouts.
LEASE_SECONDS = 300
#: Waiting for a slot polls from this interval, doubling up to the cap.
POLL_FIRST_SECONDS = 0.001
POLL_MAX_SECONDS = 0.025

_ACQUIRE = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', t - tonumber(ARGV[2]))
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], t, ARGV[3])
  redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])))
  return 1
end
return 0
"""


@cache
def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def gate_key(district_id: int) -> str:
    return f"gradepassback:district:{int(district_id)}:sis-slots"


class RequestGate:
    """``with gate.slot(): <one SIS request>`` — at most ``limit`` at once, district-wide."""

    def __init__(
        self,
        *,
        district_id: int,
        limit: int,
        lease_seconds: float = LEASE_SECONDS,
        client: redis.Redis | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.key = gate_key(district_id)
        self.limit = limit
        self.lease_seconds = lease_seconds
        self._redis = client or _redis()
        self._acquire = self._redis.register_script(_ACQUIRE)
        self._sleep = sleep

    def try_acquire(self) -> str | None:
        """A slot's token, or None when every slot is taken."""
        token = secrets.token_hex(8)
        taken = self._acquire(keys=[self.key], args=[self.limit, self.lease_seconds, token])
        return token if taken else None

    def release(self, token: str) -> None:
        self._redis.zrem(self.key, token)

    @contextmanager
    def slot(self) -> Iterator[None]:
        pause = POLL_FIRST_SECONDS
        while (token := self.try_acquire()) is None:
            self._sleep(pause)
            pause = min(POLL_MAX_SECONDS, pause * 2)
        try:
            yield
        finally:
            self.release(token)

    def in_flight(self) -> int:
        """Slots taken right now (expired ones included until the next acquire)."""
        return int(self._redis.zcard(self.key))
