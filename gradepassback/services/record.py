"""Storing one course's outcome: change-tracking state, item rows, conflicts, the cursor.

All in one transaction, so what the SIS accepted and what we believe it accepted never
drift apart by more than the writes of the course in flight when a worker dies (those are
re-sent by the next run: PUTs with deterministic sourcedIds are idempotent).
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction

from gradepassback.models import (
    LineItemState,
    PassbackConflict,
    PassbackCursor,
    PassbackItem,
    PushState,
    ResultState,
)

if TYPE_CHECKING:
    import datetime as dt

    from gradepassback.models import PassbackCourse
    from gradepassback.services.course import CourseOutcome, SeenProblem
    from runs.models import SyncRun
    from tenants.models import District

BATCH = 2000
#: Outcome keys that count as "skipped" in a course's totals (the rest are not items).
SKIP_KEYS = frozenset(
    {
        "skipped",
        "hidden",
        "missing_skipped",
        "unknown_student",
        "lineitem_not_sent",
        "no_score",
        "no_grading_period",
        "refused_earlier",
    }
)
_STATE_FIELDS = [
    "status",
    "accepted_hash",
    "attempted_hash",
    "last_attempt_at",
    "last_pushed_at",
    "last_error",
]
_LINEITEM_FIELDS = [
    *_STATE_FIELDS,
    "canvas_course_id",
    "kind",
    "canvas_assignment_id",
    "class_sourced_id",
    "period_sourced_id",
    "title",
]
ITEM_FIELDS = (
    "object_type",
    "sourced_id",
    "canvas_assignment_id",
    "class_sourced_id",
    "student_sourced_id",
    "title",
    "outcome",
    "detail",
)
_RESULT_FIELDS = [
    *_STATE_FIELDS,
    "canvas_course_id",
    "lineitem_sourced_id",
    "student_sourced_id",
    "canvas_assignment_id",
]


def course_totals(counts: dict[str, Counter]) -> dict[str, int]:
    """The five numbers of a course row from its per-object counts."""
    totals = Counter()
    for bucket in counts.values():
        for key, value in bucket.items():
            if key in SKIP_KEYS:
                totals["skipped"] += value
            elif key in ("pushed", "unchanged", "failed", "deleted"):
                totals[key] += value
    return {k: totals[k] for k in ("pushed", "unchanged", "skipped", "failed", "deleted")}


def course_outcome_record(
    *, course: PassbackCourse, outcome: CourseOutcome, run: SyncRun, now: dt.datetime
) -> None:
    """Store ``outcome`` for ``course`` (not its final status: ``runs.py`` sets that).

    States and items go in with ``COPY`` (a big course has thousands of each): the states
    through a temporary table and one ``INSERT … ON CONFLICT`` on their named constraint.
    """
    district = run.district
    with transaction.atomic():
        _states_upsert(
            LineItemState,
            "lineitemstate_unique_sid",
            district.pk,
            outcome.canvas_course_id,
            outcome.lineitem_states,
            _LINEITEM_FIELDS,
        )
        deleted = [
            sid
            for sid, fields in outcome.lineitem_states.items()
            if fields["status"] == PushState.Status.DELETED
        ]
        if deleted:
            # The SIS drops a lineItem's results with it; ours must be re-sent if it returns.
            ResultState.objects.filter(district=district, lineitem_sourced_id__in=deleted).update(
                status=PushState.Status.DELETED, accepted_hash="", last_attempt_at=now
            )
        _states_upsert(
            ResultState,
            "resultstate_unique_sid",
            district.pk,
            outcome.canvas_course_id,
            outcome.result_states,
            _RESULT_FIELDS,
        )
        _items_insert(course, outcome.items)
        conflicts_record(
            district=district,
            run=run,
            sis_course_id=course.sis_course_id,
            canvas_course_id=outcome.canvas_course_id,
            problems=outcome.problems,
            now=now,
        )
        # Scores not accepted (or held back) are re-read through their assignments, so the
        # cursor moves on even when some items failed.
        PassbackCursor.objects.update_or_create(
            district=district,
            sis_course_id=course.sis_course_id,
            defaults={"graded_since": outcome.started_at, "last_run": run},
        )
        course.canvas_course_id = outcome.canvas_course_id
        course.counts = {name: dict(sorted(c.items())) for name, c in outcome.counts.items()}
        for key, value in course_totals(outcome.counts).items():
            setattr(course, key, value)
        course.save(
            update_fields=[
                "canvas_course_id",
                "graded_since",
                "counts",
                "pushed",
                "unchanged",
                "skipped",
                "failed",
                "deleted",
            ]
        )


def _states_upsert(
    model: type[PushState],
    constraint: str,
    district_id: int,
    canvas_course_id: int,
    states: dict[str, dict[str, Any]],
    fields: list[str],
) -> None:
    if not states:
        return
    table = model._meta.db_table
    scratch = f"{table}_incoming"
    columns = ["district_id", "sourced_id", *fields]
    listed = ", ".join(columns)
    updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in fields)
    # Identifiers are model metadata and constants; every value goes through COPY.
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE {scratch} AS SELECT {listed} FROM {table} WITH NO DATA"  # noqa: S608
        )
        with cursor.copy(f"COPY {scratch} ({listed}) FROM STDIN") as copy:
            for sid, values in states.items():
                row = {**values, "canvas_course_id": canvas_course_id}
                copy.write_row([district_id, sid, *(row[name] for name in fields)])
        cursor.execute(
            f"INSERT INTO {table} ({listed}) SELECT {listed} FROM {scratch} "  # noqa: S608
            f"ON CONFLICT ON CONSTRAINT {constraint} DO UPDATE SET {updates}"
        )
        cursor.execute(f"DROP TABLE {scratch}")


def _items_insert(course: PassbackCourse, items: list[dict[str, Any]]) -> None:
    if not items:
        return
    with (
        connection.cursor() as cursor,
        cursor.copy(
            f"COPY {PassbackItem._meta.db_table} (course_id, {', '.join(ITEM_FIELDS)}) FROM STDIN"
        ) as copy,
    ):
        for item in items:
            copy.write_row([course.pk, *(item[name] for name in ITEM_FIELDS)])


def conflicts_record(
    *,
    district: District,
    run: SyncRun,
    sis_course_id: str,
    canvas_course_id: int,
    problems: list[SeenProblem],
    now: dt.datetime,
) -> None:
    """Upsert the course's problems; close its open conflicts this passback did not see."""
    seen = set()
    for problem in problems:
        key = (problem.canvas_assignment_id, problem.kind, problem.class_sourced_id)
        if key in seen:
            continue
        seen.add(key)
        PassbackConflict.objects.update_or_create(
            district=district,
            sis_course_id=sis_course_id,
            canvas_assignment_id=problem.canvas_assignment_id,
            kind=problem.kind,
            class_sourced_id=problem.class_sourced_id,
            defaults={
                "canvas_course_id": canvas_course_id,
                "assignment_name": problem.assignment_name,
                "message": problem.message,
                "last_seen": now,
                "last_run": run,
                "closed_at": None,
            },
            create_defaults={
                "canvas_course_id": canvas_course_id,
                "assignment_name": problem.assignment_name,
                "message": problem.message,
                "first_seen": now,
                "last_seen": now,
                "last_run": run,
            },
        )
    stale = PassbackConflict.objects.filter(
        district=district, sis_course_id=sis_course_id, closed_at__isnull=True
    ).exclude(last_run=run)
    stale.update(closed_at=now)
