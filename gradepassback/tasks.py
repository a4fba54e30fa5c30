"""Celery tasks: thin adapters that load rows by id and call one service.

``gradepassback.run_passback`` starts a run and fans it out, one ``gradepassback.run_course``
message per course; any worker takes any course. The course that finishes last closes the
run (an atomic counter in ``PassbackRun``), so there is no chord and no result backend.
Late ack: a worker killed mid-course leaves the course ``running``; the reaper hands it out
again once its heartbeat is stale (course writes are idempotent PUTs).
"""

from __future__ import annotations

import logging
import random

from celery import shared_task

logger = logging.getLogger(__name__)

#: Transient upstream errors (timeouts, 5xx, throttling) are retried this often, backing off.
MAX_RETRIES = 3
RETRY_BACKOFF_MAX_SECONDS = 600


def _countdown(retries: int) -> float:
    base = min(RETRY_BACKOFF_MAX_SECONDS, 30 * 2**retries)
    return base / 2 + random.uniform(0, base / 2)  # noqa: S311 - jitter, not security


def course_tasks_send(course_ids: list[int]) -> None:
    """Queue one ``run_course`` per course id (call after the rows are committed)."""
    for course_id in course_ids:
        run_course.delay(course_id)


@shared_task(name="gradepassback.run_passback", bind=True, acks_late=True, max_retries=MAX_RETRIES)
def run_passback(self, run_id: int) -> None:
    """Start a queued passback run and send its course tasks."""
    from gradepassback.services.runs import TransientPassbackError, passback_run_start
    from provisioning.models import SyncRun

    run = SyncRun.objects.select_related("district", "passback").filter(pk=run_id).first()
    if run is None or run.status != SyncRun.Status.QUEUED:
        logger.info("passback run %s is gone or not queued; nothing to start", run_id)
        return
    try:
        course_ids = passback_run_start(run=run)
    except TransientPassbackError as exc:
        if self.request.retries >= self.max_retries:
            from gradepassback.services.runs import passback_run_fail

            run.refresh_from_db()
            passback_run_fail(run=run, error=str(exc))
            return
        raise self.retry(exc=exc, countdown=_countdown(self.request.retries)) from exc
    course_tasks_send(course_ids)


@shared_task(name="gradepassback.run_course", bind=True, acks_late=True, max_retries=MAX_RETRIES)
def run_course(self, course_id: int) -> None:
    """Pass back one course of a running run (any worker; a second delivery is a no-op)."""
    from gradepassback.services.context import passback_context_for_worker
    from gradepassback.services.runs import TransientPassbackError, passback_course_process

    try:
        passback_course_process(
            course_id=course_id,
            context=passback_context_for_worker,
            retry_transient=self.request.retries < self.max_retries,
        )
    except TransientPassbackError as exc:
        raise self.retry(exc=exc, countdown=_countdown(self.request.retries)) from exc


@shared_task(name="gradepassback.scheduled_passback", acks_late=True)
def scheduled_passback(district_id: int) -> None:
    """Beat entry per district: queue a passback unless passback is off or a run is active."""
    from gradepassback.errors import PassbackError
    from gradepassback.services.runs import passback_run_create
    from provisioning.models import SyncRun
    from provisioning.services.runs import SyncRunAlreadyActive
    from tenants.models import District

    district = District.objects.filter(pk=district_id, status=District.Status.ACTIVE).first()
    if district is None:
        logger.info("district %s is not active; scheduled passback skipped", district_id)
        return
    try:
        run = passback_run_create(district=district, trigger=SyncRun.Trigger.SCHEDULE)
    except (SyncRunAlreadyActive, PassbackError) as exc:
        logger.warning("scheduled passback of %s skipped: %s", district.slug, exc)
        return
    run_passback.delay_on_commit(run.pk)


@shared_task(name="gradepassback.reap_runs")
def reap_runs() -> None:
    """Beat entry: hand out again the courses of passback runs whose workers stopped."""
    from gradepassback.services.runs import passback_runs_reap

    course_tasks_send(passback_runs_reap())
