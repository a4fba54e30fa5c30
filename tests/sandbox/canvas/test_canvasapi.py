"""Contract: canvasapi (Instructure's Python client, independent of ours) against the
simulated Canvas over loopback.

Every call ``integration.canvas.client.CanvasClient`` makes is driven here through canvasapi,
plus the calls other Canvas clients make that the sandbox once got wrong. Where canvasapi has
no method (SIS import errors), its own ``PaginatedList`` and requester make the call.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import pytest
from canvasapi import Canvas
from canvasapi.account import Account
from canvasapi.canvas_object import CanvasObject
from canvasapi.course import Course
from canvasapi.paginated_list import PaginatedList
from canvasapi.section import Section

from sandbox.canvas.coursework import coursework_teach
from sandbox.canvas.state import CanvasState
from sandbox.canvas.testing import serve_canvas_raw
from tests.sandbox.canvas.conftest import ROSTER, TOKEN, make_zip

#: The sandbox speaks plain HTTP on loopback; canvasapi warns about that on every client.
pytestmark = pytest.mark.filterwarnings("ignore:Canvas may respond unexpectedly:UserWarning")

NOW = dt.datetime(2025, 10, 1, tzinfo=dt.UTC)
ROOT = 1  # the root account's id (canvasapi takes ids as numbers)


def _finished(account, import_id: int) -> object:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        current = account.get_sis_import(import_id)
        if current.workflow_state not in ("initializing", "created", "importing"):
            return current
        time.sleep(0.05)
    raise AssertionError(f"SIS import {import_id} did not finish")


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[tuple[Canvas, CanvasState]]:
    """A Canvas provisioned through canvasapi's own SIS import, then taught."""
    state = CanvasState(token=TOKEN, now=lambda: NOW)
    upload = tmp_path_factory.mktemp("sis") / "roster.zip"
    upload.write_bytes(make_zip(ROSTER))
    with serve_canvas_raw(state) as url:
        canvas = Canvas(url, TOKEN)
        account = canvas.get_account(ROOT)
        # The form our client sends (SisImportParams.to_form) for a diffed provisioning run.
        created = account.create_sis_import(
            str(upload),
            import_type="instructure_csv",
            extension="zip",
            diffing_data_set_identifier="district-1-main",
            diffing_drop_status="inactive",
            diffing_user_remove_status="suspended",
            change_threshold=10,
        )
        assert _finished(account, created.id).workflow_state == "imported"
        coursework_teach(state, seed=3)
        yield canvas, state
    state.close()


@pytest.fixture(scope="module")
def canvas(world) -> Canvas:
    return world[0]


@pytest.fixture(scope="module")
def state(world) -> CanvasState:
    return world[1]


# --- the calls our client makes ---------------------------------------------------------


def test_current_user_and_accounts(canvas):
    assert canvas.get_current_user().name == "Sandbox Admin"
    root = canvas.get_account(ROOT)
    school = canvas.get_account("SCH1", use_sis_id=True)

    assert root.parent_account_id is None
    assert school.sis_account_id == "SCH1"
    assert school.parent_account_id == root.id


def test_sis_import_lifecycle(canvas, tmp_path):
    account = canvas.get_account(ROOT)
    users = tmp_path / "users.csv"
    users.write_text(
        "user_id,login_id,first_name,last_name,status\n"
        "U7,u7,Una,Seven,active\n"
        ",nobody,No,Id,active\n"
    )

    created = account.create_sis_import(str(users))
    done = _finished(account, created.id)
    errors = PaginatedList(
        CanvasObject,
        account._requester,
        "GET",
        f"accounts/{account.id}/sis_imports/{created.id}/errors",
        _root="sis_import_errors",
    )

    assert done.workflow_state == "imported_with_messages"
    assert done.data["counts"]["users"] == 1
    assert [e.row for e in errors] == [3]
    assert created.id in [i.id for i in account.get_sis_imports(per_page=1)]
    running = ["created", "importing", "cleanup_batch", "restoring"]
    assert list(account.get_sis_imports(workflow_state=running, per_page=100)) == []
    assert list(account.get_sis_imports_running()) == []
    assert done.abort().workflow_state == "imported_with_messages"  # a finished one stays


