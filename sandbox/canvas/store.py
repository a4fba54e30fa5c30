"""``CanvasData``: the simulated Canvas's in-memory, thread-safe data, for one root account.

Everything that reads or writes more than one attribute holds ``lock``; SIS imports take it
in chunks of rows so API reads interleave with a long import. ``state.CanvasState`` adds
what serving needs (tokens, throttling, the SIS import worker); the SIS importers and the
coursework seeding work on this data alone.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import unquote

from sandbox.canvas.records import (
    E_ACTIVE,
    ENROLLMENT_STATES,
    STUDENT,
    Account,
    Assignment,
    AssignmentGroup,
    Course,
    GradingPeriod,
    Section,
    Submission,
    Term,
    User,
)

# Id ranges per object type, so an id used for the wrong kind of object fails loudly.
ACCOUNT_IDS = 2
TERM_IDS = 10_001
COURSE_IDS = 100_001
SECTION_IDS = 500_001
USER_IDS = 1_000_001
GROUP_IDS = 3_000_001
PERIOD_IDS = 3_500_001
ASSIGNMENT_IDS = 4_000_001
SUBMISSION_IDS = 20_000_001


class CanvasData:
    """Accounts, terms, courses, sections, users, enrollments and coursework.

    ``now`` (timestamps) is injectable.
    """

    def __init__(
        self,
        account_id: str = "1",
        *,
        account_name: str = "Sandbox District",
        now: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.account_id = str(account_id)
        self.now = now or (lambda: dt.datetime.now(tz=dt.UTC))
        #: Bumped by every write; paged listings cache their filtered lists per version.
        self.version = 0

        self._account_ids = itertools.count(ACCOUNT_IDS)
        self._term_ids = itertools.count(TERM_IDS)
        self._course_ids = itertools.count(COURSE_IDS)
        self._section_ids = itertools.count(SECTION_IDS)
        self._user_ids = itertools.count(USER_IDS)
        self._group_ids = itertools.count(GROUP_IDS)
        self._period_ids = itertools.count(PERIOD_IDS)
        self._assignment_ids = itertools.count(ASSIGNMENT_IDS)
        self._submission_ids = itertools.count(SUBMISSION_IDS)

        root = Account(int(account_id), None, account_name, None)
        self.root = root
        self.accounts: dict[int, Account] = {root.id: root}
        self.accounts_by_sis: dict[str, Account] = {}

        default_term = Term(next(self._term_ids), None, "Default Term")
        self.default_term = default_term
        self.terms: dict[int, Term] = {default_term.id: default_term}
        self.terms_by_sis: dict[str, Term] = {}

        self.courses: dict[int, Course] = {}
        self.courses_by_sis: dict[str, Course] = {}
        self.sections: dict[int, Section] = {}
        self.sections_by_sis: dict[str, Section] = {}

        self.users: dict[int, User] = {}
        self.users_by_sis: dict[str, User] = {}
        self.users_by_integration: dict[str, User] = {}
        #: lower-cased login → user (Canvas logins are case-insensitive).
        self.logins: dict[str, User] = {}
        #: observer user id → observed student user ids (user_observers.csv).
        self.observees: dict[int, set[int]] = {}

        admin = User(next(self._user_ids), None, "sandbox-admin", "Sandbox Admin")
        admin.origin = "canvas"
        self.users[admin.id] = admin
        self.admin = admin

        # Coursework (seeded by ``coursework.coursework_teach``).
        self.assignments: dict[int, Assignment] = {}
        self.course_assignments: dict[int, list[int]] = {}
        self.assignment_groups: dict[int, list[AssignmentGroup]] = {}
        #: grading-period-set key (account or term) → periods; course → its set key.
        self.period_sets: dict[str, list[GradingPeriod]] = {}
        self.course_period_set: dict[int, str] = {}
        #: assignment id → user id → submission
        self.submissions: dict[int, dict[int, Submission]] = {}
        #: (course id, grading period id or None, user id) → final grade override score
        self.grade_overrides: dict[tuple[int, int | None, int], float] = {}

    def touch(self) -> None:
        """Record that data changed (invalidates cached listings)."""
        self.version += 1

    # --- ids -----------------------------------------------------------------------------

    def new_account_id(self) -> int:
        return next(self._account_ids)

    def new_term_id(self) -> int:
        return next(self._term_ids)

    def new_course_id(self) -> int:
        return next(self._course_ids)

    def new_section_id(self) -> int:
        return next(self._section_ids)

    def new_user_id(self) -> int:
        return next(self._user_ids)

    def new_group_id(self) -> int:
        return next(self._group_ids)

    def new_period_id(self) -> int:
        return next(self._period_ids)

    def new_assignment_id(self) -> int:
        return next(self._assignment_ids)

    def new_submission_id(self) -> int:
        return next(self._submission_ids)

    # --- object creation (used by imports and seeding) -----------------------------------

    def add_course(
        self, sis_id: str | None, course_code: str, name: str, account_id: int, term_id: int
    ) -> Course:
        course = Course(self.new_course_id(), sis_id, course_code, name, account_id, term_id)
        self.version += 1
        self.courses[course.id] = course
        if sis_id is not None:
            self.courses_by_sis[sis_id] = course
        return course

    def add_section(self, sis_id: str | None, course: Course, name: str) -> Section:
        section = Section(self.new_section_id(), sis_id, course.id, name)
        self.sections[section.id] = section
        if sis_id is not None:
            self.sections_by_sis[sis_id] = section
        course.section_ids.append(section.id)
        return section

    def default_section(self, course: Course) -> Section:
        """The course's default section, created on first use like Canvas does."""
        if course.default_section_id is not None:
            return self.sections[course.default_section_id]
        section = self.add_section(None, course, course.name)
        section.default = True
        course.default_section_id = section.id
        return section

    def add_user(self, sis_id: str | None, login_id: str, name: str) -> User:
        user = User(self.new_user_id(), sis_id, login_id, name)
        self.version += 1
        self.users[user.id] = user
        if sis_id is not None:
            self.users_by_sis[sis_id] = user
        self.logins[login_id.lower()] = user
        return user

    # --- lookups by API id ---------------------------------------------------------------

    def account_for(self, ref: str) -> Account | None:
        if ref in ("self", "default") or ref == str(self.root.id):
            return self.root
        if ref.startswith("sis_account_id:"):
            return self.accounts_by_sis.get(unquote(ref.partition(":")[2]))
        return self.accounts.get(int(ref)) if ref.isdigit() else None

    def course_for(self, ref: str) -> Course | None:
        if ref.startswith("sis_course_id:"):
            return self.courses_by_sis.get(unquote(ref.partition(":")[2]))
        return self.courses.get(int(ref)) if ref.isdigit() else None

    def section_for(self, ref: str) -> Section | None:
        if ref.startswith("sis_section_id:"):
            return self.sections_by_sis.get(unquote(ref.partition(":")[2]))
        return self.sections.get(int(ref)) if ref.isdigit() else None

    def user_for(self, ref: str, token_user_id: int) -> User | None:
        if ref == "self":
            return self.users.get(token_user_id)
        if ref.startswith("sis_user_id:"):
            return self.users_by_sis.get(unquote(ref.partition(":")[2]))
        if ref.startswith("sis_login_id:"):
            return self.logins.get(unquote(ref.partition(":")[2]).lower())
        return self.users.get(int(ref)) if ref.isdigit() else None

    def account_subtree(self, account: Account) -> set[int]:
        """Ids of the account and every account below it."""
        children: dict[int, list[int]] = {}
        for candidate in self.accounts.values():
            if candidate.parent_id is not None:
                children.setdefault(candidate.parent_id, []).append(candidate.id)
        found = {account.id}
        stack = [account.id]
        while stack:
            for child in children.get(stack.pop(), ()):
                if child not in found:
                    found.add(child)
                    stack.append(child)
        return found

    # --- enrollments ---------------------------------------------------------------------

    def course_enrollments(self, course: Course) -> Iterator[tuple[Section, int, Any, int]]:
        """(section, type code, user id or (observer, observed), state code) of a course."""
        for section_id in course.section_ids:
            section = self.sections[section_id]
            if section.course_id != course.id:
                continue
            for type_code, members in section.enrollments.items():
                for key, state_code in members.items():
                    yield section, type_code, key, state_code

    def course_student_ids(self, course: Course, *, states: tuple[int, ...] = (E_ACTIVE,)) -> dict:
        """user id → section id of the course's students in the given states."""
        students: dict[int, int] = {}
        for section_id in course.section_ids:
            section = self.sections[section_id]
            if section.course_id != course.id or section.workflow_state == "deleted":
                continue
            for user_id, state_code in section.enrollments.get(STUDENT, {}).items():
                if state_code in states:
                    students.setdefault(user_id, section.id)
        return students

    def enrollment_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(ENROLLMENT_STATES, 0)
        for section in self.sections.values():
            for members in section.enrollments.values():
                for state_code in members.values():
                    counts[ENROLLMENT_STATES[state_code]] += 1
        return counts

    def summary(self) -> dict[str, Any]:
        """Object counts, for the read-back control and the demo."""
        with self.lock:
            return {
                "accounts": len(self.accounts) - 1,
                "terms": len(self.terms) - 1,
                "courses": len(self.courses),
                "sections": sum(1 for s in self.sections.values() if not s.default),
                "users": len(self.users) - 1,
                "enrollments": self.enrollment_counts(),
                "assignments": len(self.assignments),
                "submissions": sum(len(s) for s in self.submissions.values()),
            }
