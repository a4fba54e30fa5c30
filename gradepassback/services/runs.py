"""Passback runs: create, start (fan out per course), process one course, close, reap.

A passback is a ``SyncRun`` of kind ``passback`` (provisioning's state machine and its
one-active-run-per-district constraint) plus a ``PassbackRun``:

    create (queued) ─► start: running; check the vendor key by reading the SIS's
                       categories; one PassbackCourse per provisioned course (pending)
                    ─► each course, anywhere: claim → CoursePassback → record → finish
                    ─► the course that brings ``courses_done`` to ``courses_total`` closes
                       the run: succeeded, or failed when a course failed outright

Per-item errors (a refused PUT, a closed grading window) are item outcomes; only the SIS
refusing the gradebook vendor key fails the whole run, at once, with
``VENDOR_KEY_REFUSED``. The same functions serve the ``sync`` command (every course in the
calling process) and Celery (one task per course, on any worker).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from gradepassback.errors import (
    CANCELLED_BY_RUN,
    COURSE_NOT_IN_CANVAS,
    COURSE_NOT_PROVISIONED,
    COURSES_FAILED,
    PASSBACK_DISABLED,
    VENDOR_KEY_REFUSED,
    CourseNotProvisioned,
    CourseUnavailable,
    PassbackDisabled,
)
from gradepassback.gate import RequestGate
from gradepassback.models import PassbackCourse, PassbackCursor, PassbackRun
from gradepassback.services.context import passback_context_build
from gradepassback.services.course import CoursePassback
from gradepassback.services.record import course_outcome_record
from integration.http.errors import UpstreamError, is_transient, upstream_error_reason
from integration.oneroster.errors import VendorKeyRejected
from integration.oneroster.records import Category
from provisioning.selectors import canvas_course_sis_ids
from runs.models import SyncRun, SyncRunLog
from runs.services.keeper import LeaseKeeper
from runs.services.lifecycle import (
    MAX_ATTEMPTS,
    SyncRunLost,
    SyncRunTransitionError,
    sync_run_create,
    sync_run_heartbeat,
    sync_run_log,
    sync_run_transition,
)
from tenants.services.clients import district_oneroster_client

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from gradepassback.services.context import PassbackContext
    from integration.canvas.client import CanvasClient
    from integration.oneroster.client import OneRosterClient
    from tenants.models import District

logger = logging.getLogger(__name__)

S = SyncRun.Status
C = PassbackCourse.Status
#: A busy course proves it is alive this often (run heartbeat and course heartbeat).
HEARTBEAT_EVERY_SECONDS = 30.0
#: Who takes a course: recorded on it, so the console shows which machine did what.
WORKER = f"{socket.gethostname()}:{os.getpid()}"[:100]


#: A course (or a passback run) with no progress for this long lost its worker: handed out
#: again. Longer than the run lease: a run's courses wait in the queue between heartbeats.
STALE_AFTER = dt.timedelta(minutes=15)

RUN_ABANDONED = "The passback stopped: no worker worked on it."


class TransientPassbackError(Exception):
    """An upstream error worth another try; the run or course went back to waiting."""


# --- creating ------------------------------------------------------------------------------


def passback_run_create(
    *,
    district: District,
    trigger: str,
    actor: AbstractBaseUser | None = None,
    actor_label: str = "",
    course_sis_ids: Sequence[str] = (),
    full: bool = False,
) -> SyncRun:
    """Queue a passback of the district, or of some of its courses. Audited unless
    scheduled.

    Raises ``PassbackDisabled``, ``CourseNotProvisioned`` or provisioning's
    ``SyncRunAlreadyActive`` (one run per district at a time).
    """
    if not district.passback_enabled:
        raise PassbackDisabled(PASSBACK_DISABLED.format(district=district.slug))
    wanted = sorted(set(course_sis_ids))
    if wanted:
        missing = sorted(
            set(wanted) - set(canvas_course_sis_ids(district=district, course_sis_ids=wanted))
        )
        if missing:
            raise CourseNotProvisioned(
                COURSE_NOT_PROVISIONED.format(course=", ".join(missing), district=district.slug)
            )
    with transaction.atomic():
        run = sync_run_create(
            district=district,
            kind=SyncRun.Kind.PASSBACK,
            trigger=trigger,
            actor=actor,
            actor_label=actor_label,
            full_read=full,
        )
        PassbackRun.objects.create(run=run, course_sis_ids=wanted, full=full)
    return run


# --- starting ------------------------------------------------------------------------------


def passback_run_start(*, run: SyncRun, oneroster: OneRosterClient | None = None) -> list[int]:
    """Start a queued run: check the vendor key, list its courses; return their row ids.

    A refused vendor key fails the run. A transient SIS error puts it back in ``queued``
    and raises ``TransientPassbackError`` (the task retries); any other SIS error fails it.
    """
    passback = run.passback
    district = run.district
    sync_run_transition(run=run, to=S.RUNNING, error="")
    client = oneroster or district_oneroster_client(district)
    gate = RequestGate(district_id=district.pk, limit=district.oneroster_concurrency)
    try:
        # A slow SIS may hold this read past the lease: the keeper proves the worker alive.
        with LeaseKeeper(run.pk, None), gate.slot():
            categories = client.get_categories()
    except VendorKeyRejected:
        passback_run_fail(run=run, error=VENDOR_KEY_REFUSED)
        return []
    except UpstreamError as exc:
        if is_transient(exc):
            sync_run_transition(run=run, to=S.QUEUED, error=str(exc))
            raise TransientPassbackError(str(exc)) from exc
        reason = upstream_error_reason(exc)
        passback_run_fail(run=run, error=f"Could not read the SIS's categories: {reason}")
        return []
    finally:
        if oneroster is None:
            client.close()
    courses = canvas_course_sis_ids(district=district, course_sis_ids=passback.course_sis_ids)
    with transaction.atomic():
        rows = PassbackCourse.objects.bulk_create(
            PassbackCourse(passback_run=passback, sis_course_id=sis_id) for sis_id in courses
        )
        passback.courses_total = len(rows)
        passback.categories = sorted(
            [c.sourced_id, c.title] for c in categories if isinstance(c, Category)
        )
        passback.save(update_fields=["courses_total", "categories"])
        sync_run_log(
            run=run,
            message=f"Passing back {len(rows)} course(s)"
            + (" in full" if passback.full else " (scores graded since each course's last run)"),
        )
    if not rows:
        passback_run_close(passback=passback)
    return [row.pk for row in rows]


# --- one course ----------------------------------------------------------------------------


def passback_course_claim(
    *, course_id: int, now: dt.datetime | None = None
) -> PassbackCourse | None:
    """Take a pending course (or one whose worker stopped beating) of a running run.

    The conditional UPDATE makes a redelivered task message harmless: only one worker
    gets the course. ``None`` when it is taken, finished, or its run is no longer running.
    """
    now = now or timezone.now()
    claimed = PassbackCourse.objects.filter(
        Q(status=C.PENDING) | Q(status=C.RUNNING, heartbeat_at__lt=now - STALE_AFTER),
        pk=course_id,
        passback_run__run__status=S.RUNNING,
    ).update(status=C.RUNNING, started_at=now, heartbeat_at=now, error="", worker=WORKER)
    if not claimed:
        return None
    return PassbackCourse.objects.select_related("passback_run__run__district").get(pk=course_id)


def passback_next_course(*, run_id: int) -> int | None:
    """The first pending course of a running run: what one of its course slots takes next."""
    return (
        PassbackCourse.objects.filter(
            passback_run__run_id=run_id, passback_run__run__status=S.RUNNING, status=C.PENDING
        )
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )


def passback_course_process(
    *,
    course_id: int,
    context: Callable[[SyncRun], PassbackContext],
    retry_transient: bool = False,
    now: Callable[[], dt.datetime] = timezone.now,
) -> PassbackCourse | None:
    """Claim one course, pass it back, record it, finish it (and the run if it is last).

    ``context(run)`` supplies the clients. With ``retry_transient`` a transient upstream
    error returns the course to ``pending`` and raises ``TransientPassbackError`` (the
    Celery task retries); otherwise it fails the course. Returns the course, or ``None``
    when it was not ours to do.
    """
    course = passback_course_claim(course_id=course_id, now=now())
    if course is None:
        return None
    passback = course.passback_run
    run = passback.run
    beat = _Heartbeat(run=run, course=course)
    # The run core's lease keeper: while this worker lives, the run's and the course's
    # heartbeats stay fresh even when one step (a slow SIS answer) outlasts the lease, so
    # neither reaper nor a redelivered message takes the course from a live worker.
    with LeaseKeeper(run.pk, None, also=lambda: _course_heartbeat(course_id=course.pk)):
        try:
            ctx = context(run)
            canvas_course = _canvas_course(ctx, course.sis_course_id)
            since = None
            if not passback.full:
                since = (
                    PassbackCursor.objects.filter(
                        district=run.district, sis_course_id=course.sis_course_id
                    )
                    .values_list("graded_since", flat=True)
                    .first()
                )
            course.graded_since = since
            outcome = CoursePassback(
                ctx=ctx,
                sis_course_id=course.sis_course_id,
                canvas_course=canvas_course,
                graded_since=since,
                now=now,
                full=passback.full,
                heartbeat=beat,
            ).execute()
            course_outcome_record(course=course, outcome=outcome, run=run, now=now())
            _course_finish(course=course, status=C.SUCCEEDED, now=now())
        except VendorKeyRejected:
            _course_finish(
                course=course, status=C.FAILED, error=VENDOR_KEY_REFUSED, now=now(), count=False
            )
            passback_run_fail(run=run, error=VENDOR_KEY_REFUSED)
        except SyncRunLost:
            _course_finish(
                course=course,
                status=C.CANCELLED,
                error=CANCELLED_BY_RUN.format(error=_run_error(run)),
                now=now(),
                count=False,
            )
        except CourseUnavailable as exc:
            _course_finish(course=course, status=C.FAILED, error=str(exc), now=now())
        except UpstreamError as exc:
            if retry_transient and is_transient(exc):
                PassbackCourse.objects.filter(pk=course.pk, status=C.RUNNING).update(
                    status=C.PENDING, error=str(exc)[:2000]
                )
                raise TransientPassbackError(str(exc)) from exc
            _course_finish(course=course, status=C.FAILED, error=str(exc), now=now())
        except Exception as exc:
            _course_finish(
                course=course, status=C.FAILED, error=f"{type(exc).__name__}: {exc}", now=now()
            )
            raise
    course.refresh_from_db()
    return course


def _canvas_course(ctx: PassbackContext, sis_course_id: str) -> dict:
    found = ctx.canvas.get_course_by_sis_id(sis_course_id)
    if found is None:
        raise CourseUnavailable(COURSE_NOT_IN_CANVAS.format(course=sis_course_id))
    return found


class _Heartbeat:
    """Throttled: proves the run (a fencing check: raises ``SyncRunLost`` once the run is
    no longer running) and the course are alive."""

    def __init__(self, *, run: SyncRun, course: PassbackCourse) -> None:
        self.run = run
        self.course = course
        self.last = time.monotonic()

    def __call__(self) -> None:
        if time.monotonic() - self.last < HEARTBEAT_EVERY_SECONDS:
            return
        self.last = time.monotonic()
        sync_run_heartbeat(run=self.run)
        _course_heartbeat(course_id=self.course.pk)


def _course_heartbeat(*, course_id: int) -> None:
    """Refresh a course's heartbeat while it is running."""
    PassbackCourse.objects.filter(pk=course_id, status=C.RUNNING).update(
        heartbeat_at=timezone.now()
    )


