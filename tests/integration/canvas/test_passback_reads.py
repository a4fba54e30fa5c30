"""Reads for grade passback and the conversion evaluation, against seeded coursework."""

from __future__ import annotations

import datetime as dt

import pytest

from sandbox.canvas.coursework import (
    LONG_NAME,
    UNMATCHED_GROUP,
    coursework_teach,
    previous_sis_seed,
    scores_change,
)
from sandbox.canvas.sis.run import sis_zip_apply
from tests.integration.canvas.conftest import ROSTER, csv_text, make_zip

ACCOUNT = "1"
STUDENTS = [f"K{n:02d}" for n in range(8)]
QUARTERS = {
    "SCH1": [
        {"title": "Q1", "start_date": "2025-08-18", "end_date": "2025-10-17"},
        {"title": "Q2", "start_date": "2025-10-20", "end_date": "2025-12-19"},
        {"title": "Q3", "start_date": "2026-01-05", "end_date": "2026-03-13"},
        {"title": "Q4", "start_date": "2026-03-16", "end_date": "2026-05-29"},
    ]
}


@pytest.fixture
def taught(state):
    """C1 with two sections and eight students, taught with SCH1's quarters."""
    users = [f"{k},{k.lower()},Kid,{k},,active" for k in STUDENTS]
    enrollments = [f"C1,S{1 + n % 2},{k},student,active" for n, k in enumerate(STUDENTS)]
    files = {
        **ROSTER,
        "users.csv": ROSTER["users.csv"] + "\n".join(users) + "\n",
        "enrollments.csv": ROSTER["enrollments.csv"] + "\n".join(enrollments) + "\n",
    }
    sis_zip_apply(state, make_zip(files))
    coursework_teach(state, quarters_by_account=QUARTERS, course_ids=["C1"])
    return state.courses_by_sis["C1"]


def test_assignments_come_typed_with_their_kinds_and_overrides(client, taught):
    assignments = {a.name: a for a in client.list_assignments(taught.id)}

    assert {a.kind for a in assignments.values()} == {
        "assignment",
        "classic_quiz",
        "new_quiz",
        "discussion",
    }
    assert assignments["Unit 1 Quiz"].kind == "classic_quiz"
    assert assignments["Chapter Test"].kind == "new_quiz"
    assert assignments["Discussion: Reading Response"].kind == "discussion"
    assert assignments["Practice Worksheet"].post_to_sis is False
    assert assignments["Draft Project Proposal"].published is False
    assert assignments["Class Participation"].due_at is None
    assert len(LONG_NAME) == 60
    assert LONG_NAME in assignments
    lab = assignments["Lab Report"]
    assert lab.has_overrides
    assert [o.course_section_id for o in lab.overrides] == sorted(taught.section_ids)
    assert lab.overrides[0].due_at != lab.overrides[1].due_at
    essay = assignments["Essay: Causes and Effects"]
    assert essay.points_possible == 100
    assert (
        dt.datetime(2025, 8, 18, tzinfo=dt.UTC)
        <= essay.due_at
        <= dt.datetime(2025, 10, 18, tzinfo=dt.UTC)
    )


def test_the_post_to_sis_filter(client, taught):
    flagged = [a.name for a in client.list_assignments(taught.id, post_to_sis=True)]

    assert "Practice Worksheet" not in flagged
    assert len(flagged) == 9


def test_assignment_groups_mirror_sis_categories_and_one_matching_none(client, taught):
    names = [g["name"] for g in client.list_assignment_groups(taught.id)]

    assert names == ["Homework", "Quizzes", "Tests", "Projects", UNMATCHED_GROUP]


def test_grading_periods_come_from_the_schools_quarters(client, taught):
    periods = client.list_grading_periods(taught.id)

    assert [(p["title"], p["start_date"][:10]) for p in periods] == [
        ("Q1", "2025-08-18"),
        ("Q2", "2025-10-20"),
        ("Q3", "2026-01-05"),
        ("Q4", "2026-03-16"),
    ]


def test_submissions_cover_every_outcome(client, taught):
    submissions = list(client.list_submissions(taught.id))

    assert {s.assignment_visible for s in submissions} == {True}
    assert any(s.excused and s.score is None for s in submissions)
    assert any(s.missing and s.workflow_state == "unsubmitted" for s in submissions)
    assert any(s.late and s.graded for s in submissions)
    assert any(s.graded and not s.posted for s in submissions)
    assert any(s.workflow_state == "submitted" and s.score is None for s in submissions)
    assert any(s.graded and s.posted and not s.late for s in submissions)
    unpublished = {a.id for a in client.list_assignments(taught.id) if not a.published}
    assert not {s.assignment_id for s in submissions} & unpublished


