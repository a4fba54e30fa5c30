"""Celery tasks: thin adapters that load rows by id and call one service.

``gradepassback.run_passback`` starts a run and sends ``PASSBACK_COURSES_PER_RUN`` course
slots (``gradepassback.run_courses``); any worker takes any slot. A slot passes back the run's
next pending course, then sends itself again, to the tail of the queue: districts take turns
instead of one district's whole run going first. The reaper hands out a stopped run's
courses one message each (``gradepassback.run_course``). The course that finishes last closes
the run (an atomic counter in ``PassbackRun``), so there is no chord and no result backend.
Late ack: a worker killed mid-course leaves the course ``running``; the reaper hands it out
again once its heartbeat is stale (course writes are idempotent PUTs).
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from gradepassback.services.context import passback_context_for_worker
from gradepassback.services.runs import (
    TransientPassbackError,
    passback_course_process,
    passback_next_course,
    passback_run_fail,
    passback_run_start,
    passback_runs_reap,
)
from runs.models import SyncRun
from runs.services.launch import scheduled_start

logger = logging.getLogger(__name__)

#: Transient upstream errors (timeouts, 5xx, throttling) are retried this often, with
#: Celery's exponential backoff (30 s doubling to 10 minutes) and full jitter.
MAX_RETRIES = 3
RETRY = {
    "max_retries": MAX_RETRIES,
    "autoretry_for": (TransientPassbackError,),
    "retry_backoff": 30,
    "retry_backoff_max": 600,
    "retry_jitter": True,
}


def course_tasks_send(course_ids: list[int]) -> None:
    """Queue one ``run_course`` per course id (call after the rows are committed)."""
    for course_id in course_ids:
        run_course.delay(course_id)


@shared_task(name="gradepassback.run_passback", bind=True, acks_late=True, **RETRY)
def run_passback(self, run_id: int) -> None:
    """Start a queued passback run and send its course tasks."""
    run = SyncRun.objects.select_related("district", "passback").filter(pk=run_id).first()
    if run is None or run.status != SyncRun.Status.QUEUED:
        logger.info("passback run %s is gone or not queued; nothing to start", run_id)
        return
    try:
        course_ids = passback_run_start(run=run)
    except TransientPassbackError as exc:
        if self.request.retries >= self.max_retries:
            run.refresh_from_db()
            passback_run_fail(run=run, error=str(exc))
            return
        raise  # retried by ``autoretry_for``, backing off
    course_slots_send(run.pk, courses=len(course_ids))


def course_slots_send(run_id: int, *, courses: int) -> None:
    """Queue the run's course slots: as many as it may have in the queue, at most one a
    course (call after the course rows are committed)."""
    for _ in range(min(settings.PASSBACK_COURSES_PER_RUN, courses)):
        run_courses.delay(run_id)


#: A slot that loses its course to another slot (both read the same pending row) tries the
#: next one; this bounds the tries when many slots race.
SLOT_CLAIM_TRIES = 5


@shared_task(name="gradepassback.run_courses", bind=True, acks_late=True, **RETRY)
def run_courses(self, run_id: int) -> None:
    """One course slot of a running run: pass back its next pending course, then queue the
    slot again while courses remain. A transient error returns the course to pending and
    retries the slot (``autoretry_for``)."""
    for _ in range(SLOT_CLAIM_TRIES):
        course_id = passback_next_course(run_id=run_id)
        if course_id is None:
            return
        done = passback_course_process(
            course_id=course_id,
            context=passback_context_for_worker,
            retry_transient=self.request.retries < self.max_retries,
        )
        if done is not None:
            break
    if passback_next_course(run_id=run_id) is not None:
        run_courses.delay(run_id)


@shared_task(name="gradepassback.run_course", bind=True, acks_late=True, **RETRY)
def run_course(self, course_id: int) -> None:
    """Pass back one course of a running run (any worker; a second delivery is a no-op).
    A transient error is retried by ``autoretry_for``."""
    passback_course_process(
        course_id=course_id,
        context=passback_context_for_worker,
        retry_transient=self.request.retries < self.max_retries,
    )


@shared_task(name="gradepassback.scheduled_passback", acks_late=True)
def scheduled_passback(district_id: int) -> None:
    """Beat entry per district: start a passback through the launcher (skipped, with the
    reason in the log, when passback is off or a run is active)."""
    scheduled_start(district_id=district_id, kind=SyncRun.Kind.PASSBACK)


@shared_task(name="gradepassback.reap_runs")
def reap_runs() -> None:
    """Beat entry: hand out again the courses of passback runs whose workers stopped."""
    course_tasks_send(passback_runs_reap())
