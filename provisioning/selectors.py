"""Reads of runs, conflicts and the mirrors, always scoped to one district when one is given;
the admin, the commands and the apps above provisioning (grade passback, the console) use
these instead of querying provisioning's models or tables directly."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from provisioning.mapping import FILES
from provisioning.models import CanvasRow, Conflict, RosterClass, RosterSession
from runs.models import SyncRun, SyncRunLog
from tenants.models import district_secret_paths

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from tenants.models import District


def sync_run_list(*, district: District | None = None) -> QuerySet[SyncRun]:
    runs = SyncRun.objects.select_related("district", "requested_by", "decided_by").defer(
        *district_secret_paths("district")
    )
    if district is not None:
        runs = runs.filter(district=district)
    return runs.order_by("-created_at", "-id")


def sync_run_active(*, district: District) -> SyncRun | None:
    return SyncRun.objects.filter(district=district, status__in=SyncRun.ACTIVE_STATUSES).first()


def sync_run_log_lines(*, run: SyncRun) -> QuerySet[SyncRunLog]:
    return SyncRunLog.objects.filter(run=run).order_by("id")


def conflict_list(
    *, district: District | None = None, run: SyncRun | None = None, open_only: bool = False
) -> QuerySet[Conflict]:
    conflicts = Conflict.objects.select_related("district").defer(
        *district_secret_paths("district")
    )
    if district is not None:
        conflicts = conflicts.filter(district=district)
    if run is not None:
        conflicts = conflicts.filter(last_run=run)
    if open_only:
        conflicts = conflicts.filter(closed_at__isnull=True)
    return conflicts.order_by("severity", "kind", "sourced_id")


# --- the Canvas mirror (what provisioning sent) and the roster mirror ----------------------

#: Course statuses that no longer take grades.
_ENDED_COURSE_STATUSES = ("deleted", "completed")


def canvas_course_sis_ids(*, district: District, course_sis_ids: Sequence[str] = ()) -> list[str]:
    """SIS ids of the district's live Canvas courses as provisioning sent them, in order
    (only those among ``course_sis_ids`` when given)."""
    status = f"row__{FILES['courses'].status_index - 1}"
    courses = CanvasRow.objects.filter(district=district, file="courses").filter(
        **{f"{status}__isnull": False}
    )
    if course_sis_ids:
        courses = courses.filter(key__in=list(course_sis_ids))
    courses = courses.exclude(**{f"{status}__in": _ENDED_COURSE_STATUSES})
    return list(courses.order_by("key").values_list("key", flat=True))


def canvas_user_sourced_ids(*, district: District) -> dict[str, str]:
    """The Canvas SIS user id provisioning sent for each person → their OneRoster sourcedId."""
    user_id = f"row__{FILES['users'].columns.index('user_id')}"
    rows = CanvasRow.objects.filter(district=district, file="users")
    return dict(rows.values_list(user_id, "key"))


def canvas_user_sourced_id(*, district: District, sis_user_id: str) -> str | None:
    """The OneRoster sourcedId of the person provisioning sent to Canvas as ``sis_user_id``
    (``None``: nobody this district provisioned)."""
    user_id = f"row__{FILES['users'].columns.index('user_id')}"
    rows = CanvasRow.objects.filter(district=district, file="users", **{user_id: sis_user_id})
    return rows.values_list("key", flat=True).first()


def roster_class_terms(*, district: District, class_sourced_ids: Iterable[str]) -> dict[str, list]:
    """Known classes among ``class_sourced_ids`` → the sourcedIds of their academic sessions."""
    classes = RosterClass.objects.filter(district=district, sourced_id__in=class_sourced_ids)
    return dict(classes.values_list("sourced_id", "terms"))


def roster_session_list(
    *, district: District, sourced_ids: Iterable[str]
) -> QuerySet[RosterSession]:
    return RosterSession.objects.filter(district=district, sourced_id__in=sourced_ids)


def roster_session_children(
    *, district: District, parents: Iterable[str]
) -> QuerySet[RosterSession]:
    """The sessions whose ``parent`` is among ``parents`` (a semester's grading periods)."""
    return RosterSession.objects.filter(district=district, parent__in=parents)