def test_an_import_is_aborted_while_queued(canvas, state, tmp_path):
    account = canvas.get_account(ROOT)
    upload = tmp_path / "terms.csv"
    upload.write_text("term_id,name,status\nT9,Later,active\n")
    state.runner.pause()
    try:
        created = account.create_sis_import(str(upload))
        aborted = created.abort()
    finally:
        state.runner.resume()

    assert aborted.workflow_state == "aborted"


def test_course_by_sis_id_and_its_sections(canvas):
    course = canvas.get_course("C1", use_sis_id=True)

    assert course.sis_course_id == "C1"
    assert sorted(s.sis_section_id for s in course.get_sections()) == ["S1", "S2"]


def test_assignments_groups_and_grading_periods(canvas, state):
    course = canvas.get_course("C1", use_sis_id=True)
    assignments = list(course.get_assignments(include=["overrides", "all_dates"], per_page=100))
    flagged = list(course.get_assignments(post_to_sis=True))
    groups = list(course.get_assignment_groups())
    periods = list(course.get_grading_periods())

    assert {a.id for a in assignments} == set(state.course_assignments[course.id])
    assert {a.id for a in flagged} == {a.id for a in assignments if a.post_to_sis}
    assert {a.assignment_group_id for a in assignments} <= {g.id for g in groups}
    assert [p.title for p in periods] == ["Quarter 1", "Quarter 2", "Quarter 3", "Quarter 4"]


def test_student_submissions_and_enrollment_grades(canvas, state):
    course = canvas.get_course("C1", use_sis_id=True)
    submissions = list(course.get_multiple_submissions(student_ids=["all"], include=["user"]))
    grouped = list(course.get_multiple_submissions(student_ids=["all"], grouped=True))
    # What our client sends for an incremental passback read of some assignments.
    first = next(
        s.assignment_id
        for s in submissions
        if s.graded_at and state.assignments[s.assignment_id].post_to_sis
    )
    incremental = list(
        course.get_multiple_submissions(
            student_ids=["all"],
            grouped=False,
            include=["visibility"],
            graded_since="2000-01-01T00:00:00Z",
            post_to_sis=True,
            assignment_ids=[first],
        )
    )
    enrollments = list(course.get_enrollments(type=["StudentEnrollment"]))
    period = state.period_sets[state.course_period_set[course.id]][0]
    in_period = list(
        course.get_enrollments(
            type=["StudentEnrollment"], state=["active"], grading_period_id=period.id
        )
    )

    expected = sum(
        len(state.submissions.get(a, {}))
        for a in state.course_assignments[course.id]
        if state.assignments[a].published
    )
    assert len(submissions) == expected
    assert {g.sis_user_id for g in grouped} == {"U1", "U2"}
    assert {e.sis_user_id for e in enrollments} == {"U1", "U2"}
    assert all(e.grades["html_url"].startswith("http") for e in enrollments)
    assert incremental
    assert {s.assignment_id for s in incremental} == {first}
    assert all(s.assignment_visible for s in incremental)
    assert {e.sis_user_id for e in in_period} == {"U1", "U2"}


def test_account_users_and_courses(canvas):
    account = canvas.get_account(ROOT)

    users = {u.sis_user_id: u for u in account.get_users(include=["email"])}
    assert {"U1", "U2", "U3", "TCH1"} <= set(users)
    assert users["U1"].email == "ann@example.org"
    assert {c.sis_course_id for c in account.get_courses()} == {"C1", "C2"}


# --- calls other clients make -----------------------------------------------------------


