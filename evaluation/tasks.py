"""Celery task: a thin adapter that loads the run and calls the service under the district
lock (``runs.services.worker``).

Imported by ``tenants.signals`` so workers register it: Celery's autodiscovery only looks
at ``<app>.tasks``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from celery import shared_task

from evaluation.services import evaluation_run_execute
from runs.models import SyncRun
from runs.services.lifecycle import Heartbeat, sync_run_worker_lost
from runs.services.worker import Redeliver, run_load, run_work

if TYPE_CHECKING:
    from runs.locks import RunLock

logger = logging.getLogger(__name__)


def _work(run: SyncRun, lock: RunLock) -> None:
    if run.status == SyncRun.Status.RUNNING:
        # We hold the lock, so whoever set it running is gone: a redelivery after the worker
        # died. Reads only, nothing to undo: fail it.
        sync_run_worker_lost(run=run)
    elif run.status == SyncRun.Status.QUEUED:
        evaluation_run_execute(run=run, heartbeat=Heartbeat(run, extend=lock.extend))


@shared_task(name="tenants.run_evaluation", bind=True, acks_late=True, ignore_result=True)
def run_evaluation(self, run_id: int) -> None:
    """Execute a queued conversion evaluation."""
    run = run_load(run_id, kinds=(SyncRun.Kind.EVALUATION,))
    if run is None:
        return
    try:
        run_work(run, _work)
    except Redeliver as again:
        logger.info("run %s: %s; trying again in %.0f s", run_id, again, again.countdown)
        raise self.retry(countdown=again.countdown, max_retries=self.request.retries + 1) from again
