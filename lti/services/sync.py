"""Sync now: a passback of one course, asked for by its teacher from Canvas.

Starts through the one run launcher (``runs.services.launch.start_run``, kind passback,
this course only), as the console and the HTTP trigger do, so it obeys the
one-run-per-district rule and is audited: the audit row's actor is the teacher's LTI
identity. A course may
be synced ``SYNC_LIMIT`` times per ``SYNC_WINDOW_SECONDS``; one sync is plenty to wait
for, and the limit keeps a double-clicking class of TAs from queueing runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Q

from gradepassback.errors import CourseNotProvisioned, PassbackDisabled
from gradepassback.models import PassbackCourse, PassbackRun
from runs.models import SyncRun
from runs.services.launch import StartRefused, start_run
from runs.services.lifecycle import SyncRunAlreadyActive
from tenants.services.ratelimit import rate_limit_hit

if TYPE_CHECKING:
    from lti.services.launch import LaunchSession
    from tenants.models import District

SYNC_LIMIT = 3
SYNC_WINDOW_SECONDS = 600

RATE_LIMITED = (
    "This course was synced {limit} times in the last {minutes} minutes. Wait a few "
    "minutes and press Sync now again."
)
ALREADY_RUNNING = (
    "A grade sync for your district is running (#{run}). This course's sync can start "
    "when it is done; the page shows its progress."
)


class SyncRefused(Exception):
    """Sync now could not start; ``str()`` says why to the teacher."""


def course_sync_start(*, district: District, session: LaunchSession) -> SyncRun:
    """Queue a passback of the launch's course. Raises ``SyncRefused``."""
    if rate_limit_hit(
        scope="lti-sync",
        key=f"{district.pk}:{session.sis_course_id}",
        limit=SYNC_LIMIT,
        window_seconds=SYNC_WINDOW_SECONDS,
    ):
        raise SyncRefused(RATE_LIMITED.format(limit=SYNC_LIMIT, minutes=SYNC_WINDOW_SECONDS // 60))
    try:
        return start_run(
            district=district,
            kind=SyncRun.Kind.PASSBACK,
            trigger=SyncRun.Trigger.API,
            actor_label=session.identity,
            course_sis_ids=[session.sis_course_id],
        )
    except (PassbackDisabled, CourseNotProvisioned, StartRefused) as exc:
        raise SyncRefused(str(exc)) from exc
    except SyncRunAlreadyActive as exc:
        active = exc.active.pk if exc.active is not None else "?"
        raise SyncRefused(ALREADY_RUNNING.format(run=active)) from exc


@dataclass(frozen=True, slots=True)
class SyncProgress:
    run_id: int
    status: str
    status_label: str
    course_status: str
    pushed: int
    failed: int
    done: bool
    error: str

    def as_json(self) -> dict[str, object]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "status_label": self.status_label,
            "course_status": self.course_status,
            "pushed": self.pushed,
            "failed": self.failed,
            "done": self.done,
            "error": self.error,
        }


def course_sync_progress(
    *, district: District, sis_course_id: str, run_id: int | None = None
) -> SyncProgress | None:
    """The latest passback that covered the course (or run ``run_id``)."""
    runs = PassbackRun.objects.filter(run__district=district).select_related("run")
    if run_id is not None:
        runs = runs.filter(pk=run_id)
    else:
        # A passback of this course alone, or of the whole district.
        runs = runs.filter(Q(course_sis_ids__contains=[sis_course_id]) | Q(course_sis_ids=[]))
    passback = runs.order_by("-run__created_at").first()
    if passback is None:
        return None
    run = passback.run
    course = PassbackCourse.objects.filter(
        passback_run=passback, sis_course_id=sis_course_id
    ).first()
    done = run.status not in SyncRun.ACTIVE_STATUSES
    return SyncProgress(
        run_id=run.pk,
        status=run.status,
        status_label=run.get_status_display(),
        course_status=(
            course.get_status_display()
            if course
            else ("Waiting for a worker" if run.status == SyncRun.Status.QUEUED else "Starting")
        ),
        pushed=course.pushed if course else 0,
        failed=course.failed if course else 0,
        done=done,
        error=(course.error if course else "") or run.error,
    )
