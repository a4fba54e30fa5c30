"""The Grade sync page's facts (``course_sync_read``) against the sandbox after a real
passback: states, reasons in a teacher's words, and result counts."""

from __future__ import annotations

import pytest

from gradepassback.mapping import MSG_NO_DUE_DATE
from gradepassback.models import PassbackRun, PushState, ResultState
from lti.services.gradesync import (
    CATEGORY_NOT_MAPPED,
    CHANGED,
    NOT_SENT,
    SENT,
    course_sync_read,
)
from sandbox.canvas.coursework import coursework_teach, scores_change
from tenants.services.clients import district_canvas_client
from tests.gradepassback.helpers import class_with_quarters, course_assignments, passback
from tests.lti.conftest import ready_district

pytestmark = pytest.mark.django_db


def _read(district, course):
    canvas = district_canvas_client(district)
    try:
        return {
            row.name: row
            for row in course_sync_read(district=district, sis_course_id=course, canvas=canvas).rows
        }
    finally:
        canvas.close()


def test_states_reasons_and_counts_after_a_passback(sandbox, fast_imports):
    district, course = ready_district(sandbox)
    rows = _read(district, course)
    assert rows["Essay: Causes and Effects"].state == SENT
    participation = rows["Class Participation"]
    assert participation.state == NOT_SENT
    assert [r.label for r in participation.reasons] == ["No due date"]
    assert participation.reasons[0].detail == MSG_NO_DUE_DATE.format(name="Class Participation")
    assert "Practice Worksheet" not in rows  # not flagged for the SIS
    essay = rows["Essay: Causes and Effects"]
    held = ResultState.objects.filter(
        district=district, canvas_assignment_id=essay.assignment_id, status=PushState.Status.PUSHED
    ).count()
    assert held > 0
    assert essay.sent + essay.exempt + essay.not_submitted == held


def test_a_renamed_assignment_and_a_changed_score_show_as_changed(sandbox, fast_imports):
    district, course = ready_district(sandbox)
    state = sandbox.canvas
    with state.lock:
        course_assignments(sandbox, course)["Unit 1 Quiz"].name = "Unit 1 Quiz (revised)"
        state.touch()
    changed = scores_change(state, count=1, seed=4, course_ids=[course])["changes"]
    rows = _read(district, course)
    assert rows["Unit 1 Quiz (revised)"].state == CHANGED
    assert any(
        row.state == CHANGED for name, row in rows.items() if name != "Unit 1 Quiz (revised)"
    ), changed
    passback(district, course_sis_ids=[course])
    assert all(row.state != CHANGED for row in _read(district, course).values())


def test_due_dates_outside_the_class_periods_and_unmapped_categories(sandbox, fast_imports):
    district, _ = ready_district(sandbox)
    late_class = class_with_quarters(sandbox, {2, 3})
    quarters = {
        school.sourced_id: [
            {
                "title": q.title,
                "start_date": q.start_date.isoformat(),
                "end_date": q.end_date.isoformat(),
            }
            for q in school.quarters
        ]
        for school in sandbox.generated.schools
    }
    # Taught with the first class's quarters: every due date falls before this class starts.
    first_quarters = {k: v[:2] for k, v in quarters.items()}
    coursework_teach(
        sandbox.canvas, quarters_by_account=first_quarters, seed=3, course_ids=[late_class]
    )
    rows = _read(district, late_class)
    essay = rows["Essay: Causes and Effects"]
    assert essay.state == NOT_SENT
    assert [r.label for r in essay.reasons] == ["Due date outside every grading period"]

    # A SIS that lists only "Homework" and no default category.
    PassbackRun.objects.update(categories=[["cat-homework", "Homework"]])
    _, course = district, class_with_quarters(sandbox, {0, 1})
    rows = _read(district, course)
    assert CATEGORY_NOT_MAPPED in [r.label for r in rows["Bonus Reflection"].reasons]
    assert CATEGORY_NOT_MAPPED not in [r.label for r in rows["Essay: Causes and Effects"].reasons]
