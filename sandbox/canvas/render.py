"""The simulated Canvas's JSON objects, as Canvas's API renders them (``*_json``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sandbox.canvas import coursework
from sandbox.canvas.imports import iso
from sandbox.canvas.records import (
    ENROLLMENT_STATE_CODES,
    ENROLLMENT_STATES,
    OBSERVER,
    STUDENT,
    TYPE_NAMES,
    Course,
    Section,
    User,
    enrollment_id,
)
from sandbox.canvas.state import CanvasState


def course_state(course: Course) -> str:
    return (
        "unpublished" if course.workflow_state in ("created", "claimed") else course.workflow_state
    )


def course_json(
    state: CanvasState, course: Course, include: frozenset[str] = frozenset()
) -> dict[str, Any]:
    body = {
        "id": course.id,
        "name": course.name,
        "course_code": course.course_code,
        "workflow_state": course_state(course),
        "account_id": course.account_id,
        "root_account_id": state.root.id,
        "enrollment_term_id": course.term_id,
        "sis_course_id": course.sis_id,
        "integration_id": course.integration_id,
        "sis_import_id": course.sis_import_id,
        "start_at": course.start_at,
        "end_at": course.end_at,
        "restrict_enrollments_to_course_dates": course.restrict_dates,
        "uuid": f"sandbox-course-{course.id}",
    }
    if "term" in include:
        term = state.terms[course.term_id]
        body["term"] = {
            "id": term.id,
            "name": term.name,
            "start_at": term.start_at,
            "end_at": term.end_at,
            "workflow_state": term.workflow_state,
        }
    if "total_students" in include:
        body["total_students"] = len(state.course_student_ids(course))
    return body


def section_json(
    state: CanvasState, section: Section, include: frozenset[str] = frozenset()
) -> dict[str, Any]:
    course = state.courses[section.course_id]
    body: dict[str, Any] = {
        "id": section.id,
        "name": section.name,
        "course_id": section.course_id,
        "sis_section_id": section.sis_id,
        "sis_course_id": course.sis_id,
        "integration_id": section.integration_id,
        "nonxlist_course_id": section.nonxlist_course_id,
        "start_at": section.start_at,
        "end_at": section.end_at,
        "restrict_enrollments_to_section_dates": bool(section.start_at or section.end_at),
        "sis_import_id": section.sis_import_id,
    }
    if include & {"students", "total_students"}:
        students = [
            state.users[user_id]
            for user_id, code in section.enrollments.get(STUDENT, {}).items()
            if code == ENROLLMENT_STATE_CODES["active"]
        ]
        if "students" in include:
            # Canvas sends null, not [], for a section without students.
            body["students"] = [user_json(u) for u in students] or None
        if "total_students" in include:
            body["total_students"] = len(students)
    return body


def user_json(user: User, *, email: bool = False) -> dict[str, Any]:
    body = {
        "id": user.id,
        "name": user.name,
        "sortable_name": user.sortable_name or user.name,
        "short_name": user.short_name or user.name,
        "sis_user_id": user.sis_id,
        "integration_id": user.integration_id,
        "sis_import_id": user.sis_import_id,
        "login_id": user.login_id,
    }
    if email:
        body["email"] = user.email
    return body


def account_json(state: CanvasState, account_id: int) -> dict[str, Any]:
    account = state.accounts[account_id]
    root = account is state.root
    return {
        "id": account.id,
        "name": account.name,
        "uuid": f"sandbox-account-{account.id}",
        "parent_account_id": account.parent_id,
        "root_account_id": None if root else state.root.id,
        "workflow_state": account.workflow_state,
        "sis_account_id": account.sis_id,
        "integration_id": account.integration_id,
        "sis_import_id": account.sis_import_id,
        "default_time_zone": "America/Chicago",
    }


def term_json(state: CanvasState, term_id: int) -> dict[str, Any]:
    term = state.terms[term_id]
    return {
        "id": term.id,
        "name": term.name,
        "sis_term_id": term.sis_id,
        "sis_import_id": term.sis_import_id,
        "start_at": term.start_at,
        "end_at": term.end_at,
        "workflow_state": term.workflow_state,
        "integration_id": term.integration_id,
        "overrides": {
            kind: {"start_at": start, "end_at": end}
            for kind, (start, end) in (term.overrides or {}).items()
        },
    }


def assignment_json(
    state: CanvasState, assignment: Any, *, include: set[str], base_url: str
) -> dict[str, Any]:
    kind = assignment.kind
    submission_types = {
        "classic_quiz": ["online_quiz"],
        "new_quiz": ["external_tool"],
        "discussion": ["discussion_topic"],
    }.get(kind, ["online_upload", "online_text_entry"])
    body: dict[str, Any] = {
        "id": assignment.id,
        "name": assignment.name,
        "course_id": assignment.course_id,
        "assignment_group_id": assignment.assignment_group_id,
        "position": assignment.position,
        "points_possible": assignment.points_possible,
        "grading_type": assignment.grading_type,
        "due_at": iso(assignment.due_at),
        "unlock_at": None,
        "lock_at": None,
        "published": assignment.published,
        "workflow_state": "published" if assignment.published else "unpublished",
        "post_to_sis": assignment.post_to_sis,
        "submission_types": submission_types,
        "omit_from_final_grade": assignment.omit_from_final_grade,
        "only_visible_to_overrides": False,
        "has_overrides": bool(assignment.section_due_dates),
        "is_quiz_assignment": kind == "classic_quiz",
        "is_quiz_lti_assignment": kind == "new_quiz",
        "quiz_id": assignment.quiz_id,
        "created_at": iso(assignment.created_at),
        "updated_at": iso(assignment.updated_at),
        "html_url": f"{base_url}/courses/{assignment.course_id}/assignments/{assignment.id}",
        "sis_assignment_id": None,
        "integration_id": None,
    }
    if assignment.discussion_topic_id:
        body["discussion_topic"] = {
            "id": assignment.discussion_topic_id,
            "title": assignment.name,
            "assignment_id": assignment.id,
        }
    overrides = [
        {
            "id": assignment.id * 100 + index,
            "assignment_id": assignment.id,
            "title": state.sections[section_id].name,
            "course_section_id": section_id,
            "due_at": iso(due),
            "unlock_at": None,
            "lock_at": None,
        }
        for index, (section_id, due) in enumerate(sorted(assignment.section_due_dates.items()))
    ]
    if "overrides" in include:
        body["overrides"] = overrides
    if "all_dates" in include:
        dates = [
            {"id": o["id"], "title": o["title"], "due_at": o["due_at"], "set_type": "CourseSection"}
            for o in overrides
        ]
        dates.append({"base": True, "title": "Everyone else", "due_at": iso(assignment.due_at)})
        body["all_dates"] = dates
    return body


def submission_json(state: CanvasState, submission: Any, *, include: set[str]) -> dict[str, Any]:
    assignment = state.assignments[submission.assignment_id]
    late = submission.late_policy_status == "late"
    missing = submission.late_policy_status == "missing"
    body: dict[str, Any] = {
        "id": submission.id,
        "assignment_id": submission.assignment_id,
        "user_id": submission.user_id,
        "score": submission.score,
        "grade": None if submission.score is None else _number(submission.score),
        "entered_score": submission.score,
        "excused": submission.excused,
        "late": late,
        "missing": missing,
        "late_policy_status": submission.late_policy_status,
        "seconds_late": submission.seconds_late,
        "points_deducted": None,
        "workflow_state": submission.workflow_state,
        "submitted_at": iso(submission.submitted_at),
        "graded_at": iso(submission.graded_at),
        "posted_at": iso(submission.posted_at),
        "attempt": 1 if submission.submitted_at else None,
        "grade_matches_current_submission": True,
        "cached_due_date": iso(assignment.due_at),
    }
    if submission.excused:
        body["grade"] = "EX"
    if "visibility" in include:
        body["assignment_visible"] = True
    if "user" in include:
        body["user"] = user_json(state.users[submission.user_id])
    if "assignment" in include:
        body["assignment"] = {"id": assignment.id, "name": assignment.name}
    return body


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def period_json(period: Any, now: dt.datetime, is_last: bool) -> dict[str, Any]:
    return {
        "id": period.id,
        "title": period.title,
        "start_date": iso(period.start_date),
        "end_date": iso(period.end_date),
        "close_date": iso(period.close_date),
        "weight": period.weight,
        "is_closed": period.close_date < now,
        "is_last": is_last,
    }


def enrollment_json(
    state: CanvasState,
    course: Course,
    section: Section,
    type_code: int,
    key: Any,
    state_code: int,
    period: Any,
    now: dt.datetime,
    base_url: str,
) -> dict[str, Any]:
    """An Enrollment object; a student's carries ``grades`` (for ``period`` when given)."""
    user_id = key[0] if type_code == OBSERVER else key
    user = state.users[user_id]
    body = {
        "id": enrollment_id(section.id, type_code, user_id),
        "course_id": course.id,
        "course_section_id": section.id,
        "user_id": user_id,
        "associated_user_id": key[1] if type_code == OBSERVER else None,
        "type": TYPE_NAMES[type_code],
        "role": TYPE_NAMES[type_code],
        "role_id": type_code + 1,
        "enrollment_state": ENROLLMENT_STATES[state_code],
        "limit_privileges_to_course_section": False,
        "sis_course_id": course.sis_id,
        "sis_section_id": section.sis_id,
        "sis_user_id": user.sis_id,
        "course_integration_id": course.integration_id,
        "section_integration_id": section.integration_id,
        "root_account_id": state.root.id,
        "html_url": f"{base_url}/courses/{course.id}/users/{user_id}",
        "user": {
            "id": user.id,
            "name": user.name,
            "sortable_name": user.sortable_name or user.name,
            "short_name": user.short_name or user.name,
            "sis_user_id": user.sis_id,
            "login_id": user.login_id,
        },
    }
    if type_code == STUDENT:
        periods = coursework.course_periods(state, course)
        body["grades"] = coursework.course_grades(
            state, course, user_id, section.id, period, base_url=base_url
        )
        body["has_grading_periods"] = bool(periods)
        body["totals_for_all_grading_periods_option"] = True
        current = current_period(periods, now)
        body["current_grading_period_id"] = current.id if current else None
        body["current_grading_period_title"] = current.title if current else None
    return body


def quiz_json(assignment: Any, base_url: str) -> dict[str, Any]:
    return {
        "id": assignment.quiz_id,
        "title": assignment.name,
        "html_url": f"{base_url}/courses/{assignment.course_id}/quizzes/{assignment.quiz_id}",
        "quiz_type": "assignment",
        "assignment_id": assignment.id,
        "assignment_group_id": assignment.assignment_group_id,
        "points_possible": assignment.points_possible,
        "due_at": iso(assignment.due_at),
        "published": assignment.published,
    }


def discussion_json(assignment: Any, base_url: str) -> dict[str, Any]:
    topic = assignment.discussion_topic_id
    return {
        "id": topic,
        "title": assignment.name,
        "html_url": f"{base_url}/courses/{assignment.course_id}/discussion_topics/{topic}",
        "assignment_id": assignment.id,
        "published": assignment.published,
        "discussion_type": "threaded",
    }


def current_period(periods: list, now: dt.datetime):
    return next((p for p in periods if p.start_date <= now <= p.end_date), None)