def test_nested_sis_id_paths(canvas):
    """Objects built from a SIS id without fetching them first (canvasapi's cheap path)
    put the SIS id into nested paths."""
    requester = canvas.get_account(ROOT)._requester
    course = Course(requester, {"id": "sis_course_id:C1"})
    school = Account(requester, {"id": "sis_account_id:SCH1"})
    section = Section(requester, {"id": "sis_section_id:S1"})

    assert len(list(course.get_enrollments())) == 3
    assert [s.sis_section_id for s in course.get_sections()] == ["S1", "S2"]
    assert list(course.get_assignments())
    assert [p.title for p in course.get_grading_periods()][:1] == ["Quarter 1"]
    assert list(course.get_multiple_submissions(student_ids=["all"]))
    assert [c.sis_course_id for c in school.get_courses()] == ["C1"]
    assert list(school.get_subaccounts()) == []
    assert len(list(section.get_enrollments())) == 2


def test_assignment_submissions(canvas, state):
    course = canvas.get_course("C1", use_sis_id=True)
    assignment = next(
        a for a in course.get_assignments() if state.submissions.get(a.id) and a.published
    )
    student = state.users_by_sis["U1"].id

    listed = list(assignment.get_submissions())
    one = assignment.get_submission(student)

    assert {s.assignment_id for s in listed} == {assignment.id}
    assert one.user_id == student


def test_section_submissions_and_own_submissions(canvas, state):
    section = canvas.get_section("S2", use_sis_id=True)
    course = canvas.get_course("C1", use_sis_id=True)

    in_section = list(section.get_multiple_submissions(student_ids=["all"]))
    own = list(course.get_multiple_submissions())

    assert {s.user_id for s in in_section} == {state.users_by_sis["U2"].id}
    assert own == []


def test_course_users_and_user_enrollments(canvas):
    course = canvas.get_course("C1", use_sis_id=True)
    users = list(course.get_users(search_term="bob", include=["email"]))
    teacher = course.get_user("TCH1", "sis_user_id")
    enrollments = list(canvas.get_user("TCH1", "sis_user_id").get_enrollments())

    assert [u.sis_user_id for u in users] == ["U2"]
    assert users[0].email == "bob@example.org"
    assert teacher.sis_user_id == "TCH1"
    assert {e.sis_course_id for e in enrollments} == {"C1", "C2"}


def test_group_assignments_quizzes_and_discussions(canvas, state):
    course = canvas.get_course("C1", use_sis_id=True)
    groups = list(course.get_assignment_groups(include=["assignments"]))
    group = next(g for g in groups if g.assignments)

    for_group = list(course.get_assignments_for_group(group.id))
    quizzes = list(course.get_quizzes())
    topics = list(course.get_discussion_topics())

    assert [a.id for a in for_group] == [a["id"] for a in group.assignments]
    kinds = {state.assignments[a].kind for a in state.course_assignments[course.id]}
    assert bool(quizzes) == ("classic_quiz" in kinds)
    assert bool(topics) == ("discussion" in kinds)


def test_account_grading_periods_and_terms(canvas, state):
    account = canvas.get_account(ROOT)
    term = state.terms_by_sis["T2025"]

    periods = list(account.get_grading_periods())
    by_id = account.get_enrollment_term(term.id)

    assert [p.title for p in periods] == ["Quarter 1", "Quarter 2", "Quarter 3", "Quarter 4"]
    assert by_id.sis_term_id == "T2025"
    assert "T2025" in {t.sis_term_id for t in account.get_enrollment_terms()}


def test_includes_and_search(canvas):
    account = canvas.get_account(ROOT)
    courses = list(account.get_courses(search_term="bio", include=["term", "total_students"]))
    sections = list(canvas.get_course("C2", use_sis_id=True).get_sections(include=["students"]))

    assert [c.sis_course_id for c in courses] == ["C2"]
    assert courses[0].term["name"] == "2025-2026"
    assert courses[0].total_students == 1
    assert [u["sis_user_id"] for u in sections[0].students] == ["U3"]
