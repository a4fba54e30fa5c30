"""``CanvasState``: the simulated Canvas's in-memory, thread-safe store.

Sized for the "large" reference district (300 k users, 75 k courses, 2.1 M enrollments) in
well under a gigabyte: objects use ``__slots__`` and share their id strings with the
indexes, and enrollments are not objects at all. A section keeps, per enrollment type, a
dict from the Canvas user id (the very ``int`` held by the ``User``) to a small state code
(small ints are shared by CPython), so an enrollment costs one dict slot. Enrollment ids
are derived from (section, type, user) instead of stored.

Everything that reads or writes more than one attribute holds ``state.lock``; SIS imports
take it in chunks of rows so API reads interleave with a long import.
"""

from __future__ import annotations

import datetime as dt
import itertools
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from sandbox.canvas.throttle import LeakyBucket

if TYPE_CHECKING:
    from sandbox.canvas.imports import ImportRunner

# Enrollment types, in the order ``ROLE_BY_TYPE`` and ``TYPE_NAMES`` index them.
STUDENT, TEACHER, TA, OBSERVER, DESIGNER = range(5)
TYPE_NAMES = (
    "StudentEnrollment",
    "TeacherEnrollment",
    "TaEnrollment",
    "ObserverEnrollment",
    "DesignerEnrollment",
)
ROLE_BY_TYPE = ("student", "teacher", "ta", "observer", "designer")
TYPE_BY_NAME = {name: code for code, name in enumerate(TYPE_NAMES)}

# Enrollment workflow states (codes are small ints, shared by CPython).
E_ACTIVE, E_INACTIVE, E_COMPLETED, E_DELETED = range(4)
ENROLLMENT_STATES = ("active", "inactive", "completed", "deleted")
ENROLLMENT_STATE_CODES = {name: code for code, name in enumerate(ENROLLMENT_STATES)}

