"""Course (current) grades per class and grading period (``District.course_grade_mode``).

For each class of the course and each of its academic sessions that has begun, the
students' current score for the matching Canvas grading period (``canvas_period_for``; a
final-grade override wins) goes either to a lineItem of our own ("Course grade", the
period title; 0 to 100) or to the SIS's grading-task lineItem for that class and session,
found by title (``District.grading_task_title``) among ``GET classes/{id}/lineItems``. A
closed grading window makes those PUTs fail; each is recorded per item and the run goes on.
Nothing is skipped silently: a session no Canvas grading period matches is a conflict
naming the class and the session, and its students are counted (``no_grading_period``);
an ended session of a course without grading periods is counted (``session_ended``).
See docs/gradepassback.md for what this assumes about Infinite Campus.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gradepassback.mapping import (
    MSG_NO_GRADING_PERIOD,
    MSG_NO_GRADING_TASK,
    Period,
    Problem,
    ProblemKind,
    Push,
    ScoreStatus,
    course_grade_lineitem_map,
    course_score,
    grading_sessions,
    result_push,
    scale_percent,
    task_matches,
)
from integration.canvas.types import parse_timestamp
from integration.oneroster.records import LineItem

if TYPE_CHECKING:
    from collections.abc import Callable

    from gradepassback.services.context import PassbackContext

MODE_OWN = "own_lineitem"
MODE_TASK = "sis_grading_task"
#: Enrollment states whose grades count: active students and those of a concluded course.
STUDENT_STATES = ("active", "completed")


@dataclass(frozen=True, slots=True)
class Student:
    sourced_id: str
    class_sourced_id: str


@dataclass
class CourseGrades:
    """What course-grade passback wants sent for one course."""

    lineitems: list[tuple[Push, dict[str, Any]]] = field(default_factory=list)
    results: list[tuple[str, Push, dict[str, Any]]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    no_score: int = 0
    # Course grades not sent: no Canvas grading period matches the session (a conflict
    # too), or the session ended in a course without grading periods.
    no_grading_period: int = 0
    session_ended: int = 0
    # class sourcedId → titles of the sessions without a matching grading task.
    missing_tasks: dict[str, list[str]] = field(default_factory=dict)
    # class sourcedId → the sessions no Canvas grading period matches.
    missing_periods: dict[str, list[Period]] = field(default_factory=dict)


def canvas_period_for(
    period: Period,
    canvas_periods: list[Mapping[str, Any]],
    *,
    local_date: Callable[[dt.datetime], dt.date],
) -> Any:
    """The Canvas grading period matching an SIS session: the one with the same title
    (ignoring case), else the one sharing the most days with it (the first of equals, in
    Canvas's order). A gap between periods (a weekend, a break) never decides, as a
    midpoint would. ``None`` when no period shares a day. Canvas sends instants; they are
    read as dates in the district's time zone (``local_date``), as the SIS's are."""
    wanted = period.title.casefold().strip()
    for candidate in canvas_periods:
        if str(candidate.get("title") or "").casefold().strip() == wanted:
            return candidate["id"]
    best, best_days = None, 0
    for candidate in canvas_periods:
        start = parse_timestamp(candidate.get("start_date"))
        end = parse_timestamp(candidate.get("end_date"))
        if start is None or end is None:
            continue
        shared = min(period.end, local_date(end)) - max(period.start, local_date(start))
        days = shared.days + 1
        if days > best_days:
            best, best_days = candidate["id"], days
    return best


def course_grades_collect(
    *,
    ctx: PassbackContext,
    canvas_course_id: int,
    class_periods: Mapping[str, tuple[Period, ...]],
    students: Mapping[int, Student],
    today: dt.date,
) -> CourseGrades:
    """Build the course-grade lineItems and results of one course (reads Canvas and, for
    ``sis_grading_task``, the SIS's lineItems of each class)."""
    mode = ctx.district.course_grade_mode
    out = CourseGrades()
    canvas_periods = ctx.canvas.list_grading_periods(canvas_course_id)
    # Canvas grading period id (None: the whole course) → user_id → score, read once each.
    scores: dict[Any, dict[int, float | None]] = {}
    task_items: dict[str, list[LineItem]] = {}
    for class_sid, periods in sorted(class_periods.items()):
        class_students = [
            (user_id, s) for user_id, s in students.items() if s.class_sourced_id == class_sid
        ]
        for period in grading_sessions(periods):
            if period.start > today:
                continue
            if canvas_periods:
                gp_id = canvas_period_for(period, canvas_periods, local_date=ctx.options.local_date)
                if gp_id is None:
                    out.missing_periods.setdefault(class_sid, []).append(period)
                    out.no_grading_period += len(class_students)
                    continue
            elif period.contains(today):
                gp_id = None
            else:
                # Without grading periods Canvas has only the whole course's score, which
                # belongs to the current session; an ended session kept what it was sent.
                out.session_ended += len(class_students)
                continue
            if gp_id not in scores:
                scores[gp_id] = _scores(ctx, canvas_course_id, gp_id)
            target = _target(ctx, mode, class_sid, period, task_items, out)
            if target is None:
                continue
            lineitem_sid, low, high = target
            for user_id, student in class_students:
                score = scores[gp_id].get(user_id)
                if score is None:
                    out.no_score += 1
                    continue
                if mode == MODE_TASK:
                    score = scale_percent(score, low=low, high=high)
                push = result_push(
                    lineitem_sourced_id=lineitem_sid,
                    student_sourced_id=student.sourced_id,
                    status=ScoreStatus.FULLY_GRADED,
                    score=score,
                    day=today,
                    options=ctx.options,
                    dated_by_run=True,
                )
                meta = {
                    "class": class_sid,
                    "student": student.sourced_id,
                    "lineitem": lineitem_sid,
                    "period": period.sourced_id,
                    "title": period.title,
                }
                out.results.append((lineitem_sid, push, meta))
    for class_sid, titles in sorted(out.missing_tasks.items()):
        message = MSG_NO_GRADING_TASK.format(
            task=ctx.district.grading_task_title, period=", ".join(titles), class_sid=class_sid
        )
        out.problems.append(Problem(ProblemKind.NO_GRADING_TASK, message, class_sid))
    for class_sid, periods in sorted(out.missing_periods.items()):
        sessions = ", ".join(f"“{p.title}” ({p.start} to {p.end})" for p in periods)
        message = MSG_NO_GRADING_PERIOD.format(sessions=sessions, class_sid=class_sid)
        out.problems.append(Problem(ProblemKind.NO_GRADING_PERIOD, message, class_sid))
    return out


def _scores(ctx: PassbackContext, canvas_course_id: int, gp_id: Any) -> dict[int, float | None]:
    only_posted = ctx.options.only_posted
    return {
        int(e["user_id"]): course_score(e, only_posted=only_posted)
        for e in ctx.canvas.list_enrollments_with_grades(
            canvas_course_id, grading_period_id=gp_id, states=STUDENT_STATES
        )
        if e.get("user_id") is not None
    }


def _target(
    ctx: PassbackContext,
    mode: str,
    class_sid: str,
    period: Period,
    task_items: dict[str, list[LineItem]],
    out: CourseGrades,
) -> tuple[str, float, float] | None:
    """The lineItem the class's course grades for ``period`` go to: (sourcedId, min, max)."""
    if mode == MODE_OWN:
        push = course_grade_lineitem_map(
            class_sourced_id=class_sid,
            period=period,
            category=ctx.categories.default,
            options=ctx.options,
        )
        out.lineitems.append(
            (
                push,
                {
                    "class": class_sid,
                    "period": period.sourced_id,
                    "title": push.payload["title"],
                },
            )
        )
        return push.sourced_id, 0.0, 100.0
    if class_sid not in task_items:
        with ctx.gate.slot():
            listed = ctx.oneroster.get_class_line_items(class_sid)
        task_items[class_sid] = [item for item in listed if isinstance(item, LineItem)]
    task_title = ctx.district.grading_task_title
    for item in task_items[class_sid]:
        if not task_matches(item.title, task_title):
            continue
        if item.grading_period == period.sourced_id or (
            not item.grading_period and period.contains(ctx.options.local_date(item.due_date))
        ):
            return item.sourced_id, item.result_value_min, item.result_value_max
    out.missing_tasks.setdefault(class_sid, []).append(period.title)
    return None
