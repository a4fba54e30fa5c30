"""Course (current) grade passback in both modes, over loopback."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from gradepassback import mapping
from gradepassback.models import PassbackConflict, PassbackItem
from runs.models import SyncRun
from sandbox.canvas import coursework
from sandbox.oneroster.gradebook import PLACEHOLDER_CATEGORY
from tests.gradepassback.helpers import Recorder, canvas_course, passback, quarter

# Whole runs against the sandbox, a few seconds each: left out of `make test-fast`.
pytestmark = [pytest.mark.django_db, pytest.mark.slow]

S = SyncRun.Status
CHICAGO = ZoneInfo("America/Chicago")


@pytest.fixture
def sandbox(shaped_sandbox):
    """Every test here runs against each generator shape: where the class lists its
    semester only, its course grades still go per quarter (the semester's grading periods)."""
    return shaped_sandbox


@pytest.fixture
def course_sid(sandbox):
    from tests.gradepassback.helpers import class_with_quarters

    return class_with_quarters(sandbox, {0, 1})


def expected_scores(sandbox, sis_course_id: str, number: int) -> dict[str, float]:
    """Student sourcedId → what Canvas reports for the quarter: the override, else the
    current (posted) score; students without either are absent."""
    state = sandbox.canvas
    course = canvas_course(sandbox, sis_course_id)
    period = next(
        p
        for p in coursework.course_periods(state, course)
        if p.title == quarter(sandbox, sis_course_id, number).title
    )
    scores = {}
    for user_id, section_id in state.course_student_ids(course).items():
        grades = coursework.course_grades(
            state, course, user_id, section_id, period, base_url=sandbox.url
        )
        score = grades["override_score"]
        if score is None:
            score = grades["current_score"]
        if score is not None:
            scores[state.users[user_id].sis_id] = float(score)
    return scores


def test_own_lineitem_per_class_and_period_with_overrides_preferred(sandbox, district, course_sid):
    district.course_grade_mode = "own_lineitem"
    district.save(update_fields=["course_grade_mode"])
    recorder = Recorder(sandbox)
    run = passback(district)
    assert run.status == S.SUCCEEDED, run.error
    q1 = quarter(sandbox, course_sid, 0)
    lineitem = mapping.course_grade_lineitem_sourced_id(
        district_slug=district.slug, class_sourced_id=course_sid, period_sourced_id=q1.sourced_id
    )
    # One course grade per quarter of the class, never one for a semester above them.
    per_period = {
        mapping.course_grade_lineitem_sourced_id(
            district_slug=district.slug, class_sourced_id=course_sid, period_sourced_id=sid
        )
        for sid in (q1.sourced_id, quarter(sandbox, course_sid, 1).sourced_id)
    }
    of_class = {
        sid
        for sid, item in recorder.puts("lineItems").items()
        if item["class"]["sourcedId"] == course_sid and item["title"].startswith("Course grade")
    }
    assert of_class == per_period
    body = dict(recorder.puts("lineItems")[lineitem])
    body.pop("dateLastModified")
    start = dt.datetime.combine(q1.start_date, dt.time(), tzinfo=CHICAGO)
    end = dt.datetime.combine(q1.end_date, dt.time(23, 59), tzinfo=CHICAGO)
    assert body == {
        "sourcedId": lineitem,
        "status": "active",
        "title": "Course grade – Q1",  # noqa: RUF001 - the title the district sees
        "assignDate": start.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "dueDate": end.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "class": {"sourcedId": course_sid, "type": "class"},
        "gradingPeriod": {"sourcedId": q1.sourced_id, "type": "academicSession"},
        "category": {"sourcedId": PLACEHOLDER_CATEGORY, "type": "category"},
        "resultValueMin": 0.0,
        "resultValueMax": 100.0,
    }
    expected = expected_scores(sandbox, course_sid, 0)
    assert expected
    sent = {
        r["student"]["sourcedId"]: r
        for r in recorder.puts("results").values()
        if r["lineItem"]["sourcedId"] == lineitem
    }
    assert {s: r["score"] for s, r in sent.items()} == expected
    assert {r["scoreStatus"] for r in sent.values()} == {"fully graded"}
    # An override differs from the computed score for at least one student.
    state = sandbox.canvas
    course = canvas_course(sandbox, course_sid)
    assert any(key[0] == course.id and key[1] is not None for key in state.grade_overrides)
    # Nothing changed: nothing is sent again, although the score date is today's.
    recorder.clear()
    again = passback(district)
    assert again.status == S.SUCCEEDED
    assert recorder.writes() == []
    assert again.counts["courseGrades"]["unchanged"] == run.counts["courseGrades"]["pushed"]


def test_sis_grading_task_with_a_closed_window_recorded_per_item(sandbox, district, course_sid):
    district.course_grade_mode = "sis_grading_task"
    district.save(update_fields=["course_grade_mode"])
    q1, q2 = quarter(sandbox, course_sid, 0), quarter(sandbox, course_sid, 1)
    book = sandbox.oneroster.gradebook
    book.set_window(open_=False, terms=[q1.sourced_id])
    recorder = Recorder(sandbox)
    run = passback(district)
    assert run.status == S.SUCCEEDED, run.error

    task_q1 = f"{course_sid}{q1.sourced_id}1"
    task_q2 = f"{course_sid}{q2.sourced_id}1"
    sent = recorder.puts("results")
    on_q2 = {
        r["student"]["sourcedId"]: r["score"]
        for r in sent.values()
        if r["lineItem"]["sourcedId"] == task_q2
    }
    assert on_q2 == expected_scores(sandbox, course_sid, 1)
    stored_q2 = {r["student"]["sourcedId"] for r in book.results_of_line_item(task_q2)}
    assert stored_q2 == set(on_q2)
    # Q1's window is closed: each of its results failed with IC's reason; the run went on.
    failed = PassbackItem.objects.filter(
        course__passback_run__run=run, course__sis_course_id=course_sid, outcome="failed"
    )
    assert failed.count() == len(expected_scores(sandbox, course_sid, 0)) > 0
    assert {i.detail for i in failed} == {
        "The SIS refused it (400): The grading window for Quarter Grade in Q1 is closed"
    }
    assert book.results_of_line_item(task_q1) == []
    assert run.counts["courseGrades"]["failed"] == failed.count()

    # The window opens. Refused grades wait (a nightly run retries them the next night)
    # unless a full passback is asked for; that one sends exactly the Q1 grades.
    book.set_window(open_=True, terms=[q1.sourced_id])
    recorder.clear()
    assert passback(district).status == S.SUCCEEDED
    assert recorder.writes() == []
    again = passback(district, full=True)
    assert again.status == S.SUCCEEDED
    lineitems = {c.body["result"]["lineItem"]["sourcedId"] for c in recorder.writes()}
    assert lineitems == {task_q1}


def test_no_matching_grading_task_is_a_conflict(sandbox, district, course_sid):
    district.course_grade_mode = "sis_grading_task"
    district.grading_task_title = "Semester Grade"
    district.save(update_fields=["course_grade_mode", "grading_task_title"])
    run = passback(district)
    assert run.status == S.SUCCEEDED
    conflict = PassbackConflict.objects.get(
        district=district, sis_course_id=course_sid, kind="no_grading_task"
    )
    assert conflict.message == (
        f"The SIS has no grading task titled “Semester Grade” for Q1, Q2 in class "
        f"{course_sid}, so the course grade cannot be sent there."
    )
