"""What every run task does around its kind's work: load the run, take the district lock on
its behalf, call the work, and end the run with a reason whatever happens.

- Another holder has the district's lock (a redelivered message while the first worker is
  alive, or a cancelled run's worker not yet at its next safe point): ``Redeliver`` with a
  countdown of the lock's remaining lease, so the message is retried, never dropped.
- Redis is unreachable: ``Redeliver`` shortly; the broker is down too, so nothing else could
  run it anyway.
- While the work runs, a ``LeaseKeeper`` thread renews the lease (heartbeat and lock).
- The run was cancelled or failed as lost meanwhile (``SyncRunLost``): the worker stops.
- Anything else: the run fails with the error, on a fresh database connection if the old
  one died, and the error is re-raised for the worker's log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import ExitStack
from typing import TYPE_CHECKING

from redis.exceptions import RedisError

from runs.locks import DistrictBusy, district_lock
from runs.models import SyncRun
from runs.services.keeper import LeaseKeeper
from runs.services.lifecycle import SyncRunLost, db_connection_fresh, sync_run_fail_if_active

if TYPE_CHECKING:
    from runs.locks import RunLock

logger = logging.getLogger(__name__)

#: How soon a message is tried again when Redis did not answer.
REDIS_DOWN_RETRY_SECONDS = 5.0


class Redeliver(Exception):
    """Try this message again in ``countdown`` seconds (the task retries it)."""

    def __init__(self, countdown: float, reason: str) -> None:
        self.countdown = countdown
        super().__init__(reason)


def run_load(run_id: int, *, kinds: tuple[str, ...]) -> SyncRun | None:
    """The run, if it exists, is of one of ``kinds`` and is still active."""
    db_connection_fresh()
    run = SyncRun.objects.select_related("district").filter(pk=run_id, kind__in=kinds).first()
    if run is None or not run.is_active:
        logger.info("run %s is gone, of another kind or over; nothing to do", run_id)
        return None
    return run


def run_work(
    run: SyncRun,
    work: Callable[[SyncRun, RunLock], object],
    *,
    passthrough: tuple[type[BaseException], ...] = (),
) -> None:
    """Do ``work(run, lock)`` holding the district's lock for ``run`` (see the module doc).

    ``passthrough`` errors are the task's own retry signals: re-raised as they are."""
    with ExitStack() as held:
        try:
            lock = held.enter_context(district_lock(run.district_id, run_id=run.pk))
        except DistrictBusy as exc:
            raise Redeliver(max(1.0, exc.retry_in), str(exc)) from exc
        except RedisError as exc:
            raise Redeliver(REDIS_DOWN_RETRY_SECONDS, f"Redis unreachable: {exc}") from exc
        run.refresh_from_db()
        if not run.is_active:
            logger.info("run %s is %s; nothing to do", run.pk, run.status)
            return
        try:
            with LeaseKeeper(run.pk, lock):
                work(run, lock)
        except SyncRunLost as exc:
            logger.warning("run %s: %s", run.pk, exc)
        except passthrough:
            raise
        except Exception as exc:
            sync_run_fail_if_active(run=run, error=f"{type(exc).__name__}: {exc}")
            raise
