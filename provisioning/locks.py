"""The per-district Redis lock held while a worker does a run's work.

Correctness never depends on it: the database allows one active run per district
(``syncrun_one_active_per_district``) and every status change re-reads the row. The lock
only stops two workers from working on the *same* run at once, which happens when Celery
redelivers a message (late ack) while the first worker is still alive. It is redis-py's
``Lock``: ``SET NX PX`` with a random owner token, released by a Lua compare-and-delete, so
an expired lock re-taken by another worker is never released by the first.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import redis
from django.conf import settings
from redis.exceptions import LockError
from redis.lock import Lock

#: Lease of the lock; extended at every heartbeat, so only a dead worker lets it lapse.
LOCK_TIMEOUT_SECONDS = 600


class DistrictBusy(Exception):
    """Another worker holds the district's lock right now."""


@cache
def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def lock_name(district_id: int) -> str:
    return f"provisioning:district:{int(district_id)}:run-lock"


@contextmanager
def district_lock(district_id: int) -> Iterator[Lock]:
    """Hold the district's lock for the block; raise ``DistrictBusy`` if it is taken.

    Call ``lock.extend(LOCK_TIMEOUT_SECONDS, replace_ttl=True)`` at each heartbeat.
    """
    lock = _redis().lock(lock_name(district_id), timeout=LOCK_TIMEOUT_SECONDS, blocking=False)
    if not lock.acquire(blocking=False):
        raise DistrictBusy(f"District #{district_id} is being worked on by another worker.")
    try:
        yield lock
    finally:
        # Expired and re-taken by another worker: the Lua release refuses; that lock is theirs.
        with contextlib.suppress(LockError):
            lock.release()


def district_lock_held(district_id: int) -> bool:
    """Whether any worker holds the district's lock (for the reaper's and the admin's view)."""
    return bool(_redis().exists(lock_name(district_id)))
