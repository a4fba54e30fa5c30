"""Celery tasks: thin adapters that load a run by id, take the district lock, call a service.

Late ack (settings): a worker killed mid-task has its message redelivered; the task then
finds the run ``running`` with nobody holding the lock and fails it (nothing was committed),
or ``applying`` and re-applies its stored plan (idempotent). Exceptions other than transient
SIS errors are not retried: the run row carries the error for people to read.
"""

from __future__ import annotations

import logging
import random
from typing import TYPE_CHECKING

from celery import shared_task

from provisioning.models import SyncRun

if TYPE_CHECKING:
    from redis.lock import Lock

    from provisioning.services.runs import Heartbeat

logger = logging.getLogger(__name__)

S = SyncRun.Status
#: Transient SIS errors (timeouts, 5xx, throttling) are retried this often, backing off.
MAX_RETRIES = 5
RETRY_BACKOFF_MAX_SECONDS = 600


def _retry_countdown(retries: int) -> float:
    base = min(RETRY_BACKOFF_MAX_SECONDS, 30 * 2**retries)
    return base / 2 + random.uniform(0, base / 2)  # noqa: S311 - jitter, not security


def _heartbeat(run: SyncRun, lock: Lock) -> Heartbeat:
    """The run's heartbeat, also extending the district lock this worker holds."""
    from provisioning.locks import LOCK_TIMEOUT_SECONDS
    from provisioning.services.runs import Heartbeat

    return Heartbeat(run, extend=lambda: lock.extend(LOCK_TIMEOUT_SECONDS, replace_ttl=True))


def _load(run_id: int) -> SyncRun | None:
    run = SyncRun.objects.select_related("district").filter(pk=run_id).first()
    if run is None:
        logger.warning("run %s no longer exists", run_id)
    return run


@shared_task(name="provisioning.run_sync", bind=True, acks_late=True, max_retries=MAX_RETRIES)
def run_sync(self, run_id: int) -> None:
    """Execute a queued provisioning run (delta, full or dry run)."""
    from provisioning.locks import DistrictBusy, district_lock
    from provisioning.services.pipeline import (
        TransientUpstreamError,
        sync_run_execute,
        sync_run_resume,
    )
    from provisioning.services.runs import sync_run_worker_lost

    run = _load(run_id)
    if run is None:
        return
    try:
        with district_lock(run.district_id) as lock:
            run.refresh_from_db()
            if run.status == S.RUNNING:
                # We hold the lock, so whoever set it running is gone: a redelivery after
                # the worker died. Nothing was committed; fail it and let the next run plan.
                sync_run_worker_lost(run=run)
                return
            if run.status == S.APPLYING:
                # The worker died while applying: the stored plan is applied again (the same
                # rows to Canvas; the mirrors commit once, with the final status).
                sync_run_resume(run=run, heartbeat=_heartbeat(run, lock))
                return
            if run.status != S.QUEUED:
                logger.info("run %s is %s; nothing to do", run_id, run.status)
                return
            sync_run_execute(
                run=run,
                heartbeat=_heartbeat(run, lock),
                retry_transient=self.request.retries < self.max_retries,
            )
    except DistrictBusy:
        logger.info("run %s: another worker holds the district; dropping this delivery", run_id)
    except TransientUpstreamError as exc:
        raise self.retry(exc=exc, countdown=_retry_countdown(self.request.retries)) from exc


@shared_task(name="provisioning.apply_run", acks_late=True)
def apply_run(run_id: int) -> None:
    """Apply an ``applying`` run's stored plan (after approval, or after a lost worker)."""
    from provisioning.locks import DistrictBusy, district_lock
    from provisioning.services.pipeline import sync_run_resume

    run = _load(run_id)
    if run is None:
        return
    try:
        with district_lock(run.district_id) as lock:
            run.refresh_from_db()
            if run.status != S.APPLYING:
                logger.info("run %s is %s; nothing to apply", run_id, run.status)
                return
            sync_run_resume(run=run, heartbeat=_heartbeat(run, lock))
    except DistrictBusy:
        logger.info("run %s: another worker holds the district; dropping this delivery", run_id)


@shared_task(name="provisioning.scheduled_sync", acks_late=True)
def scheduled_sync(district_id: int, kind: str) -> None:
    """Beat entry per district: queue a delta or full run, unless one is already active."""
    from provisioning.services.runs import SyncRunAlreadyActive, sync_run_create
    from tenants.models import District

    district = District.objects.filter(pk=district_id, status=District.Status.ACTIVE).first()
    if district is None:
        logger.info("district %s is not active; scheduled %s skipped", district_id, kind)
        return
    try:
        run = sync_run_create(district=district, kind=kind, trigger=SyncRun.Trigger.SCHEDULE)
    except SyncRunAlreadyActive as exc:
        logger.warning("scheduled %s for %s skipped: %s", kind, district.slug, exc)
        return
    run_sync.delay_on_commit(run.pk)


@shared_task(name="provisioning.reap_runs")
def reap_runs() -> None:
    """Beat entry: fail runs whose worker died; re-send runs whose message was lost."""
    from provisioning.services.runs import sync_runs_reap

    result = sync_runs_reap()
    for run_id in result.resend_queued:
        run_sync.delay(run_id)
    for run_id in result.resend_applying:
        apply_run.delay(run_id)
    if result.failed or result.resend_queued or result.resend_applying:
        logger.warning(
            "reaper: failed %s, re-sent queued %s, re-sent applying %s",
            result.failed,
            result.resend_queued,
            result.resend_applying,
        )
