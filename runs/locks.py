"""The per-district Redis lock held while a worker does a run's work.

Correctness never depends on it: the database allows one active run per district
(``syncrun_one_active_per_district``) and every status change re-reads the row. The lock
only stops two workers from working on the *same* run at once, which happens when Celery
redelivers a message (late ack) while the first worker is still alive. It is redis-py's
``Lock``: ``SET NX PX`` with an owner token, released by a Lua compare-and-delete, so an
expired lock re-taken by another worker is never released by the first.

The token names the run (``run-<id>-<random>``), so the reaper can release the lock of a
run it failed without touching a lock another run took since. The TTL is the run lease
(``runs.lease``), renewed at every heartbeat.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from redis.exceptions import LockError, RedisError
from redis.lock import Lock

from integration.redis_names import redis_client, redis_key
from runs.lease import lease_seconds

logger = logging.getLogger(__name__)

DISTRICT_BUSY = "District #{district_id} is being worked on by another worker."

_RELEASE_FOR_RUN = """
local value = redis.call('GET', KEYS[1])
if value and string.sub(value, 1, string.len(ARGV[1])) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class DistrictBusy(Exception):
    """Another worker holds the district's lock right now; ``retry_in`` is its TTL left."""

    def __init__(self, *, district_id: int, retry_in: float) -> None:
        self.retry_in = retry_in
        super().__init__(DISTRICT_BUSY.format(district_id=district_id))


def lock_name(district_id: int) -> str:
    return redis_key("runs", "district", int(district_id), "lock")


def _token_prefix(run_id: int) -> str:
    return f"run-{int(run_id)}-"


class RunLock:
    """A held district lock. ``extend()`` restarts its lease; a Redis outage does not stop
    the run (the database keeps it single), it only means the lock may lapse meanwhile."""

    def __init__(self, lock: Lock) -> None:
        self._lock = lock

    def extend(self) -> None:
        try:
            self._lock.extend(lease_seconds(), replace_ttl=True)
        except (LockError, RedisError) as exc:
            logger.warning("could not extend %s: %s", self._lock.name, exc)


@contextmanager
def district_lock(district_id: int, *, run_id: int) -> Iterator[RunLock]:
    """Hold the district's lock for the block on behalf of run ``run_id``; raise
    ``DistrictBusy`` if another holder has it."""
    # Not thread-local: the lease keeper thread extends the lock the work thread took.
    lock = redis_client().lock(
        lock_name(district_id), timeout=lease_seconds(), blocking=False, thread_local=False
    )
    if not lock.acquire(blocking=False, token=f"{_token_prefix(run_id)}{secrets.token_hex(8)}"):
        raise DistrictBusy(district_id=district_id, retry_in=district_lock_ttl(district_id))
    try:
        yield RunLock(lock)
    finally:
        # Expired and re-taken by another worker: the Lua release refuses; that lock is theirs.
        with contextlib.suppress(LockError, RedisError):
            lock.release()


def district_lock_ttl(district_id: int) -> float:
    """Seconds until the district's lock lapses (0 when free)."""
    ttl_ms = redis_client().pttl(lock_name(district_id))
    return max(0.0, ttl_ms / 1000) if ttl_ms and ttl_ms > 0 else 0.0


def district_lock_held(district_id: int) -> bool:
    """Whether any worker holds the district's lock (for the reaper's and the admin's view)."""
    return bool(redis_client().exists(lock_name(district_id)))


def district_lock_release_for_run(district_id: int, run_id: int) -> bool:
    """Release the district's lock if run ``run_id``'s worker holds it (that worker is dead:
    its run was failed as lost). A lock another run took since is left alone."""
    release = redis_client().register_script(_RELEASE_FOR_RUN)
    return bool(release(keys=[lock_name(district_id)], args=[_token_prefix(run_id)]))