def _run_error(run: SyncRun) -> str:
    return SyncRun.objects.filter(pk=run.pk).values_list("error", flat=True).first() or ""


def _course_finish(
    *, course: PassbackCourse, status: str, now: dt.datetime, error: str = "", count: bool = True
) -> None:
    """Move a running course to its final status and count it; the last one closes the run."""
    with transaction.atomic():
        moved = PassbackCourse.objects.filter(pk=course.pk, status=C.RUNNING).update(
            status=status, finished_at=now, error=error[:4000]
        )
        if not moved or not count:
            return
        sync_run_heartbeat_quiet(run_id=course.passback_run.run_id)
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE gradepassback_passbackrun SET courses_done = courses_done + 1 "
                "WHERE run_id = %s RETURNING courses_done, courses_total",
                [course.passback_run_id],
            )
            done, total = cursor.fetchone()
        if done == total:
            passback_run_close(passback=PassbackRun.objects.get(pk=course.passback_run_id))


def sync_run_heartbeat_quiet(*, run_id: int) -> None:
    """Refresh the run's heartbeat if it is still running (no fencing: finishing is safe)."""
    SyncRun.objects.filter(pk=run_id, status=S.RUNNING).update(heartbeat_at=timezone.now())


# --- closing -------------------------------------------------------------------------------