def test_submissions_filtered_by_post_to_sis_and_assignment(client, taught):
    assignments = {a.name: a.id for a in client.list_assignments(taught.id)}

    flagged = {s.assignment_id for s in client.list_submissions(taught.id, post_to_sis=True)}
    one = list(client.list_submissions(taught.id, assignment_ids=[assignments["Unit 1 Quiz"]]))

    assert assignments["Practice Worksheet"] not in flagged
    assert {s.assignment_id for s in one} == {assignments["Unit 1 Quiz"]}
    assert len(one) == len(STUDENTS) + 2  # and U1, U2 from the roster
    assert list(client.list_submissions(taught.id, assignment_ids=[])) == []


def test_graded_since_returns_only_what_changed(client, state, taught):
    since = state.now() - dt.timedelta(hours=1)
    assert list(client.list_submissions(taught.id, graded_since=since)) == []

    changed = scores_change(state, count=3, seed=7)
    recent = list(client.list_submissions(taught.id, graded_since=since))

    assert changed["changed"] == 3
    assert sorted((s.assignment_id, s.user_id, s.score) for s in recent) == sorted(
        (c["assignment_id"], c["user_id"], c["new_score"]) for c in changed["changes"]
    )


def test_enrollments_carry_grades_per_grading_period(client, taught):
    periods = client.list_grading_periods(taught.id)
    overall = list(client.list_enrollments_with_grades(taught.id))
    q1 = list(client.list_enrollments_with_grades(taught.id, grading_period_id=periods[0]["id"]))

    assert {e["type"] for e in overall} == {"StudentEnrollment"}
    assert {e["sis_user_id"] for e in q1} == {"U1", "U2", *STUDENTS}
    assert all(e["sis_section_id"] in ("S1", "S2") for e in q1)
    scores = [e["grades"]["current_score"] for e in q1]
    assert all(score is None or 0 <= score <= 100 for score in scores)
    assert any(score is not None for score in scores)
    assert any(e["grades"]["override_score"] is not None for e in q1)
    assert q1[0]["grades"] != overall[0]["grades"] or q1[0]["user_id"] != overall[0]["user_id"]


def test_account_users_and_courses_show_a_previous_sis_population(client, state):
    sis_zip_apply(state, make_zip(ROSTER))
    report = previous_sis_seed(
        state,
        users=[
            {"sourcedId": f"OR-{n}", "username": f"or{n}", "email": f"or{n}@example.org"}
            for n in range(10)
        ],
        classes=[{"sourcedId": f"CL-{n}", "title": f"Class {n}"} for n in range(4)],
        seed=3,
    )

    users = {u["sis_user_id"]: u for u in client.list_account_users(ACCOUNT)}
    courses = {c["sis_course_id"] for c in client.list_account_courses(ACCOUNT)}

    assert len(report["users"]["same_sis_id"]) == 3
    for sourced in report["users"]["same_sis_id"]:
        assert users[sourced]["login_id"].startswith("legacy-")
    for sourced in report["users"]["same_login"]:
        number = sourced.removeprefix("OR-")
        assert any(u["login_id"] == f"or{number}" for u in users.values())
        assert sourced not in users
    for sourced in report["users"]["same_email"]:
        number = sourced.removeprefix("OR-")
        assert any(u["email"] == f"or{number}@example.org" for u in users.values())
    assert set(report["users"]["orphans"]) <= set(users)
    assert set(report["courses"]["same_sis_id"]) <= courses
    assert {"C1", "C2"} <= courses


def test_sections_of_a_course(client, taught):
    sections = list(client.list_sections(taught.id))

    assert [s["sis_section_id"] for s in sections] == ["S1", "S2"]


def test_a_renamed_course_keeps_its_name_through_later_imports(client, state, taught):
    client.session.request(
        "PUT", client._url("courses", taught.id), data={"course[name]": "Mr. K's Algebra"}
    )
    sis_zip_apply(
        state,
        make_zip(
            {
                "courses.csv": csv_text(
                    "course_id,short_name,long_name,status", "C1,ALG1,Algebra One,active"
                )
            }
        ),
    )

    assert client.get_course_by_sis_id("C1")["name"] == "Mr. K's Algebra"
