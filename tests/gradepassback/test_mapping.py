"""The pure Canvas → OneRoster gradebook mapping: exact payloads for each case."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest

from gradepassback import mapping
from gradepassback.mapping import (
    CategoryIndex,
    Options,
    Period,
    Problem,
    ProblemKind,
    Push,
    SkipReason,
)
from integration.canvas.types import AssignmentOverride, CanvasAssignment, CanvasSubmission

CHICAGO = ZoneInfo("America/Chicago")
OPTIONS = Options(district_slug="springfield", timezone=CHICAGO)
Q1 = Period("term-q1", "Q1", dt.date(2025, 8, 18), dt.date(2025, 10, 17))
Q2 = Period("term-q2", "Q2", dt.date(2025, 10, 20), dt.date(2025, 12, 19))
S1 = Period("term-s1", "S1", dt.date(2025, 8, 18), dt.date(2025, 12, 19))
DUE = dt.datetime(2025, 9, 12, 4, 59, tzinfo=dt.UTC)  # 23:59 on 11 September in Chicago
CREATED = dt.datetime(2025, 8, 1, 15, 0, tzinfo=dt.UTC)


def assignment(**fields: object) -> CanvasAssignment:
    base = CanvasAssignment(
        id=501,
        course_id=77,
        name="Essay: Causes and Effects",
        published=True,
        points_possible=100.0,
        grading_type="points",
        due_at=DUE,
        post_to_sis=True,
        assignment_group_id=9,
        kind="assignment",
        workflow_state="published",
        created_at=CREATED,
    )
    return replace(base, **fields)


def submission(**fields: object) -> CanvasSubmission:
    base = CanvasSubmission(
        id=9001,
        assignment_id=501,
        user_id=31,
        score=87.5,
        grade="87.5",
        excused=False,
        missing=False,
        late=False,
        workflow_state="graded",
        graded_at=dt.datetime(2025, 9, 14, 3, 30, tzinfo=dt.UTC),  # 13 Sept in Chicago
        posted_at=dt.datetime(2025, 9, 14, 3, 30, tzinfo=dt.UTC),
    )
    return replace(base, **fields)


# --- sourcedIds ----------------------------------------------------------------------------


def test_sourced_ids_are_stable_and_distinct_per_district_assignment_and_class():
    one = mapping.lineitem_sourced_id(
        district_slug="springfield", assignment_id=501, class_sourced_id="c1"
    )
    assert one == mapping.lineitem_sourced_id(
        district_slug="springfield", assignment_id=501, class_sourced_id="c1"
    )
    # Pinned: a change here would make every district's next passback duplicate lineItems.
    assert one == "70fb05db-c02e-57d7-b47b-ee2115ef1faa"
    others = {
        mapping.lineitem_sourced_id(
            district_slug="shelbyville", assignment_id=501, class_sourced_id="c1"
        ),
        mapping.lineitem_sourced_id(
            district_slug="springfield", assignment_id=502, class_sourced_id="c1"
        ),
        mapping.lineitem_sourced_id(
            district_slug="springfield", assignment_id=501, class_sourced_id="c2"
        ),
    }
    assert one not in others
    assert len(others) == 3
    result = mapping.result_sourced_id(
        district_slug="springfield", lineitem_sourced_id=one, student_sourced_id="s1"
    )
    assert result != mapping.result_sourced_id(
        district_slug="springfield", lineitem_sourced_id=one, student_sourced_id="s2"
    )


# --- lineItems -----------------------------------------------------------------------------


def test_lineitem_payload_for_a_flagged_assignment():
    mapped = mapping.lineitem_map(
        assignment=assignment(),
        class_sourced_id="class-1",
        periods=[S1, Q1, Q2],
        category="cat-hw",
        options=OPTIONS,
    )
    assert isinstance(mapped, Push)
    assert mapped.sourced_id == mapping.lineitem_sourced_id(
        district_slug="springfield", assignment_id=501, class_sourced_id="class-1"
    )
    assert mapped.payload == {
        "status": "active",
        "title": "Essay: Causes and Effects",
        # created 1 August, before Q1: moved to the start of the grading period (local).
        "assignDate": "2025-08-18T05:00:00Z",
        "dueDate": "2025-09-12T04:59:00Z",
        "class": {"sourcedId": "class-1", "type": "class"},
        "gradingPeriod": {"sourcedId": "term-q1", "type": "academicSession"},
        "category": {"sourcedId": "cat-hw", "type": "category"},
        "resultValueMin": 0.0,
        "resultValueMax": 100.0,
    }


def test_lineitem_without_category_leaves_it_to_the_sis_and_uses_unlock_date():
    unlock = dt.datetime(2025, 9, 1, 13, 0, tzinfo=dt.UTC)
    mapped = mapping.lineitem_map(
        assignment=assignment(unlock_at=unlock, points_possible=20.0),
        class_sourced_id="class-1",
        periods=[Q1],
        category=None,
        options=OPTIONS,
    )
    assert isinstance(mapped, Push)
    assert "category" not in mapped.payload
    assert mapped.payload["assignDate"] == "2025-09-01T13:00:00Z"
    assert mapped.payload["resultValueMax"] == 20.0


def test_due_date_uses_the_district_timezone_for_the_grading_period():
    # 04:30 UTC on 18 Oct is still 17 Oct in Chicago: the last day of Q1.
    due = dt.datetime(2025, 10, 18, 4, 30, tzinfo=dt.UTC)
    mapped = mapping.lineitem_map(
        assignment=assignment(due_at=due),
        class_sourced_id="c",
        periods=[Q1, Q2],
        category=None,
        options=OPTIONS,
    )
    assert isinstance(mapped, Push)
    assert mapped.payload["gradingPeriod"]["sourcedId"] == "term-q1"


def test_due_date_outside_every_period_is_a_problem_for_that_class():
    due = dt.datetime(2026, 7, 1, 17, 0, tzinfo=dt.UTC)
    mapped = mapping.lineitem_map(
        assignment=assignment(due_at=due),
        class_sourced_id="class-9",
        periods=[Q1, Q2],
        category=None,
        options=OPTIONS,
    )
    assert mapped == Problem(
        ProblemKind.DUE_OUTSIDE_PERIODS,
        "“Essay: Causes and Effects” is due 2026-07-01 12:00, which is outside every grading "
        "period of class class-9 (Q1 2025-08-18 to 2025-10-17, Q2 2025-10-20 to 2025-12-19). "
        "Move the due date into a grading period.",
        "class-9",
    )


def test_no_due_date_is_a_problem():
    problems = mapping.assignment_problems(assignment(due_at=None), options=OPTIONS)
    assert [p.kind for p in problems] == [ProblemKind.NO_DUE_DATE]
    assert problems[0].message.startswith("“Essay: Causes and Effects” has no due date.")


def test_differing_due_dates_per_section_are_a_problem_but_equal_ones_are_not():
    same = AssignmentOverride(id=1, course_section_id=5, due_at=DUE)
    later = AssignmentOverride(id=2, course_section_id=6, due_at=DUE + dt.timedelta(days=2))
    assert mapping.assignment_problems(assignment(overrides=(same,)), options=OPTIONS) == []
    problems = mapping.assignment_problems(assignment(overrides=(same, later)), options=OPTIONS)
    assert [p.kind for p in problems] == [ProblemKind.DIFFERING_DUE_DATES]
    assert "(2025-09-11 23:59, 2025-09-13 23:59)" in problems[0].message


def test_only_override_students_see_it_then_the_base_date_does_not_count():
    student_only = AssignmentOverride(id=3, student_ids=(31,), due_at=DUE)
    a = assignment(due_at=None, only_visible_to_overrides=True, overrides=(student_only,))
    assert mapping.assignment_problems(a, options=OPTIONS) == []


def test_long_title_is_a_problem_or_truncated_by_option():
    name = "Comparative Analysis of Primary Sources in the Industrial Age"
    assert len(name) == 61
    problems = mapping.assignment_problems(assignment(name=name), options=OPTIONS)
    assert problems == [
        Problem(
            ProblemKind.TITLE_TOO_LONG,
            f"“{name}” is 61 characters long; the SIS accepts at most 50. Shorten the name.",
        )
    ]
    truncating = replace(OPTIONS, truncate_titles=True)
    assert mapping.assignment_problems(assignment(name=name), options=truncating) == []
    mapped = mapping.lineitem_map(
        assignment=assignment(name=name),
        class_sourced_id="c",
        periods=[Q1],
        category=None,
        options=truncating,
    )
    assert isinstance(mapped, Push)
    assert mapped.payload["title"] == "Comparative Analysis of Primary Sources in the Ind"


def test_selection_published_and_flagged_or_all_graded():
    assert mapping.assignment_wanted(assignment(), options=OPTIONS)
    assert not mapping.assignment_wanted(assignment(published=False), options=OPTIONS)
    assert not mapping.assignment_wanted(assignment(post_to_sis=False), options=OPTIONS)
    all_graded = replace(OPTIONS, all_graded=True)
    assert mapping.assignment_wanted(assignment(post_to_sis=False), options=all_graded)
    assert not mapping.assignment_wanted(
        assignment(post_to_sis=False, grading_type="not_graded"), options=all_graded
    )
    flagged_no_points = assignment(points_possible=0.0)
    assert mapping.assignment_wanted(flagged_no_points, options=OPTIONS)
    assert [p.kind for p in mapping.assignment_problems(flagged_no_points, options=OPTIONS)] == [
        ProblemKind.NO_POINTS
    ]


@pytest.mark.parametrize("kind", ["assignment", "classic_quiz", "new_quiz", "discussion"])
def test_every_graded_kind_is_sent(kind):
    assert mapping.assignment_wanted(assignment(kind=kind), options=OPTIONS)


def test_categories_match_case_insensitively_with_overrides_first_and_a_default():
    index = CategoryIndex(
        categories=[
            ("cat-hw", "Homework"),
            ("cat-tests", "Tests"),
            ("00000000-0000-0000-0000-000000000000", "Grading Task"),
            ("11111111-1111-1111-111111111111", "Uncategorized"),
        ],
        overrides={"Canvas Extras": "cat-hw", "tests": "cat-override"},
    )
    assert index.resolve("HOMEWORK") == "cat-hw"
    assert index.resolve("  homework ") == "cat-hw"
    assert index.resolve("canvas extras") == "cat-hw"
    assert index.resolve("Tests") == "cat-override"
    assert index.resolve("Unknown group") == "11111111-1111-1111-111111111111"
    assert CategoryIndex(categories=[("a", "Homework")], overrides={}).resolve("Other") is None
    titled = CategoryIndex(categories=[("a", "Homework"), ("b", "Default")], overrides={})
    assert titled.resolve("Other") == "b"


def test_period_for_prefers_the_shortest_session():
    assert mapping.period_for([S1, Q2], dt.date(2025, 11, 3)) == Q2
    assert mapping.period_for([S1], dt.date(2025, 11, 3)) == S1
    assert mapping.period_for([Q1], dt.date(2026, 1, 3)) is None


# A class listing its semester (type term) only; the grades go to the semester's quarters
# (type gradingPeriod), its descendants in the SIS's session tree.
YEAR = Period("sy", "2025-2026", dt.date(2025, 8, 18), dt.date(2026, 5, 29), type="schoolYear")
TERM_S1 = Period("s1", "S1", dt.date(2025, 8, 18), dt.date(2025, 12, 19), type="term")
GP_Q1 = Period("q1", "Q1", dt.date(2025, 8, 18), dt.date(2025, 10, 17), "gradingPeriod", "s1")
GP_Q2 = Period("q2", "Q2", dt.date(2025, 10, 20), dt.date(2025, 12, 19), "gradingPeriod", "s1")


def test_period_for_prefers_a_grading_period_below_the_class_term():
    sessions = [TERM_S1, GP_Q1, GP_Q2]
    assert mapping.period_for(sessions, dt.date(2025, 9, 11)) == GP_Q1
    assert mapping.period_for(sessions, dt.date(2025, 11, 3)) == GP_Q2
    # A day in the term between its grading periods (a break): the narrowest term.
    assert mapping.period_for(sessions, dt.date(2025, 10, 18)) == TERM_S1


def test_period_for_prefers_a_grading_period_even_when_a_narrower_term_contains_the_day():
    short = Period("wk", "Week", dt.date(2025, 9, 8), dt.date(2025, 9, 12), type="term")
    assert mapping.period_for([short, TERM_S1, GP_Q1], dt.date(2025, 9, 11)) == GP_Q1


def test_period_for_falls_back_to_the_narrowest_class_term_not_another_descendant():
    semester = Period("s1", "S1", dt.date(2025, 8, 18), dt.date(2025, 12, 19), "semester", "sy")
    assert mapping.period_for([YEAR, semester], dt.date(2025, 9, 11)) == YEAR


def test_due_outside_periods_names_the_class_terms_only():
    late = assignment(due_at=dt.datetime(2026, 1, 20, 18, tzinfo=dt.UTC))
    problem = mapping.lineitem_map(
        assignment=late,
        class_sourced_id="class-1",
        periods=[TERM_S1, GP_Q1, GP_Q2],
        category=None,
        options=OPTIONS,
    )
    assert isinstance(problem, Problem)
    assert "(S1 2025-08-18 to 2025-12-19)" in problem.message


def test_grading_sessions_are_the_terms_grading_periods_else_the_terms():
    s2 = Period("s2", "S2", dt.date(2026, 1, 5), dt.date(2026, 5, 29), type="term")
    assert mapping.grading_sessions([TERM_S1, s2, GP_Q1, GP_Q2]) == (GP_Q1, GP_Q2, s2)
    assert mapping.grading_sessions([Q1, Q2]) == (Q1, Q2)
    # A class listing a quarter and its semester: each quarter once.
    own_q1 = replace(GP_Q1, term="")
    assert mapping.grading_sessions([TERM_S1, own_q1, GP_Q2]) == (GP_Q2, own_q1)


# --- results -------------------------------------------------------------------------------

LI = "lineitem-1"


def result(sub: CanvasSubmission, options: Options = OPTIONS) -> Push | SkipReason:
    return mapping.result_map(
        submission=sub,
        lineitem_sourced_id=LI,
        student_sourced_id="s31",
        due_at=DUE,
        points_possible=100.0,
        options=options,
    )


def test_graded_result_payload():
    mapped = result(submission())
    assert isinstance(mapped, Push)
    assert mapped.sourced_id == mapping.result_sourced_id(
        district_slug="springfield", lineitem_sourced_id=LI, student_sourced_id="s31"
    )
    assert mapped.payload == {
        "status": "active",
        "lineItem": {"sourcedId": LI, "type": "lineItem"},
        "student": {"sourcedId": "s31", "type": "user"},
        "scoreStatus": "fully graded",
        "score": 87.5,
        "scoreDate": "2025-09-13",
    }


def test_excused_is_exempt_and_never_a_zero():
    mapped = result(submission(score=None, excused=True, grade="EX"))
    assert isinstance(mapped, Push)
    assert mapped.payload == {
        "status": "active",
        "lineItem": {"sourcedId": LI, "type": "lineItem"},
        "student": {"sourcedId": "s31", "type": "user"},
        "scoreStatus": "exempt",
        # 1.1 requires a number: the points possible, so an ignored flag cannot mean a 0.
        "score": 100.0,
        "scoreDate": "2025-09-13",
    }
    # Even when Canvas still carries an old 0 on an excused submission.
    mapped = result(submission(score=0.0, excused=True))
    assert isinstance(mapped, Push)
    assert (mapped.payload["scoreStatus"], mapped.payload["score"]) == ("exempt", 100.0)


def test_missing_is_not_submitted_dated_by_due_day_or_skipped_by_option():
    missing = submission(
        score=None, missing=True, workflow_state="unsubmitted", graded_at=None, posted_at=None
    )
    mapped = result(missing)
    assert isinstance(mapped, Push)
    assert mapped.payload == {
        "status": "active",
        "lineItem": {"sourcedId": LI, "type": "lineItem"},
        "student": {"sourcedId": "s31", "type": "user"},
        "scoreStatus": "not submitted",
        "score": 0.0,
        "scoreDate": "2025-09-11",
    }
    assert result(missing, replace(OPTIONS, send_missing=False)) is SkipReason.MISSING_SKIPPED


def test_submitted_but_ungraded_is_not_sent_and_hidden_grades_wait():
    waiting = submission(score=None, workflow_state="submitted", graded_at=None, posted_at=None)
    assert result(waiting) is SkipReason.UNGRADED
    hidden = submission(posted_at=None)
    assert result(hidden) is SkipReason.HIDDEN
    sent = result(hidden, replace(OPTIONS, only_posted=False))
    assert isinstance(sent, Push)
    assert sent.payload["score"] == 87.5


def test_a_resubmission_keeps_the_last_score():
    mapped = result(submission(workflow_state="submitted"))
    assert isinstance(mapped, Push)
    assert mapped.payload["scoreStatus"] == "fully graded"


def test_hash_ignores_date_last_modified_only():
    mapped = result(submission())
    assert isinstance(mapped, Push)
    stamped = {**mapped.payload, "dateLastModified": "2030-01-01T00:00:00Z"}
    assert mapping.payload_hash(stamped) == mapped.hash
    changed = result(submission(score=88.0))
    assert isinstance(changed, Push)
    assert changed.hash != mapped.hash


# --- course grades -------------------------------------------------------------------------


def test_course_grade_lineitem_payload():
    push = mapping.course_grade_lineitem_map(
        class_sourced_id="class-1", period=Q2, category=None, options=OPTIONS
    )
    assert push.payload == {
        "status": "active",
        "title": "Course grade – Q2",  # noqa: RUF001 - the title the district sees
        "assignDate": "2025-10-20T05:00:00Z",
        "dueDate": "2025-12-20T05:59:00Z",
        "class": {"sourcedId": "class-1", "type": "class"},
        "gradingPeriod": {"sourcedId": "term-q2", "type": "academicSession"},
        "resultValueMin": 0.0,
        "resultValueMax": 100.0,
    }


def test_course_score_prefers_the_override():
    enrollment = {"grades": {"current_score": 81.5, "override_score": 90.0}}
    assert mapping.course_score(enrollment, only_posted=True) == 90.0
    enrollment = {"grades": {"current_score": 81.5, "unposted_current_score": 79.0}}
    assert mapping.course_score(enrollment, only_posted=True) == 81.5
    assert mapping.course_score(enrollment, only_posted=False) == 79.0
    assert mapping.course_score({"grades": {}}, only_posted=True) is None


def test_course_score_is_never_a_nan_or_an_infinity():
    """What is not a finite number is skipped for the next source, as an unreadable one is."""
    enrollment = {"grades": {"override_score": "NaN", "current_score": "81.5"}}
    assert mapping.course_score(enrollment, only_posted=True) == 81.5
    enrollment = {"grades": {"current_score": "Infinity"}}
    assert mapping.course_score(enrollment, only_posted=True) is None


def test_course_grade_score_date_is_not_a_change():
    def push(day: dt.date) -> Push:
        return mapping.result_push(
            lineitem_sourced_id=LI,
            student_sourced_id="s31",
            status=mapping.ScoreStatus.FULLY_GRADED,
            score=91.0,
            day=day,
            options=OPTIONS,
            dated_by_run=True,
        )

    assert push(dt.date(2025, 11, 1)).hash == push(dt.date(2025, 11, 2)).hash


def test_percent_scaled_to_a_grading_task_scale():
    assert mapping.scale_percent(85.0, low=0.0, high=100.0) == 85.0
    assert mapping.scale_percent(85.0, low=0.0, high=4.0) == pytest.approx(3.4)
    assert mapping.scale_percent(85.0, low=0.0, high=0.0) == 85.0