def passback_run_counts(*, passback: PassbackRun) -> dict[str, dict[str, int]]:
    """Counts per object type summed over the run's courses, plus course outcomes."""
    totals: dict[str, Counter] = {}
    statuses: Counter = Counter()
    for status, counts in passback.courses.values_list("status", "counts"):
        statuses[status] += 1
        for name, bucket in (counts or {}).items():
            totals.setdefault(name, Counter()).update(bucket)
    out = {name: dict(sorted(c.items())) for name, c in sorted(totals.items())}
    out["courses"] = dict(sorted(statuses.items()))
    return out


def passback_run_close(*, passback: PassbackRun) -> SyncRun:
    """Finish a run whose courses are all done: succeeded unless a course failed outright."""
    run = passback.run
    counts = passback_run_counts(passback=passback)
    failed = passback.courses.filter(status=C.FAILED).order_by("sis_course_id")
    first = failed.first()
    with transaction.atomic():
        passback.counts = counts
        passback.save(update_fields=["counts"])
        try:
            if first is None:
                sync_run_transition(run=run, to=S.SUCCEEDED, counts=counts)
            else:
                error = COURSES_FAILED.format(
                    failed=failed.count(),
                    total=passback.courses_total,
                    course=first.sis_course_id,
                    error=first.error,
                )
                sync_run_transition(run=run, to=S.FAILED, counts=counts, error=error)
        except SyncRunTransitionError:
            return run  # failed meanwhile (vendor key, reaper): that outcome stands
        sync_run_log(run=run, message=passback_summary_text(counts))
    return run


