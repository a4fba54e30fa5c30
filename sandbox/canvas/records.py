"""The simulated Canvas's records: accounts, terms, courses, sections, users, coursework.

Sized for the "large" reference district (300 k users, 75 k courses, 2.1 M enrollments) in
well under a gigabyte: objects use ``__slots__`` and share their id strings with the
indexes, and enrollments are not objects at all. A section keeps, per enrollment type, a
dict from the Canvas user id (the very ``int`` held by the ``User``) to a small state code
(small ints are shared by CPython), so an enrollment costs one dict slot. Enrollment ids
are derived from (section, type, user) instead of stored.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

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
