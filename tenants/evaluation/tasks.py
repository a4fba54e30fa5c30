"""Celery task: a thin adapter that loads the run, takes the district lock, calls a service.

Imported by ``tenants.signals`` so workers register it: Celery's autodiscovery only looks
at ``<app>.tasks``.
"""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="tenants.run_evaluation", acks_late=True, ignore_result=True)
def run_evaluation(run_id: int) -> None:
    """Execute a queued conversion evaluation."""
    from provisioning.locks import DistrictBusy, district_lock
    from provisioning.models import SyncRun
    from provisioning.services.runs import sync_run_worker_lost
    from tenants.evaluation.services import evaluation_run_execute

    run = SyncRun.objects.select_related("district").filter(pk=run_id).first()
    if run is None or run.kind != SyncRun.Kind.EVALUATION:
        logger.warning("evaluation run %s no longer exists", run_id)
        return
    try:
        with district_lock(run.district_id):
            run.refresh_from_db()
            if run.status == SyncRun.Status.RUNNING:
                # We hold the lock, so whoever set it running is gone: a redelivery after
                # the worker died. Reads only, nothing to undo: fail it.
                sync_run_worker_lost(run=run)
                return
            if run.status != SyncRun.Status.QUEUED:
                logger.info("evaluation run %s is %s; nothing to do", run_id, run.status)
                return
            evaluation_run_execute(run=run)
    except DistrictBusy:
        logger.info("run %s: another worker holds the district; dropping this delivery", run_id)