def passback_run_fail(*, run: SyncRun, error: str) -> SyncRun:
    """Fail an active run: courses not started are cancelled; running ones stop at their
    next heartbeat."""
    with transaction.atomic():
        try:
            sync_run_transition(run=run, to=S.FAILED, error=error[:4000])
        except SyncRunTransitionError:
            return run
        passback = PassbackRun.objects.filter(run=run).first()
        if passback is not None:
            passback.courses.filter(status=C.PENDING).update(
                status=C.CANCELLED,
                error=CANCELLED_BY_RUN.format(error=error)[:4000],
                finished_at=timezone.now(),
            )
            passback.counts = passback_run_counts(passback=passback)
            passback.save(update_fields=["counts"])
            SyncRun.objects.filter(pk=run.pk).update(counts=passback.counts)
        sync_run_log(run=run, message=f"Failed: {error}", level=SyncRunLog.Level.ERROR)
    return run


#: What the passback log says for each object and outcome key.
_SUMMARY_OBJECTS = {
    "lineItems": "assignments",
    "results": "scores",
    "courseGrades": "course grades",
}
_SUMMARY_OUTCOMES = {"pushed": "sent", "no_score": "without a score", "succeeded": "done"}


def passback_summary_text(counts: dict[str, dict[str, int]]) -> str:
    """``Scores: 1,774 sent, 12 hidden. Courses: 300 done.``: one sentence per object."""
    parts = []
    for name in ("lineItems", "results", "courseGrades"):
        bucket = counts.get(name)
        if bucket:
            shown = ", ".join(
                f"{v:,} {_SUMMARY_OUTCOMES.get(k, k.replace('_', ' '))}"
                for k, v in bucket.items()
                if v
            )
            parts.append(f"{_SUMMARY_OBJECTS[name].capitalize()}: {shown or 'nothing'}.")
    courses = counts.get("courses") or {}
    shown = ", ".join(f"{v:,} {_SUMMARY_OUTCOMES.get(k, k)}" for k, v in courses.items())
    parts.append(f"Courses: {shown or 'none'}.")
    return " ".join(parts)


