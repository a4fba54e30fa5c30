"""The Grade sync page's facts: per SIS-flagged assignment, what the SIS holds and why not.

Nothing here decides a mapping rule: the states come from running gradepassback's own
mapping (``assignment_wanted``, ``assignment_problems``, ``lineitem_map``, ``result_map``)
on what Canvas holds now, and comparing each payload's hash with the hash the SIS last
accepted (``LineItemState`` / ``ResultState``). So the page says exactly what the next
passback would do:

- **sent**: the SIS holds this lineItem as Canvas has it now;
- **changed**: the SIS holds an older version; the next sync sends the change;
- **not sent**: a problem stops it (the teacher's words come from gradepassback), the SIS
  refused it, or it was never sent yet.

Only counts leave this module for the course's students: no names, no scores.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gradepassback.mapping import (
    Options,
    Problem,
    ProblemKind,
    Push,
    ScoreStatus,
    assignment_problems,
    assignment_wanted,
    lineitem_map,
    result_map,
)
from gradepassback.models import LineItemState, PassbackRun, PushState, ResultState
from gradepassback.services.context import SisUserIds, category_index_build, class_periods_for
from gradepassback.services.coursegrades import STUDENT_STATES

if TYPE_CHECKING:
    from integration.canvas.client import CanvasClient
    from integration.canvas.types import CanvasAssignment
    from tenants.models import District

SENT = "sent"
CHANGED = "changed"
NOT_SENT = "not_sent"

STATE_LABELS = {SENT: "Sent", CHANGED: "Changed since last sync", NOT_SENT: "Not sent"}

#: Short teacher words per gradepassback problem kind; the long message follows them.
REASON_LABELS = {
    ProblemKind.NO_DUE_DATE: "No due date",
    ProblemKind.DUE_OUTSIDE_PERIODS: "Due date outside every grading period",
    ProblemKind.DIFFERING_DUE_DATES: "Different due dates for different students",
    ProblemKind.TITLE_TOO_LONG: "Title too long",
    ProblemKind.NO_POINTS: "Worth no points",
}
CATEGORY_NOT_MAPPED = "Category not mapped"
CATEGORY_NOT_MAPPED_DETAIL = (
    "The assignment group “{group}” matches no SIS category and the SIS lists no default "
    "category. Ask the district to map the group to a category."
)
REFUSED = "Refused by the SIS"
NOT_SENT_YET = "Not sent yet"
NOT_SENT_YET_DETAIL = "Nothing stops it: the next sync sends it."


@dataclass(frozen=True, slots=True)
class Reason:
    label: str
    detail: str


@dataclass
class AssignmentRow:
    assignment_id: int
    name: str
    due_at: dt.datetime | None
    state: str
    reasons: list[Reason] = field(default_factory=list)
    last_sync: dt.datetime | None = None
    sent: int = 0
    exempt: int = 0
    not_submitted: int = 0

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]


@dataclass
class CourseGradeRow:
    title: str
    status: str
    last_sync: dt.datetime | None


@dataclass
class CourseSync:
    sis_course_id: str
    rows: list[AssignmentRow]
    last_sync: dt.datetime | None
    course_grades: list[CourseGradeRow] | None
    course_grades_sent: int = 0

    def _count(self, state: str) -> int:
        return sum(1 for row in self.rows if row.state == state)

    @property
    def sent_count(self) -> int:
        return self._count(SENT)

    @property
    def changed_count(self) -> int:
        return self._count(CHANGED)

    @property
    def not_sent_count(self) -> int:
        return self._count(NOT_SENT)


def _latest_categories(district: District) -> list[list[str]] | None:
    """The SIS categories as the district's latest passback read them (None: no run yet)."""
    run = (
        PassbackRun.objects.filter(run__district=district)
        .exclude(categories=[])
        .order_by("-run__created_at")
        .first()
    )
    return run.categories if run is not None else None


