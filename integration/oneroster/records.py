"""Typed OneRoster 1.1 records: what the client yields and what provisioning consumes.

Frozen ``msgspec.Struct`` classes (no ORM): compact, and built by a C-level ``__init__``,
which matters when a full read creates millions of them. References (GUIDRefs) are kept as
the referenced sourcedId string; the reference's ``type`` is validated by the parser, not
stored. Dates are ``datetime.date``; ``date_last_modified`` is an aware ``datetime``.

A record that fails validation comes out of a stream as ``InvalidRecord`` (with the reasons)
instead of stopping it; inconsistent paging comes out as ``PagingAnomaly``. Callers record
both as conflicts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec

Status = Literal["active", "tobedeleted", "inactive"]


class _Record(msgspec.Struct, frozen=True, gc=False):
    """Base of the typed records. ``gc=False``: records hold only strings, dates and tuples
    of strings, never cycles, so the cyclic collector need not track millions of them."""


class Org(_Record):
    sourced_id: str
    status: str
    date_last_modified: dt.datetime | None
    name: str
    type: str  # department | school | district | local | state | national
    identifier: str = ""
    parent: str | None = None
    children: tuple[str, ...] = ()


class AcademicSession(_Record):
    sourced_id: str
    status: str
    date_last_modified: dt.datetime | None
    title: str
    type: str  # gradingPeriod | semester | schoolYear | term
    start_date: dt.date
    end_date: dt.date
    school_year: str
    parent: str | None = None
    children: tuple[str, ...] = ()


class Course(_Record):
    sourced_id: str
    status: str
    date_last_modified: dt.datetime | None
    title: str
    course_code: str
    org: str
    school_year: str | None = None
    subjects: tuple[str, ...] = ()


class Class(_Record):
    sourced_id: str
    status: str
    date_last_modified: dt.datetime | None
    title: str
    class_code: str
    class_type: str  # homeroom | scheduled
    course: str
    school: str
    terms: tuple[str, ...]
    location: str = ""
    periods: tuple[str, ...] = ()
    subjects: tuple[str, ...] = ()


class User(_Record):
    sourced_id: str
    status: str
    date_last_modified: dt.datetime | None
    enabled_user: bool
    username: str
    given_name: str
    family_name: str
    role: str  # administrator | aide | guardian | parent | proctor | relative | student | teacher
    orgs: tuple[str, ...]
    middle_name: str = ""
    identifier: str = ""
    email: str = ""
    sms: str = ""
    phone: str = ""
    agents: tuple[str, ...] = ()
    grades: tuple[str, ...] = ()
    user_ids: tuple[tuple[str, str], ...] = ()  # (type, identifier)


class Enrollment(_Record):
    sourced_id: str
    status: str
    date_last_modified: dt.datetime | None
    user: str
    class_: str
    school: str
    role: str  # administrator | proctor | student | teacher
    primary: bool | None = None
    begin_date: dt.date | None = None
    end_date: dt.date | None = None


class Demographics(_Record):
    sourced_id: str
    status: str
    date_last_modified: dt.datetime | None
    birth_date: dt.date | None = None
    sex: str = ""


class Category(_Record):
    sourced_id: str
    status: str
    date_last_modified: dt.datetime | None
    title: str


class LineItem(_Record):
    sourced_id: str
    status: str
    date_last_modified: dt.datetime | None
    title: str
    assign_date: dt.datetime
    due_date: dt.datetime
    class_: str
    category: str
    grading_period: str
    result_value_min: float
    result_value_max: float
    description: str = ""


class Result(_Record):
    sourced_id: str
    status: str
    date_last_modified: dt.datetime | None
    line_item: str
    student: str
    score_status: str  # exempt | fully graded | not submitted | partially graded | submitted
    score: float | None
    score_date: dt.date
    comment: str = ""


Record = (
    Org
    | AcademicSession
    | Course
    | Class
    | User
    | Enrollment
    | Demographics
    | Category
    | LineItem
    | Result
)


@dataclass(frozen=True, slots=True)
class InvalidRecord:
    """A record that failed OneRoster 1.1 validation; ``raw`` is the JSON object as received."""

    collection: str
    sourced_id: str | None
    reasons: tuple[str, ...]
    raw: Any = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class PagingAnomaly:
    """Paging that does not add up: the caller must not infer deletions from this read.

    ``kind`` is one of ``total_changed``, ``duplicate_sourced_id``, ``short_read``.
    """

    collection: str
    kind: str
    detail: str