# --- in process ----------------------------------------------------------------------------


def passback_run_execute(
    *,
    run: SyncRun,
    canvas: CanvasClient | None = None,
    oneroster: OneRosterClient | None = None,
    parallel: int = 1,
) -> SyncRun:
    """Run a queued passback to its end in this process (the ``sync`` command, tests).

    ``parallel`` courses at a time, each in its own thread and database connection; they
    share the clients and the district's request gate, so while one course reads Canvas or
    writes its bookkeeping another keeps the SIS busy. With 1 everything happens in the
    calling thread (and inside its transaction, which tests rely on).
    """
    try:
        course_ids = passback_run_start(run=run, oneroster=oneroster)
    except TransientPassbackError:
        run.refresh_from_db()
        passback_run_fail(run=run, error=run.error or "The SIS could not be reached.")
        return run
    if course_ids:
        run.refresh_from_db()
        ctx = passback_context_build(
            run=run, categories=run.passback.categories, canvas=canvas, oneroster=oneroster
        )
        try:
            if parallel <= 1:
                for course_id in course_ids:
                    passback_course_process(course_id=course_id, context=lambda _: ctx)
            else:
                with ThreadPoolExecutor(parallel, thread_name_prefix="course") as pool:
                    list(pool.map(lambda cid: _course_in_thread(cid, ctx), course_ids))
        finally:
            ctx.close()
    run.refresh_from_db()
    return run


def _course_in_thread(course_id: int, ctx: PassbackContext) -> None:
    try:
        passback_course_process(course_id=course_id, context=lambda _: ctx)
    finally:
        connection.close()  # this thread's own connection


# --- reaping -------------------------------------------------------------------------------


def passback_runs_reap(*, now: dt.datetime | None = None) -> list[int]:
    """Passback runs nobody works on; returns course row ids to hand out again.

    A running run whose heartbeat stopped (no course progressed for ``STALE_AFTER``) gets
    its stale running courses back to ``pending`` and all its pending courses re-sent, up
    to ``MAX_ATTEMPTS`` times; then it is failed. A queued run whose start message was
    lost is failed too (people or the schedule ask again).
    """
    now = now or timezone.now()
    resend: list[int] = []
    stale = SyncRun.objects.filter(
        kind=SyncRun.Kind.PASSBACK,
        status__in=(S.RUNNING, S.QUEUED),
        created_at__lt=now - STALE_AFTER,
    ).filter(Q(heartbeat_at__lt=now - STALE_AFTER) | Q(heartbeat_at__isnull=True))
    for run in stale.select_related("district"):
        if run.status == S.QUEUED or run.attempts >= MAX_ATTEMPTS:
            with transaction.atomic():
                passback_run_fail(run=run, error=RUN_ABANDONED)
                PassbackCourse.objects.filter(
                    passback_run__run=run, status=C.RUNNING, heartbeat_at__lt=now - STALE_AFTER
                ).update(status=C.CANCELLED, error=RUN_ABANDONED, finished_at=now)
            continue
        with transaction.atomic():
            SyncRun.objects.filter(pk=run.pk).update(heartbeat_at=now, attempts=run.attempts + 1)
            courses = PassbackCourse.objects.filter(passback_run__run=run)
            courses.filter(status=C.RUNNING, heartbeat_at__lt=now - STALE_AFTER).update(
                status=C.PENDING
            )
            resend += list(courses.filter(status=C.PENDING).values_list("pk", flat=True))
    return resend
