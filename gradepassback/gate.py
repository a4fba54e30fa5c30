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

Threads of one process first queue on a local semaphore of the same size, so they wait
without polling Redis; only processes compete through Redis (a short poll with backoff).
"""

from __future__ import annotations

import itertools
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import redis

from integration.redis_names import redis_client, redis_key

#: Longer than one request's retry budget (RetryPolicy.budget_seconds, 180 s) plus timeouts.
LEASE_SECONDS = 300
#: Waiting for a slot polls from this interval, doubling up to the cap.
POLL_FIRST_SECONDS = 0.001
POLL_MAX_SECONDS = 0.025

_KEEP_ALIVE = """
local now = redis.call('TIME')
redis.call('ZADD', KEYS[1], 'XX', tonumber(now[1]) + tonumber(now[2]) / 1000000, ARGV[1])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])))
return 1
"""
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


_token_state: dict[str, object] = {"pid": None}
_token_lock = threading.Lock()


def _token() -> str:
    """A slot token unique per process and call, without a system call per request (the
    prefix is renewed after a fork, so prefork workers never share tokens)."""
    with _token_lock:
        if _token_state["pid"] != os.getpid():
            _token_state.update(
                pid=os.getpid(),
                prefix=f"{os.getpid()}-{secrets.token_hex(6)}-",
                numbers=itertools.count(),
            )
        return f"{_token_state['prefix']}{next(_token_state['numbers'])}"  # type: ignore[call-overload]


_local_lock = threading.Lock()
_local: dict[tuple[str, int], threading.BoundedSemaphore] = {}


def _local_semaphore(key: str, limit: int) -> threading.BoundedSemaphore:
    with _local_lock:
        if (key, limit) not in _local:
            _local[(key, limit)] = threading.BoundedSemaphore(limit)
        return _local[(key, limit)]


def gate_key(district_id: int) -> str:
    return redis_key("gradepassback", "district", int(district_id), "sis-slots")


class Slot:
    """A held slot. ``keep_alive()`` after each request renews the lease once a third of
    it has passed, so a holder sending a batch never outlives its lease."""

    def __init__(self, gate: RequestGate, token: str) -> None:
        self._gate = gate
        self.token = token
        self._renewed = time.monotonic()

    def keep_alive(self) -> None:
        if time.monotonic() - self._renewed >= self._gate.lease_seconds / 3:
            self._gate.renew(self.token)
            self._renewed = time.monotonic()


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
        self._redis = client or redis_client()
        self._acquire = self._redis.register_script(_ACQUIRE)
        self._keep_alive = self._redis.register_script(_KEEP_ALIVE)
        self._sleep = sleep
        self._here = _local_semaphore(self.key, limit)

    def try_acquire(self) -> str | None:
        """A slot's token, or None when every slot is taken."""
        token = _token()
        taken = self._acquire(keys=[self.key], args=[self.limit, self.lease_seconds, token])
        return token if taken else None

    def release(self, token: str) -> None:
        self._redis.zrem(self.key, token)

    @contextmanager
    def slot(self) -> Iterator[Slot]:
        with self._here:
            pause = POLL_FIRST_SECONDS
            while (token := self.try_acquire()) is None:
                self._sleep(pause)
                pause = min(POLL_MAX_SECONDS, pause * 2)
            held = Slot(self, token)
            try:
                yield held
            finally:
                self.release(token)

    def renew(self, token: str) -> None:
        """Restart a held slot's lease (for a holder sending several requests in a row)."""
        self._keep_alive(keys=[self.key], args=[token, self.lease_seconds])

    def in_flight(self) -> int:
        """Slots taken right now (expired ones included until the next acquire)."""
        return int(self._redis.zcard(self.key))
