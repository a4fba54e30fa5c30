"""Reads of passback runs, courses, items and conflicts, scoped to a district or a run when
one is given; the admin and the commands use these instead of querying the models."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gradepassback.models import (
    CategoryOverride,
    PassbackConflict,
    PassbackCourse,
    PassbackItem,
    PassbackRun,
)
from tenants.models import district_secret_paths

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from runs.models import SyncRun
    from tenants.models import District


def passback_run_list(*, district: District | None = None) -> QuerySet[PassbackRun]:
    runs = PassbackRun.objects.select_related("run", "run__district", "run__requested_by").defer(
        *district_secret_paths("run__district")
    )
    if district is not None:
        runs = runs.filter(run__district=district)
    return runs.order_by("-run__created_at", "-run_id")


def passback_course_list(
    *, passback: PassbackRun | None = None, district: District | None = None
) -> QuerySet[PassbackCourse]:
    courses = PassbackCourse.objects.select_related("passback_run__run__district").defer(
        *district_secret_paths("passback_run__run__district")
    )
    if passback is not None:
        courses = courses.filter(passback_run=passback)
    if district is not None:
        courses = courses.filter(passback_run__run__district=district)
    return courses.order_by("status", "sis_course_id")


def passback_item_list(
    *, course: PassbackCourse, outcome: str | None = None
) -> QuerySet[PassbackItem]:
    items = PassbackItem.objects.filter(course=course)
    if outcome is not None:
        items = items.filter(outcome=outcome)
    return items.order_by("outcome", "object_type", "title", "student_sourced_id", "id")


def passback_conflict_list(
    *,
    district: District | None = None,
    sis_course_id: str | None = None,
    open_only: bool = False,
    run: SyncRun | None = None,
) -> QuerySet[PassbackConflict]:
    """Passback conflicts, narrowed by district, course, state, or the run that last saw
    them."""
    conflicts = PassbackConflict.objects.select_related("district").defer(
        *district_secret_paths("district")
    )
    if district is not None:
        conflicts = conflicts.filter(district=district)
    if run is not None:
        conflicts = conflicts.filter(last_run=run)
    if sis_course_id is not None:
        conflicts = conflicts.filter(sis_course_id=sis_course_id)
    if open_only:
        conflicts = conflicts.filter(closed_at__isnull=True)
    return conflicts.order_by("sis_course_id", "assignment_name", "kind")


def category_override_list(*, district: District | None = None) -> QuerySet[CategoryOverride]:
    overrides = CategoryOverride.objects.select_related("district").defer(
        *district_secret_paths("district")
    )
    if district is not None:
        overrides = overrides.filter(district=district)
    return overrides.order_by("district__name", "assignment_group_name")