def course_sync_read(
    *, district: District, sis_course_id: str, canvas: CanvasClient
) -> CourseSync | None:
    """The page's facts for one course; ``None`` when Canvas has no such course."""
    course = canvas.get_course_by_sis_id(sis_course_id)
    if course is None:
        return None
    course_id = int(course["id"])
    options = Options.for_district(district)
    sections = {int(s["id"]): s.get("sis_section_id") for s in canvas.list_sections(course_id)}
    class_periods = class_periods_for(
        district=district, class_sourced_ids={sid for sid in sections.values() if sid}
    )
    groups = {
        int(g["id"]): str(g.get("name") or "") for g in canvas.list_assignment_groups(course_id)
    }
    listed = _latest_categories(district)
    categories = (
        category_index_build(district=district, categories=listed) if listed is not None else None
    )
    lineitems = {
        s.sourced_id: s
        for s in LineItemState.objects.filter(district=district, canvas_course_id=course_id)
    }
    rows: list[AssignmentRow] = []
    sendable: dict[tuple[int, str], tuple[Push, CanvasAssignment]] = {}
    for assignment in canvas.list_assignments(course_id):
        if not assignment_wanted(assignment, options=options):
            continue
        row = AssignmentRow(assignment.id, assignment.name, assignment.due_at, SENT)
        rows.append(row)
        problems: list[Problem] = assignment_problems(assignment, options=options)
        pushes: list[tuple[str, Push]] = []
        if not problems:
            for class_sid, periods in sorted(class_periods.items()):
                mapped = lineitem_map(
                    assignment=assignment,
                    class_sourced_id=class_sid,
                    periods=periods,
                    category=None,
                    options=options,
                )
                if isinstance(mapped, Problem):
                    problems.append(mapped)
        if problems:
            row.state = NOT_SENT
            seen: set[str] = set()
            for problem in problems:
                label = REASON_LABELS.get(problem.kind, str(problem.kind))
                if label not in seen:
                    seen.add(label)
                    row.reasons.append(Reason(label, problem.message))
            continue
        group = groups.get(assignment.assignment_group_id or 0, "")
        category = categories.resolve(group) if categories is not None else None
        for class_sid, periods in sorted(class_periods.items()):
            mapped = lineitem_map(
                assignment=assignment,
                class_sourced_id=class_sid,
                periods=periods,
                category=category,
                options=options,
            )
            assert isinstance(mapped, Push)
            pushes.append((class_sid, mapped))
        _lineitem_state(
            row,
            pushes,
            lineitems,
            category_missing=categories is not None and not category,
            group=group,
        )
        for class_sid, push in pushes:
            state = lineitems.get(push.sourced_id)
            if state is not None and state.accepted_hash:
                sendable[(assignment.id, class_sid)] = (push, assignment)
    _result_counts(
        district=district,
        canvas=canvas,
        course_id=course_id,
        sections=sections,
        sendable=sendable,
        rows=rows,
        options=options,
    )
    rows.sort(key=lambda r: ({NOT_SENT: 0, CHANGED: 1, SENT: 2}[r.state], r.name.casefold()))
    course_grades = None
    grades_sent = 0
    if district.course_grade_mode != "off":
        course_grades = [
            CourseGradeRow(s.title, s.get_status_display(), s.last_pushed_at)
            for s in lineitems.values()
            if s.kind == LineItemState.Kind.COURSE_GRADE
        ]
        grades_sent = ResultState.objects.filter(
            district=district,
            canvas_course_id=course_id,
            canvas_assignment_id__isnull=True,
            status=PushState.Status.PUSHED,
        ).count()
    stamps = [r.last_sync for r in rows if r.last_sync] + [
        s.last_pushed_at for s in lineitems.values() if s.last_pushed_at
    ]
    return CourseSync(
        sis_course_id=sis_course_id,
        rows=rows,
        last_sync=max(stamps, default=None),
        course_grades=course_grades,
        course_grades_sent=grades_sent,
    )


def _lineitem_state(
    row: AssignmentRow,
    pushes: list[tuple[str, Push]],
    lineitems: dict[str, LineItemState],
    *,
    category_missing: bool,
    group: str,
) -> None:
    states = [lineitems.get(push.sourced_id) for _, push in pushes]
    row.last_sync = max((s.last_pushed_at for s in states if s and s.last_pushed_at), default=None)
    refused = [s for s in states if s is not None and s.status == PushState.Status.REFUSED]
    if all(
        s is not None and s.accepted_hash == p.hash
        for s, (_, p) in zip(states, pushes, strict=True)
    ):
        row.state = SENT
    elif any(s is not None and s.accepted_hash for s in states):
        row.state = CHANGED
    else:
        row.state = NOT_SENT
        if refused:
            row.reasons.append(Reason(REFUSED, refused[0].last_error))
        else:
            row.reasons.append(Reason(NOT_SENT_YET, NOT_SENT_YET_DETAIL))
    if category_missing:
        row.reasons.append(
            Reason(CATEGORY_NOT_MAPPED, CATEGORY_NOT_MAPPED_DETAIL.format(group=group))
        )


def _result_counts(
    *,
    district: District,
    canvas: CanvasClient,
    course_id: int,
    sections: dict[int, str | None],
    sendable: dict[tuple[int, str], tuple[Push, CanvasAssignment]],
    rows: list[AssignmentRow],
    options: Options,
) -> None:
    """Per assignment: results the SIS holds as Canvas has them now, by score status."""
    if not sendable:
        return
    users = SisUserIds(district)
    students: dict[int, tuple[str, str]] = {}
    for enrollment in canvas.list_enrollments_with_grades(course_id, states=STUDENT_STATES):
        section = enrollment.get("sis_section_id") or sections.get(
            int(enrollment.get("course_section_id") or 0)
        )
        sourced_id = users.sourced_id(enrollment.get("sis_user_id"))
        if section and sourced_id:
            students.setdefault(int(enrollment["user_id"]), (sourced_id, section))
    accepted = dict(
        ResultState.objects.filter(district=district, canvas_course_id=course_id)
        .exclude(accepted_hash="")
        .exclude(status=PushState.Status.DELETED)
        .values_list("sourced_id", "accepted_hash")
    )
    assignment_ids = sorted({a for a, _ in sendable})
    counts: dict[int, Counter] = {a: Counter() for a in assignment_ids}
    for submission in canvas.list_submissions(course_id, assignment_ids=assignment_ids):
        student = students.get(submission.user_id)
        if student is None:
            continue
        entry = sendable.get((submission.assignment_id, student[1]))
        if entry is None:
            continue
        lineitem, assignment = entry
        mapped = result_map(
            submission=submission,
            lineitem_sourced_id=lineitem.sourced_id,
            student_sourced_id=student[0],
            due_at=assignment.due_at or dt.datetime.now(tz=dt.UTC),
            points_possible=assignment.points_possible or 0.0,
            options=options,
        )
        if not isinstance(mapped, Push):
            continue
        if accepted.get(mapped.sourced_id) == mapped.hash:
            counts[assignment.id][mapped.payload["scoreStatus"]] += 1
        else:
            counts[assignment.id]["changed"] += 1
    for row in rows:
        tally = counts.get(row.assignment_id)
        if tally:
            if tally["changed"] and row.state == SENT:
                row.state = CHANGED
            row.sent = tally[ScoreStatus.FULLY_GRADED.value]
            row.exempt = tally[ScoreStatus.EXEMPT.value]
            row.not_submitted = tally[ScoreStatus.NOT_SUBMITTED.value]
