"""Seeded coursework: deterministic, bounded, with grading periods and course grades."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from sandbox.canvas import coursework
from sandbox.canvas.coursework import (
    course_grades,
    course_periods,
    coursework_teach,
    previous_sis_seed,
    scores_change,
)
from sandbox.canvas.sis.run import sis_zip_apply
from sandbox.canvas.state import CanvasState
from tests.sandbox.canvas.conftest import ROSTER, TOKEN, make_zip


@pytest.fixture
def roster(state):
    sis_zip_apply(state, make_zip(ROSTER))
    return state


def snapshot(state):
    return sorted(
        (a.name, a.course_id, a.due_at, s.user_id, s.score, s.excused, s.workflow_state)
        for a in state.assignments.values()
        for s in state.submissions.get(a.id, {}).values()
    )


def test_teaching_is_deterministic_for_a_seed():
    taught = []
    for _ in range(2):
        state = CanvasState(token=TOKEN, now=lambda: dt.datetime(2025, 9, 1, tzinfo=dt.UTC))
        sis_zip_apply(state, make_zip(ROSTER))
        coursework_teach(state, seed=5)
        taught.append(snapshot(state))

    assert taught[0] == taught[1]
    assert taught[0]


def test_without_a_selection_teaching_is_capped(roster, monkeypatch):
    monkeypatch.setattr(coursework, "DEFAULT_TEACH_LIMIT", 1)

    first = coursework_teach(roster)
    second = coursework_teach(roster)

    assert (first["courses"], first["untaught"]) == (1, 1)
    assert (second["courses"], second["untaught"]) == (1, 0)


def test_grading_periods_default_to_quarters_of_the_term(roster):
    coursework_teach(roster, course_ids=["C1"])

    periods = course_periods(roster, roster.courses_by_sis["C1"])

    assert [p.title for p in periods] == ["Quarter 1", "Quarter 2", "Quarter 3", "Quarter 4"]
    assert periods[0].start_date == dt.datetime(2025, 8, 15, tzinfo=dt.UTC)
    assert periods[-1].end_date.date() == dt.date(2026, 6, 5)
    assert all(a.end_date < b.start_date for a, b in itertools.pairwise(periods))


def test_schools_share_their_quarters(roster):
    quarters = {"SCH1": [{"title": "Fall", "start_date": "2025-08-01", "end_date": "2025-12-20"}]}
    coursework_teach(roster, quarters_by_account=quarters)

    c1 = course_periods(roster, roster.courses_by_sis["C1"])
    c2 = course_periods(roster, roster.courses_by_sis["C2"])
    assert [p.title for p in c1] == ["Fall"]
    assert [p.title for p in c2] == ["Quarter 1", "Quarter 2", "Quarter 3", "Quarter 4"]


def test_course_grades_count_posted_graded_work_and_skip_excused(roster):
    coursework_teach(roster, course_ids=["C2"])
    course = roster.courses_by_sis["C2"]
    user = roster.users_by_sis["U3"]
    section = roster.sections_by_sis["S3"]

    grades = course_grades(roster, course, user.id, section.id, None, base_url="")

    earned = possible = 0.0
    for assignment_id in roster.course_assignments[course.id]:
        assignment = roster.assignments[assignment_id]
        submission = roster.submissions.get(assignment_id, {}).get(user.id)
        if (
            submission
            and submission.workflow_state == "graded"
            and submission.score is not None
            and submission.posted_at is not None
            and not submission.excused
        ):
            earned += submission.score
            possible += assignment.points_possible
    assert grades["current_score"] == round(earned * 100 / possible, 2)
    assert grades["unposted_current_score"] >= 0
    assert grades["final_score"] <= grades["current_score"]


def test_changed_scores_are_new_values_graded_now(roster):
    now = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    coursework_teach(roster)
    roster.now = lambda: now

    changed = scores_change(roster, count=2, seed=1)

    for change in changed["changes"]:
        submission = roster.submissions[change["assignment_id"]][change["user_id"]]
        assert change["old_score"] != change["new_score"] == submission.score
        assert submission.graded_at == now


def test_previous_sis_users_overlap_as_reported(state):
    users = [
        {"sourcedId": f"u{n}", "username": f"user{n}", "email": f"user{n}@example.org"}
        for n in range(20)
    ]
    report = previous_sis_seed(state, users=users, seed=2, orphans=3)

    assert {k: len(v) for k, v in report["users"].items()} == {
        "same_sis_id": 6,
        "same_login": 4,
        "same_email": 4,
        "none": 6,
        "orphans": 3,
    }
    for sourced in report["users"]["same_sis_id"]:
        assert state.users_by_sis[sourced].login_id == f"legacy-user{sourced[1:]}"
    for sourced in report["users"]["same_login"]:
        holder = state.logins[f"user{sourced[1:]}"]
        assert holder.sis_id.startswith("PREV-U")
    for sourced in report["users"]["none"]:
        assert sourced not in state.users_by_sis
        assert f"user{sourced[1:]}" not in state.logins