#: What the main token may do; ``issue_token`` hands out narrower ones for tests.
ALL_PERMISSIONS = frozenset(
    {"import_sis", "manage_sis", "read_sis", "read_roster", "view_all_grades", "manage_grades"}
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
# Enrollment ids are (section id * 8 + type) * ENROLLMENT_ID_STRIDE + user id.
ENROLLMENT_ID_STRIDE = 10_000_000


def enrollment_id(section_id: int, type_code: int, user_id: int) -> int:
    return (section_id * 8 + type_code) * ENROLLMENT_ID_STRIDE + user_id


def enrollment_id_parts(value: int) -> tuple[int, int, int]:
    """(section id, type code, user id) of a derived enrollment id."""
    head, user_id = divmod(value, ENROLLMENT_ID_STRIDE)
    section_id, type_code = divmod(head, 8)
    return section_id, type_code, user_id


class Account:
    __slots__ = (
        "id",
        "integration_id",
        "name",
        "parent_id",
        "sis_id",
        "sis_import_id",
        "workflow_state",
    )

    def __init__(self, id: int, sis_id: str | None, name: str, parent_id: int | None) -> None:
        self.id = id
        self.sis_id = sis_id
        self.name = name
        self.parent_id = parent_id
        self.workflow_state = "active"
        self.integration_id: str | None = None
        self.sis_import_id: int | None = None


class Term:
    __slots__ = (
        "end_at",
        "id",
        "integration_id",
        "name",
        "overrides",
        "sis_id",
        "sis_import_id",
        "start_at",
        "workflow_state",
    )

    def __init__(self, id: int, sis_id: str | None, name: str) -> None:
        self.id = id
        self.sis_id = sis_id
        self.name = name
        self.workflow_state = "active"
        self.start_at: str | None = None
        self.end_at: str | None = None
        self.integration_id: str | None = None
        self.overrides: dict[str, tuple[str | None, str | None]] | None = None
        self.sis_import_id: int | None = None


class Course:
    """A course; ``workflow_state`` is Canvas's internal one (claimed = unpublished)."""

    __slots__ = (
        "account_id",
        "course_code",
        "default_section_id",
        "end_at",
        "id",
        "integration_id",
        "name",
        "origin",
        "restrict_dates",
        "section_ids",
        "sis_id",
        "sis_import_id",
        "start_at",
        "stuck",
        "term_id",
        "workflow_state",
    )

    def __init__(
        self,
        id: int,
        sis_id: str | None,
        course_code: str,
        name: str,
        account_id: int,
        term_id: int,
    ) -> None:
        self.id = id
        self.sis_id = sis_id
        self.course_code = course_code
        self.name = name
        self.account_id = account_id
        self.term_id = term_id
        self.workflow_state = "claimed"
        self.start_at: str | None = None
        self.end_at: str | None = None
        self.restrict_dates = False
        self.integration_id: str | None = None
        self.section_ids: list[int] = []
        self.default_section_id: int | None = None
        #: Fields edited "in the UI" that later imports leave alone (SIS stickiness).
        self.stuck: set[str] | None = None
        self.sis_import_id: int | None = None
        #: "sis" for SIS-imported courses, "previous" for a seeded previous-SIS population.
        self.origin = "sis"


class Section:
    __slots__ = (
        "course_id",
        "default",
        "end_at",
        "enrollments",
        "id",
        "integration_id",
        "name",
        "nonxlist_course_id",
        "sis_id",
        "sis_import_id",
        "start_at",
        "workflow_state",
    )

    def __init__(self, id: int, sis_id: str | None, course_id: int, name: str) -> None:
        self.id = id
        self.sis_id = sis_id
        self.course_id = course_id
        self.nonxlist_course_id: int | None = None
        self.name = name
        self.workflow_state = "active"
        self.start_at: str | None = None
        self.end_at: str | None = None
        self.integration_id: str | None = None
        self.default = False
        #: type code → {user id (or (observer id, observed id)) → enrollment state code}
        self.enrollments: dict[int, dict[Any, int]] = {}
        self.sis_import_id: int | None = None


class User:
    """A user with one login (pseudonym); ``login_state`` is the login's workflow state."""

    __slots__ = (
        "declared_user_type",
        "email",
        "id",
        "integration_id",
        "login_id",
        "login_state",
        "name",
        "origin",
        "short_name",
        "sis_id",
        "sis_import_id",
        "sortable_name",
        "workflow_state",
    )

    def __init__(self, id: int, sis_id: str | None, login_id: str, name: str) -> None:
        self.id = id
        self.sis_id = sis_id
        self.login_id = login_id
        self.integration_id: str | None = None
        self.name = name
        self.sortable_name: str | None = None
        self.short_name: str | None = None
        self.email: str | None = None
        self.login_state = "active"
        self.workflow_state = "registered"
        self.declared_user_type: str | None = None
        self.sis_import_id: int | None = None
        self.origin = "sis"

    @property
    def usable(self) -> bool:
        return self.workflow_state != "deleted" and self.login_state != "deleted"


# --- coursework ----------------------------------------------------------------------------


@dataclass(slots=True)
class AssignmentGroup:
    id: int
    course_id: int
    name: str
    position: int
    group_weight: float = 0.0


@dataclass(slots=True)
class GradingPeriod:
    id: int
    title: str
    start_date: dt.datetime
    end_date: dt.datetime
    close_date: dt.datetime
    weight: float | None = None


@dataclass(slots=True)
class Assignment:
    id: int
    course_id: int
    name: str
    kind: str  # assignment | classic_quiz | new_quiz | discussion
    points_possible: float
    grading_type: str
    due_at: dt.datetime | None
    published: bool
    post_to_sis: bool
    assignment_group_id: int
    position: int
    created_at: dt.datetime
    updated_at: dt.datetime
    #: section id → due date, for a differentiated assignment.
    section_due_dates: dict[int, dt.datetime] = field(default_factory=dict)
    omit_from_final_grade: bool = False
    quiz_id: int | None = None
    discussion_topic_id: int | None = None


@dataclass(slots=True)
class Submission:
    id: int
    assignment_id: int
    user_id: int
    score: float | None
    excused: bool
    late_policy_status: str | None  # late | missing | None
    workflow_state: str  # graded | submitted | unsubmitted
    submitted_at: dt.datetime | None
    graded_at: dt.datetime | None
    posted_at: dt.datetime | None
    seconds_late: int = 0


@dataclass(frozen=True, slots=True)
class TokenInfo:
    user_id: int
    permissions: frozenset[str]


class CanvasState:
    """Everything the simulated Canvas knows, for one root account.

    ``token`` is the admin token the API and the controls accept; ``issue_token`` adds
    narrower ones. ``now`` (timestamps) and ``monotonic`` (throttling) are injectable.
    """

    def __init__(
        self,
        account_id: str = "1",
        token: str | None = None,
        *,
        account_name: str = "Sandbox District",
        now: Callable[[], dt.datetime] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        throttle: dict[str, float] | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.account_id = str(account_id)
        self.token = token or secrets.token_urlsafe(32)
        self.now = now or (lambda: dt.datetime.now(tz=dt.UTC))
        self.monotonic = monotonic
        self.throttle_settings = dict(throttle or {})
        self._buckets: dict[str, LeakyBucket] = {}
        self._forced_throttles: list[str | None] = []
        self.sis_imports_enabled = True
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
        self.tokens: dict[str, TokenInfo] = {self.token: TokenInfo(admin.id, ALL_PERMISSIONS)}

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

        self._runner: ImportRunner | None = None

    # --- tokens and throttling ---------------------------------------------------------

    def issue_token(self, permissions: frozenset[str] | set[str] = frozenset()) -> str:
        """A new token for the admin user with only the given permissions."""
        token = secrets.token_urlsafe(24)
        self.tokens[token] = TokenInfo(self.admin.id, frozenset(permissions))
        return token

    def bucket(self, token: str) -> LeakyBucket:
        with self.lock:
            bucket = self._buckets.get(token)
            if bucket is None:
                bucket = LeakyBucket(clock=self.monotonic, **self.throttle_settings)
                self._buckets[token] = bucket
            return bucket

    def throttle_next(self, count: int, *, method: str | None = None) -> None:
        """Answer the next ``count`` API requests (of ``method`` only, when given) with
        403 Rate Limit Exceeded, whatever the bucket says."""
        with self.lock:
            self._forced_throttles.extend([method.upper() if method else None] * count)

    def take_forced_throttle(self, method: str) -> bool:
        with self.lock:
            for index, wanted in enumerate(self._forced_throttles):
                if wanted is None or wanted == method:
                    del self._forced_throttles[index]
                    return True
            return False

    # --- SIS imports ---------------------------------------------------------------------

    @property
    def runner(self) -> ImportRunner:
        from sandbox.canvas.imports import ImportRunner

        with self.lock:
            if self._runner is None:
                self._runner = ImportRunner(self)
            return self._runner

    def touch(self) -> None:
        """Record that data changed (invalidates cached listings)."""
        self.version += 1

    def close(self) -> None:
        """Stop the import worker, if one was started."""
        if self._runner is not None:
            self._runner.stop()

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
