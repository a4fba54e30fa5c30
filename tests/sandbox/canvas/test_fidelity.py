"""The simulated Canvas answers where and how Canvas does (issue: the sandbox answers like the
real services). Each test names a behaviour an independent client relies on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import requests

from sandbox.canvas.coursework import coursework_teach
from sandbox.canvas.sis.run import sis_zip_apply
from sandbox.canvas.state import CanvasState
from sandbox.canvas.testing import serve_canvas, serve_canvas_raw
from tests.sandbox.canvas.conftest import ROSTER, TOKEN, csv_text, make_zip

NOW = dt.datetime(2025, 10, 1, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def taught() -> CanvasState:
    state = CanvasState(token=TOKEN, now=lambda: NOW)
    sis_zip_apply(state, make_zip(ROSTER))
    coursework_teach(state, seed=3)
    return state


@pytest.fixture(scope="module")
def canvas(taught) -> Iterator[requests.Session]:
    with serve_canvas_raw(taught) as url:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {TOKEN}"
        session.base = f"{url}/api/v1"  # type: ignore[attr-defined]
        yield session
        session.close()


def get(canvas, path: str, **params) -> requests.Response:
    return canvas.get(f"{canvas.base}/{path}", params=params, timeout=5)


NESTED_SIS_PATHS = [
    "courses/sis_course_id:C1/enrollments",
    "courses/sis_course_id:C1/sections",
    "courses/sis_course_id:C1/assignments",
    "courses/sis_course_id:C1/grading_periods",
    "courses/sis_course_id:C1/students/submissions?student_ids[]=all",
    "accounts/sis_account_id:SCH1/courses",
    "accounts/sis_account_id:SCH1/sub_accounts",
    "sections/sis_section_id:S1/enrollments",
]


@pytest.mark.parametrize("path", NESTED_SIS_PATHS)
def test_nested_paths_with_a_sis_id_route_to_the_nested_endpoint(canvas, path):
    response = canvas.get(f"{canvas.base}/{path}", timeout=5)

    assert response.status_code == 200, response.text
    body = response.json()
    # A single course or section object (the old mis-route) is a dict without paging.
    assert isinstance(body, list) or "grading_periods" in body


def test_nested_sis_paths_route_under_a_server_that_decodes_the_path(taught):
    with serve_canvas(taught) as url:
        response = requests.get(
            f"{url}/api/v1/courses/sis_course_id:C1/enrollments",
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=5,
        )

    assert response.status_code == 200
    assert {e["sis_course_id"] for e in response.json()} == {"C1"}


def test_a_multipart_import_takes_its_type_from_the_file_name():
    state = CanvasState(token=TOKEN)
    users = csv_text("user_id,login_id,first_name,last_name,status", "U9,u9,Uma,Nine,active")
    with serve_canvas_raw(state) as url:
        created = requests.post(
            f"{url}/api/v1/accounts/self/sis_imports",
            files={"attachment": ("users.csv", users.encode(), "application/octet-stream")},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=5,
        )
        assert created.status_code == 200, created.text
        assert state.runner.wait_idle()
        done = requests.get(
            f"{url}/api/v1/accounts/self/sis_imports/{created.json()['id']}",
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=5,
        ).json()
    state.close()

    assert done["workflow_state"] == "imported", done
    assert "U9" in state.users_by_sis


def test_assignment_submissions_list_and_single(canvas, taught):
    course = taught.courses_by_sis["C1"]
    assignment = next(
        a for a in (taught.assignments[i] for i in taught.course_assignments[course.id])
        if taught.submissions.get(a.id)
    )  # fmt: skip
    listed = get(canvas, f"courses/{course.id}/assignments/{assignment.id}/submissions")
    one = get(
        canvas, f"courses/sis_course_id:C1/assignments/{assignment.id}/submissions/sis_user_id:U1"
    )

    assert listed.status_code == 200
    assert {s["assignment_id"] for s in listed.json()} == {assignment.id}
    assert one.status_code == 200
    assert one.json()["user_id"] == taught.users_by_sis["U1"].id


def test_section_student_submissions_hold_only_that_section(canvas, taught):
    response = get(
        canvas, "sections/sis_section_id:S2/students/submissions", **{"student_ids[]": "all"}
    )

    assert response.status_code == 200
    assert response.json()
    assert {s["user_id"] for s in response.json()} == {taught.users_by_sis["U2"].id}


def test_student_submissions_without_student_ids_are_the_callers_own(canvas):
    response = get(canvas, "courses/sis_course_id:C1/students/submissions")

    assert response.status_code == 200
    assert response.json() == []  # the admin token's user takes no course


def test_course_users_list_search_and_single(canvas, taught):
    everyone = get(canvas, "courses/sis_course_id:C1/users")
    students = get(canvas, "courses/sis_course_id:C1/users", **{"enrollment_type[]": "student"})
    searched = get(canvas, "courses/sis_course_id:C1/users", search_term="ann")
    one = get(canvas, "courses/sis_course_id:C1/users/sis_user_id:TCH1")
    outsider = get(canvas, "courses/sis_course_id:C1/users/sis_user_id:U3")

    assert {u["sis_user_id"] for u in everyone.json()} == {"U1", "U2", "TCH1"}
    assert {u["sis_user_id"] for u in students.json()} == {"U1", "U2"}
    assert [u["sis_user_id"] for u in searched.json()] == ["U1"]
    assert one.json()["sis_user_id"] == "TCH1"
    assert outsider.status_code == 404


def test_user_enrollments(canvas):
    response = get(canvas, "users/sis_user_id:TCH1/enrollments")

    assert response.status_code == 200
    assert {(e["sis_course_id"], e["type"]) for e in response.json()} == {
        ("C1", "TeacherEnrollment"),
        ("C2", "TeacherEnrollment"),
    }


def test_assignment_group_assignments(canvas, taught):
    course = taught.courses_by_sis["C1"]
    group = next(
        g for g in taught.assignment_groups[course.id]
        if any(taught.assignments[a].assignment_group_id == g.id
               for a in taught.course_assignments[course.id])
    )  # fmt: skip
    response = get(canvas, f"courses/{course.id}/assignment_groups/{group.id}/assignments")
    included = get(canvas, f"courses/{course.id}/assignment_groups", **{"include[]": "assignments"})

    assert response.status_code == 200
    assert response.json()
    assert {a["assignment_group_id"] for a in response.json()} == {group.id}
    by_id = {g["id"]: g for g in included.json()}
    assert [a["id"] for a in by_id[group.id]["assignments"]] == [a["id"] for a in response.json()]


def test_account_grading_periods(canvas, taught):
    root = get(canvas, "accounts/self/grading_periods")

    assert root.status_code == 200
    titles = [p["title"] for p in root.json()["grading_periods"]]
    assert titles == ["Quarter 1", "Quarter 2", "Quarter 3", "Quarter 4"]


def test_a_single_term_by_id_and_sis_id(canvas, taught):
    term = taught.terms_by_sis["T2025"]
    by_id = get(canvas, f"accounts/self/terms/{term.id}")
    by_sis = get(canvas, "accounts/self/terms/sis_term_id:T2025")

    assert by_id.status_code == by_sis.status_code == 200
    assert by_id.json() == by_sis.json()
    assert by_id.json()["sis_term_id"] == "T2025"


def test_quizzes_and_discussion_topics_lists(canvas, taught):
    course = taught.courses_by_sis["C1"]
    kinds = {taught.assignments[a].kind for a in taught.course_assignments[course.id]}
    quizzes = get(canvas, f"courses/{course.id}/quizzes")
    topics = get(canvas, f"courses/{course.id}/discussion_topics")

    assert quizzes.status_code == topics.status_code == 200
    assert bool(quizzes.json()) == ("classic_quiz" in kinds)
    assert bool(topics.json()) == ("discussion" in kinds)
    assert all(q["assignment_id"] for q in quizzes.json() + topics.json())


def test_account_courses_honour_search_term_and_includes(canvas):
    found = get(
        canvas,
        "accounts/self/courses",
        search_term="algebra",
        **{"include[]": ["term", "total_students"]},
    )

    assert [c["sis_course_id"] for c in found.json()] == ["C1"]
    course = found.json()[0]
    assert course["term"]["name"] == "2025-2026"
    assert course["total_students"] == 2


def test_course_and_section_includes(canvas):
    course = get(canvas, "courses/sis_course_id:C2", **{"include[]": "total_students"})
    sections = get(canvas, "courses/sis_course_id:C1/sections", **{"include[]": "students"})

    assert course.json()["total_students"] == 1
    by_sis = {s["sis_section_id"]: s for s in sections.json()}
    assert [u["sis_user_id"] for u in by_sis["S1"]["students"]] == ["U1"]


def test_enrollment_grades_html_url_is_absolute(canvas):
    enrollments = get(
        canvas, "courses/sis_course_id:C1/enrollments", **{"type[]": "StudentEnrollment"}
    )

    urls = [e["grades"]["html_url"] for e in enrollments.json()]
    assert urls
    assert all(url.startswith("http://127.0.0.1:") for url in urls)
