"""Celery tasks: thin adapters that load a run by id and call a service under the district
lock (``runs.services.worker``).

Late ack (settings): a worker killed mid-task has its message redelivered; the task then
finds the run ``running`` with nobody holding the lock and fails it (nothing was committed),
or ``applying`` and re-applies its stored plan (idempotent). A delivery that finds the lock
held is retried when the lock's lease ends, never dropped. Transient SIS errors are retried
with Celery's exponential backoff and jitter; any other error fails the run with its reason.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from celery import shared_task

from provisioning.services.pipeline import (
    TransientUpstreamError,
    sync_run_execute,
    sync_run_resume,
)
from runs.models import SyncRun
from runs.services.launch import scheduled_start
from runs.services.lifecycle import Heartbeat, sync_run_worker_lost
from runs.services.reaper import runs_reap
from runs.services.worker import Redeliver, run_load, run_work

if TYPE_CHECKING:
    from runs.locks import RunLock

logger = logging.getLogger(__name__)

S = SyncRun.Status
PROVISIONING_KINDS = (SyncRun.Kind.DELTA, SyncRun.Kind.FULL, SyncRun.Kind.DRY_RUN)
#: Transient SIS errors (timeouts, 5xx, throttling) are retried this often, backing off.
MAX_RETRIES = 5
RETRY_BACKOFF_SECONDS = 30
RETRY_BACKOFF_MAX_SECONDS = 600


@shared_task(
    name="provisioning.run_sync",
    bind=True,
    acks_late=True,
    max_retries=MAX_RETRIES,
    autoretry_for=(TransientUpstreamError,),
    retry_backoff=RETRY_BACKOFF_SECONDS,
    retry_backoff_max=RETRY_BACKOFF_MAX_SECONDS,
    retry_jitter=True,
)
def run_sync(self, run_id: int) -> None:
    """Execute a queued provisioning run (delta, full or dry run)."""
    run = run_load(run_id, kinds=PROVISIONING_KINDS)
    if run is None:
        return
    retry_transient = self.request.retries < self.max_retries

    def work(run: SyncRun, lock: RunLock) -> None:
        heartbeat = Heartbeat(run, extend=lock.extend)
        if run.status == S.RUNNING:
            # We hold the lock, so whoever set it running is gone: a redelivery after the
            # worker died. Nothing was committed; fail it and let the next run plan.
            sync_run_worker_lost(run=run)
        elif run.status == S.APPLYING:
            # The worker died while applying: the stored plan is applied again (the same
            # rows to Canvas; the mirrors commit once, with the final status).
            sync_run_resume(run=run, heartbeat=heartbeat)
        elif run.status == S.QUEUED:
            sync_run_execute(run=run, heartbeat=heartbeat, retry_transient=retry_transient)

    try:
        run_work(run, work, passthrough=(TransientUpstreamError,))
    except Redeliver as again:
        logger.info("run %s: %s; trying again in %.0f s", run_id, again, again.countdown)
        raise self.retry(countdown=again.countdown, max_retries=self.request.retries + 1) from again


@shared_task(name="provisioning.apply_run", bind=True, acks_late=True)
def apply_run(self, run_id: int) -> None:
    """Apply an ``applying`` run's stored plan (after approval, or after a lost worker)."""
    run = run_load(run_id, kinds=PROVISIONING_KINDS)
    if run is None:
        return

    def work(run: SyncRun, lock: RunLock) -> None:
        if run.status == S.APPLYING:
            sync_run_resume(run=run, heartbeat=Heartbeat(run, extend=lock.extend))

    try:
        run_work(run, work)
    except Redeliver as again:
        raise self.retry(countdown=again.countdown, max_retries=self.request.retries + 1) from again


@shared_task(name="provisioning.scheduled_sync", acks_late=True)
def scheduled_sync(district_id: int, kind: str) -> None:
    """Beat entry per district: start a delta or full run through the launcher."""
    scheduled_start(district_id=district_id, kind=kind)


@shared_task(name="provisioning.reap_runs")
def reap_runs() -> None:
    """Beat entry: fail runs whose worker died; re-send runs whose message was lost."""
    runs_reap()
