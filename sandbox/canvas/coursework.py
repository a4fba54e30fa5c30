"""Seeding the simulated Canvas: coursework, score changes and a "previous SIS" population.

These are the functions behind the ``/_sandbox/canvas/`` controls, importable for
in-process tests. All of them are deterministic for a given state and ``seed``.

``coursework_teach`` gives every provisioned course the cases grade passback must handle:
a points assignment flagged for SIS, a graded classic quiz, a graded discussion, a New
Quiz, one not flagged, one unpublished, one without a due date, one with a 60-character
name, a differentiated one with per-section due dates and one in an assignment group that
matches no SIS category; submissions graded, excused, missing, late, unposted and
submitted-but-ungraded; grading periods from the district's quarters; final-grade overrides.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sandbox.canvas.records import (
    E_ACTIVE,
    E_COMPLETED,
    E_INACTIVE,
    ENROLLMENT_STATES,
    ROLE_BY_TYPE,
    Assignment,
    AssignmentGroup,
    Course,
    GradingPeriod,
    Submission,
)
from sandbox.canvas.store import CanvasData

DEFAULT_CATEGORIES = ("Homework", "Quizzes", "Tests", "Projects")
#: An assignment group whose name matches no SIS category (passback uses the default).
UNMATCHED_GROUP = "Canvas Extras"
LONG_NAME = "Comparing Primary Sources: Labor and Industry, 1870 to 1910s"
assert len(LONG_NAME) == 60


@dataclass(frozen=True, slots=True)
class _Spec:
    name: str
    kind: str
    points: float
    group: int  # index into the course's groups; -1 = the unmatched group
    period: int | None  # grading period index for the due date; None = no due date
    post_to_sis: bool = True
    published: bool = True
    differentiated: bool = False


SPECS = (
    _Spec("Essay: Causes and Effects", "assignment", 100, 0, 0),
    _Spec("Unit 1 Quiz", "classic_quiz", 20, 1, 0),
    _Spec("Discussion: Reading Response", "discussion", 10, 0, 1),
    _Spec("Chapter Test", "new_quiz", 50, 2, 1),
    _Spec("Practice Worksheet", "assignment", 10, 0, 0, post_to_sis=False),
    _Spec("Draft Project Proposal", "assignment", 25, 3, 1, published=False),
    _Spec("Class Participation", "assignment", 5, 0, None),
    _Spec(LONG_NAME, "assignment", 40, 3, 1),
    _Spec("Lab Report", "assignment", 30, 3, 0, differentiated=True),
    _Spec("Bonus Reflection", "assignment", 5, -1, 1),
)


# --- grading periods ---------------------------------------------------------------------


def _day(value: str | dt.date) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def _period(state: CanvasData, title: str, start: dt.date, end: dt.date) -> GradingPeriod:
    start_at = dt.datetime.combine(start, dt.time.min, tzinfo=dt.UTC)
    end_at = dt.datetime.combine(end, dt.time(23, 59, 59), tzinfo=dt.UTC)
    return GradingPeriod(
        id=state.new_period_id(),
        title=title,
        start_date=start_at,
        end_date=end_at,
        close_date=end_at + dt.timedelta(days=7),
    )


def _quarters(start: dt.date, end: dt.date) -> list[tuple[str, dt.date, dt.date]]:
    span = max(4, (end - start).days + 1)
    edges = [start + dt.timedelta(days=span * i // 4) for i in range(5)]
    return [(f"Quarter {i + 1}", edges[i], edges[i + 1] - dt.timedelta(days=1)) for i in range(4)]


def _course_window(state: CanvasData, course: Course) -> tuple[dt.date, dt.date]:
    """The term's dates, else the course's, else the school year around today."""
    term = state.terms.get(course.term_id)
    candidates = [(course.start_at, course.end_at)]
    if term is not None:
        candidates.insert(0, (term.start_at, term.end_at))
    for start, end in candidates:
        if start and end:
            return _day(start), _day(end)
    today = state.now().date()
    year = today.year if today.month >= 7 else today.year - 1
    return dt.date(year, 8, 15), dt.date(year + 1, 6, 5)


def grading_periods_for(
    state: CanvasData,
    course: Course,
    quarters_by_account: Mapping[str, list[Mapping[str, str]]] | None = None,
) -> list[GradingPeriod]:
    """The course's grading periods: its school's quarters when given, else four
    quarters of its term (or course) dates. Periods are shared per school or term, like
    an account-level grading period set."""
    existing = state.course_period_set.get(course.id)
    if existing is not None:
        return state.period_sets[existing]
    account = state.accounts.get(course.account_id)
    given = (quarters_by_account or {}).get(account.sis_id or "") if account else None
    if given:
        key = f"account:{account.sis_id}" if account else f"course:{course.id}"
        if key not in state.period_sets:
            state.period_sets[key] = [
                _period(state, q["title"], _day(q["start_date"]), _day(q["end_date"]))
                for q in given
            ]
    else:
        key = f"term:{course.term_id}"
        if key not in state.period_sets:
            start, end = _course_window(state, course)
            state.period_sets[key] = [
                _period(state, title, q_start, q_end)
                for title, q_start, q_end in _quarters(start, end)
            ]
    state.course_period_set[course.id] = key
    return state.period_sets[key]


def course_periods(state: CanvasData, course: Course) -> list[GradingPeriod]:
    key = state.course_period_set.get(course.id)
    return state.period_sets.get(key, []) if key else []


# --- teach ---------------------------------------------------------------------------------


def _due(period: GradingPeriod, offset_days: int) -> dt.datetime:
    due = period.start_date + dt.timedelta(days=14 + offset_days, hours=23, minutes=59)
    return min(due, period.end_date)


#: Courses taught when neither ``course_ids`` nor ``limit`` is given. Teaching all 75 k
#: courses of the large district would mean ~19 M submissions (several GB).
DEFAULT_TEACH_LIMIT = 2_000


def _taught_courses(
    state: CanvasData, course_ids: Iterable[str] | None, limit: int | None
) -> tuple[list[Course], int]:
    """(courses to teach, how many provisioned courses the limit left out)."""
    wanted = set(course_ids) if course_ids is not None else None
    courses = [
        course
        for course in state.courses.values()
        if course.origin == "sis"
        and course.workflow_state != "deleted"
        and course.id not in state.course_assignments
        and (wanted is None or course.sis_id in wanted)
    ]
    courses.sort(key=lambda course: course.id)
    if limit is None and wanted is None:
        limit = DEFAULT_TEACH_LIMIT
    if limit is None:
        return courses, 0
    return courses[:limit], max(0, len(courses) - limit)


def coursework_teach(
    state: CanvasData,
    *,
    quarters_by_account: Mapping[str, list[Mapping[str, str]]] | None = None,
    course_ids: Iterable[str] | None = None,
    limit: int | None = None,
    seed: int = 0,
    categories: Iterable[str] = DEFAULT_CATEGORIES,
) -> dict[str, int]:
    """Seed coursework into provisioned courses that have none yet; returns counts.

    Without ``course_ids`` or ``limit`` at most ``DEFAULT_TEACH_LIMIT`` courses are taught;
    ``untaught`` says how many were left for a later call.
    """
    names = list(categories) or list(DEFAULT_CATEGORIES)
    rng = random.Random(seed)
    totals = {"courses": 0, "assignments": 0, "submissions": 0, "grade_overrides": 0}
    with state.lock:
        now = state.now()
        courses, totals["untaught"] = _taught_courses(state, course_ids, limit)
        for course in courses:
            periods = grading_periods_for(state, course, quarters_by_account)
            groups = [
                AssignmentGroup(state.new_group_id(), course.id, name, position)
                for position, name in enumerate([*names, UNMATCHED_GROUP], 1)
            ]
            state.assignment_groups[course.id] = groups
            students = sorted(state.course_student_ids(course).items())
            sections = [
                state.sections[sid]
                for sid in course.section_ids
                if state.sections[sid].course_id == course.id
                and state.sections[sid].workflow_state == "active"
            ]
            state.course_assignments[course.id] = []
            for position, spec in enumerate(SPECS, 1):
                assignment = _assignment(state, course, spec, position, groups, periods, sections)
                state.assignments[assignment.id] = assignment
                state.course_assignments[course.id].append(assignment.id)
                totals["assignments"] += 1
                if assignment.published:
                    totals["submissions"] += _submissions(state, assignment, students, rng, now)
            totals["grade_overrides"] += _overrides(state, course, students, periods, rng)
            totals["courses"] += 1
        state.touch()
    return totals


def _assignment(
    state: CanvasData,
    course: Course,
    spec: _Spec,
    position: int,
    groups: list[AssignmentGroup],
    periods: list[GradingPeriod],
    sections: list[Any],
) -> Assignment:
    now = state.now()
    period = periods[spec.period % len(periods)] if spec.period is not None and periods else None
    due = _due(period, position) if period is not None else None
    assignment = Assignment(
        id=state.new_assignment_id(),
        course_id=course.id,
        name=spec.name,
        kind=spec.kind,
        points_possible=float(spec.points),
        grading_type="points",
        due_at=due,
        published=spec.published,
        post_to_sis=spec.post_to_sis,
        assignment_group_id=groups[spec.group].id,
        position=position,
        created_at=now,
        updated_at=now,
    )
    if spec.kind == "classic_quiz":
        assignment.quiz_id = assignment.id + 100_000
    if spec.kind == "discussion":
        assignment.discussion_topic_id = assignment.id + 200_000
    if spec.differentiated and due is not None:
        for index, section in enumerate(sections):
            assignment.section_due_dates[section.id] = due + dt.timedelta(days=2 * index)
    return assignment


def _submissions(
    state: CanvasData,
    assignment: Assignment,
    students: list[tuple[int, int]],
    rng: random.Random,
    now: dt.datetime,
) -> int:
    points = assignment.points_possible
    by_user: dict[int, Submission] = {}
    graded_at = now - dt.timedelta(days=2)
    for index, (user_id, _section_id) in enumerate(students):
        # The first six students rotate through every outcome from one assignment to the
        # next, so even a class of one sees them all; the rest are mostly graded.
        roll = (index + assignment.position) % 6 if index < 6 else int(rng.random() * 20)
        score: float | None = round(points * rng.uniform(0.55, 1.0), 1)
        excused = False
        late_status: str | None = None
        workflow = "graded"
        submitted_at: dt.datetime | None = graded_at - dt.timedelta(hours=3)
        posted_at: dt.datetime | None = graded_at
        seconds_late = 0
        if roll == 0:
            score, excused = None, True
        elif roll == 1:
            score, late_status, workflow, submitted_at = None, "missing", "unsubmitted", None
            posted_at = None
        elif roll == 2:
            late_status, seconds_late = "late", 86_400
            score = round((score or 0) * 0.9, 1)
        elif roll == 3:
            posted_at = None
        elif roll == 4:
            score, workflow, posted_at = None, "submitted", None
        by_user[user_id] = Submission(
            id=state.new_submission_id(),
            assignment_id=assignment.id,
            user_id=user_id,
            score=score,
            excused=excused,
            late_policy_status=late_status,
            workflow_state=workflow,
            submitted_at=submitted_at,
            graded_at=graded_at if workflow == "graded" else None,
            posted_at=posted_at,
            seconds_late=seconds_late,
        )
    state.submissions[assignment.id] = by_user
    return len(by_user)


def _overrides(
    state: CanvasData,
    course: Course,
    students: list[tuple[int, int]],
    periods: list[GradingPeriod],
    rng: random.Random,
) -> int:
    made = 0
    for period in [None, *periods[:2]]:
        for index, (user_id, _section) in enumerate(students):
            if index == 1 or rng.random() < 0.1:
                key = (course.id, period.id if period else None, user_id)
                state.grade_overrides[key] = float(80 + (user_id + made) % 15)
                made += 1
    return made


# --- course grades -------------------------------------------------------------------------


def assignment_due_for(state: CanvasData, assignment: Assignment, section_id: int):
    return assignment.section_due_dates.get(section_id, assignment.due_at)


def course_grades(
    state: CanvasData,
    course: Course,
    user_id: int,
    section_id: int,
    period: GradingPeriod | None,
    *,
    base_url: str,
) -> dict[str, Any]:
    """Canvas's enrollment ``grades`` for a student, overall or for one grading period.

    current = graded work only; final = ungraded work counts as zero; unposted_* include
    grades hidden by the post policy. Excused work counts in neither.
    """
    earned = possible = 0.0
    earned_all = possible_all = 0.0
    final_earned = final_possible = 0.0
    for assignment_id in state.course_assignments.get(course.id, []):
        assignment = state.assignments[assignment_id]
        if not assignment.published or assignment.omit_from_final_grade:
            continue
        due = assignment_due_for(state, assignment, section_id)
        if period is not None and (due is None or not period.start_date <= due <= period.end_date):
            continue
        submission = state.submissions.get(assignment_id, {}).get(user_id)
        if submission is None or submission.excused:
            continue
        points = assignment.points_possible
        graded = submission.workflow_state == "graded" and submission.score is not None
        if graded:
            earned_all += submission.score or 0.0
            possible_all += points
            if submission.posted_at is not None:
                earned += submission.score or 0.0
                possible += points
                final_earned += submission.score or 0.0
        final_possible += points

    def pct(numerator: float, denominator: float) -> float | None:
        return round(numerator * 100 / denominator, 2) if denominator else None

    override = state.grade_overrides.get((course.id, period.id if period else None, user_id))
    return {
        "html_url": f"{base_url}/courses/{course.id}/grades/{user_id}",
        "current_score": pct(earned, possible),
        "current_grade": None,
        "final_score": pct(final_earned, final_possible) if final_possible else 0.0,
        "final_grade": None,
        "unposted_current_score": pct(earned_all, possible_all),
        "unposted_current_grade": None,
        "unposted_final_score": pct(earned_all, final_possible) if final_possible else 0.0,
        "unposted_final_grade": None,
        "override_score": override,
        "override_grade": None,
    }


# --- scores --------------------------------------------------------------------------------


def scores_change(
    state: CanvasData, *, count: int, seed: int = 0, course_ids: Iterable[str] | None = None
) -> dict[str, Any]:
    """Change ``count`` graded scores (new value, graded and posted now), deterministically."""
    rng = random.Random(seed)
    wanted = set(course_ids) if course_ids is not None else None
    changes = []
    with state.lock:
        now = state.now()
        candidates = []
        for assignment_id in sorted(state.submissions):
            assignment = state.assignments[assignment_id]
            course = state.courses[assignment.course_id]
            if wanted is not None and course.sis_id not in wanted:
                continue
            for user_id in sorted(state.submissions[assignment_id]):
                submission = state.submissions[assignment_id][user_id]
                if submission.workflow_state == "graded" and submission.score is not None:
                    candidates.append((course, assignment, submission))
        for course, assignment, submission in rng.sample(candidates, min(count, len(candidates))):
            old = submission.score
            new = old
            while new == old:
                new = round(assignment.points_possible * rng.uniform(0.4, 1.0), 1)
            submission.score = new
            submission.graded_at = now
            if submission.posted_at is not None:
                submission.posted_at = now
            user = state.users[submission.user_id]
            changes.append(
                {
                    "course_sis_id": course.sis_id,
                    "assignment_id": assignment.id,
                    "user_id": user.id,
                    "sis_user_id": user.sis_id,
                    "old_score": old,
                    "new_score": new,
                }
            )
        state.touch()
    return {"changed": len(changes), "changes": changes}


# --- previous SIS population ---------------------------------------------------------------

USER_FRACTIONS = {"same_sis_id": 0.3, "same_login": 0.2, "same_email": 0.2}
COURSE_FRACTIONS = {"same_sis_id": 0.5}


def _field(record: Mapping[str, Any], *names: str) -> str:
    for name in names:
        value = record.get(name)
        if value:
            return str(value)
    return ""


def _split(items: list, fractions: Mapping[str, float], rng: random.Random) -> dict[str, list]:
    shuffled = list(items)
    rng.shuffle(shuffled)
    out: dict[str, list] = {}
    start = 0
    for name, share in fractions.items():
        size = round(len(shuffled) * share)
        out[name] = shuffled[start : start + size]
        start += size
    out["none"] = shuffled[start:]
    return out


def previous_sis_seed(
    state: CanvasData,
    *,
    users: Iterable[Mapping[str, Any]],
    classes: Iterable[Mapping[str, Any]] = (),
    seed: int = 0,
    user_fractions: Mapping[str, float] | None = None,
    course_fractions: Mapping[str, float] | None = None,
    orphans: int | None = None,
) -> dict[str, Any]:
    """Seed users and courses "left by a previous SIS integration", overlapping the given
    OneRoster users and classes in controlled ways.

    Users: ``same_sis_id`` (Canvas already has the sourcedId as SIS id, with an old login),
    ``same_login`` (the OneRoster username is a login under another SIS id),
    ``same_email`` (only the e-mail address matches), ``none``; plus ``orphans`` matching
    nobody. Courses: ``same_sis_id``, ``none`` and orphans. Returns which OneRoster
    sourcedIds fell in which group, for tests to check an evaluation report against.
    """
    rng = random.Random(seed)
    people = [dict(u) for u in users]
    rooms = [dict(c) for c in classes]
    user_groups = _split(people, user_fractions or USER_FRACTIONS, rng)
    course_groups = _split(rooms, course_fractions or COURSE_FRACTIONS, rng)
    orphan_count = orphans if orphans is not None else max(1, len(people) // 10)
    report: dict[str, Any] = {"users": {}, "courses": {}}
    with state.lock:
        serial = 0

        def previous_user(sis_id: str, login: str, name: str, email: str | None) -> None:
            if sis_id in state.users_by_sis or login.lower() in state.logins:
                return
            user = state.add_user(sis_id, login, name)
            user.sortable_name = ", ".join(reversed(name.split(" ", 1))) if " " in name else name
            user.email = email
            user.origin = "previous"

        for group, members in user_groups.items():
            ids = []
            for person in members:
                serial += 1
                sourced = _field(person, "sourcedId", "sourced_id")
                username = _field(person, "username", "login_id") or f"user{serial}"
                email = _field(person, "email") or None
                name = (
                    " ".join(
                        part
                        for part in (
                            _field(person, "givenName", "given_name"),
                            _field(person, "familyName", "family_name"),
                        )
                        if part
                    )
                    or username
                )
                if group == "same_sis_id":
                    previous_user(sourced, f"legacy-{username}", name, email)
                elif group == "same_login":
                    previous_user(f"PREV-U{serial:06d}", username, name, None)
                elif group == "same_email":
                    previous_user(f"PREV-U{serial:06d}", f"legacy{serial:06d}", name, email)
                ids.append(sourced)
            report["users"][group] = ids
        orphan_ids = []
        for index in range(orphan_count):
            sis_id = f"PREV-ORPHAN-U{index + 1:05d}"
            previous_user(
                sis_id,
                f"orphan{index + 1:05d}",
                f"Former Student{index + 1:05d}",
                f"orphan{index + 1:05d}@previous-sis.example.org",
            )
            orphan_ids.append(sis_id)
        report["users"]["orphans"] = orphan_ids

        def previous_course(sis_id: str, code: str, name: str) -> None:
            if sis_id in state.courses_by_sis:
                return
            course = state.add_course(sis_id, code, name, state.root.id, state.default_term.id)
            course.workflow_state = "available"
            course.origin = "previous"

        for group, members in course_groups.items():
            ids = []
            for room in members:
                sourced = _field(room, "sourcedId", "sourced_id")
                if group == "same_sis_id":
                    title = _field(room, "title") or sourced
                    previous_course(
                        sourced, _field(room, "classCode", "class_code") or title, title
                    )
                ids.append(sourced)
            report["courses"][group] = ids
        course_orphans = []
        for index in range(max(1, len(rooms) // 10) if rooms else 0):
            sis_id = f"PREV-ORPHAN-C{index + 1:05d}"
            previous_course(sis_id, f"OLD{index + 1:05d}", f"Retired Course {index + 1}")
            course_orphans.append(sis_id)
        report["courses"]["orphans"] = course_orphans
    return report


# --- read-back -----------------------------------------------------------------------------


def state_read_back(
    state: CanvasData,
    *,
    users: Iterable[str] = (),
    courses: Iterable[str] = (),
    sections: Iterable[str] = (),
    enrollments_of: Iterable[str] = (),
) -> dict[str, Any]:
    """Summary counts plus the named objects (by SIS id), for tests that check what an
    import did without going through the paginated API."""
    with state.lock:
        out: dict[str, Any] = {"summary": state.summary()}
        out["users"] = {sis: _user_view(state.users_by_sis.get(sis)) for sis in users}
        out["courses"] = {}
        for sis in courses:
            course = state.courses_by_sis.get(sis)
            out["courses"][sis] = (
                None
                if course is None
                else {
                    "id": course.id,
                    "name": course.name,
                    "course_code": course.course_code,
                    "workflow_state": course.workflow_state,
                    "account": state.accounts[course.account_id].sis_id,
                    "term": state.terms[course.term_id].sis_id,
                    "start_at": course.start_at,
                    "end_at": course.end_at,
                    "origin": course.origin,
                }
            )
        out["sections"] = {}
        for sis in sections:
            section = state.sections_by_sis.get(sis)
            out["sections"][sis] = (
                None
                if section is None
                else {
                    "id": section.id,
                    "name": section.name,
                    "course": state.courses[section.course_id].sis_id,
                    "nonxlist_course": state.courses[section.nonxlist_course_id].sis_id
                    if section.nonxlist_course_id
                    else None,
                    "workflow_state": section.workflow_state,
                }
            )
        out["enrollments"] = {}
        for sis in enrollments_of:
            course = state.courses_by_sis.get(sis)
            rows = []
            if course is not None:
                for section, type_code, key, state_code in state.course_enrollments(course):
                    user_id = key[0] if isinstance(key, tuple) else key
                    rows.append(
                        {
                            "user": state.users[user_id].sis_id,
                            "section": section.sis_id,
                            "role": ROLE_BY_TYPE[type_code],
                            "state": ENROLLMENT_STATES[state_code],
                        }
                    )
            out["enrollments"][sis] = rows
        return out


def _user_view(user: Any) -> dict[str, Any] | None:
    if user is None:
        return None
    return {
        "id": user.id,
        "login_id": user.login_id,
        "name": user.name,
        "sortable_name": user.sortable_name,
        "email": user.email,
        "login_state": user.login_state,
        "integration_id": user.integration_id,
        "origin": user.origin,
    }


#: Enrollment states whose students appear in submissions and grades listings.
STUDENT_STATES = (E_ACTIVE, E_INACTIVE, E_COMPLETED)
__all__ = [
    "course_grades",
    "coursework_teach",
    "grading_periods_for",
    "previous_sis_seed",
    "scores_change",
    "state_read_back",
]
