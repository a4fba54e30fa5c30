"""Decode whole pages of the big collections straight into typed records (msgspec).

A full read of a large district is millions of enrollments and hundreds of thousands of
users and classes. Decoding a page into generic dicts and then checking every field in
Python costs several times more than decoding it, in C, against a schema that already
states the OneRoster 1.1 rules this client enforces: required fields, non-empty
sourcedIds, exact enumeration spellings, GUIDRef shapes and the reference types each field
accepts.

Optional fields sent as ``""`` or ``null`` are part of the plain shape (CSV-shaped
providers send every empty column that way): each schema lets them through and the
builder reads them as left out, exactly as the validator does, so such pages keep the
fast path; so are optional strings of only spaces (a padded CSV column), which the
builders read as absent too (``_text``). The schemas accept nothing else beyond the plainly
valid shape: a number where a string belongs, or a date with spaces around it, sends the
page to the validator, which reads those too.
``decode_page`` returns ``None`` for a page with anything else in it (a missing field, a
misspelt enumeration, a lenient form such as ``"true"`` for a boolean, a timestamp or
date that does not parse, a wrong envelope, broken JSON); the caller then decodes that
page generically and ``parse.parse_record`` validates each record and explains every
problem. So the two paths agree by construction on what they accept, and
``tests/integration/oneroster/test_parse_properties.py`` checks that they build equal
records.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

import msgspec

from integration.oneroster.parse import (
    CLASS_REF_TYPES,
    CLASS_TYPES,
    COURSE_REF_TYPES,
    DATE_CACHE,
    ORG_REF_TYPES,
    ROLES,
    SESSION_REF_TYPES,
    STATUSES,
    TIMESTAMP_CACHE,
    USER_REF_TYPES,
    cached_date,
    cached_timestamp,
    split_list,
)
from integration.oneroster.records import Class, Enrollment, Record, User


def _one_of(values: frozenset[str]) -> Any:
    """A ``Literal`` of the validator's own enumeration: one source for both paths."""
    return Literal[tuple(sorted(values))]  # type: ignore[valid-type]


SourcedId = Annotated[str, msgspec.Meta(min_length=1)]
Status = _one_of(STATUSES)
Role = _one_of(ROLES)
#: An optional enumeration or boolean may also arrive as ``""``: read as absent.
ClassType = _one_of(CLASS_TYPES | {""})
Empty = Literal[""]


def _guid_ref(name: str, kinds: frozenset[str]) -> type[msgspec.Struct]:
    """A GUIDRef for one field meaning: the reference types accepted are the validator's.
    ``href`` is not declared, so it is skipped (records keep sourcedIds only)."""
    fields = [("sourcedId", SourcedId), ("type", _one_of(kinds) | None, None)]
    return msgspec.defstruct(name, fields, gc=False)


_OrgRef = _guid_ref("OrgRef", ORG_REF_TYPES)
_UserRef = _guid_ref("UserRef", USER_REF_TYPES)
_ClassRef = _guid_ref("ClassRef", CLASS_REF_TYPES)
_CourseRef = _guid_ref("CourseRef", COURSE_REF_TYPES)
_SessionRef = _guid_ref("SessionRef", SESSION_REF_TYPES)


class _Enrollment(msgspec.Struct, gc=False):
    sourcedId: SourcedId
    status: Status
    dateLastModified: str
    user: _UserRef
    class_: _ClassRef = msgspec.field(name="class")
    school: _OrgRef
    role: Role
    primary: bool | Empty | None = None
    beginDate: str | None = None
    endDate: str | None = None


class _UserId(msgspec.Struct, gc=False):
    identifier: str | None = None
    type: str | None = None


class _User(msgspec.Struct, gc=False):
    sourcedId: SourcedId
    status: Status
    dateLastModified: str
    username: SourcedId
    givenName: SourcedId
    familyName: SourcedId
    role: Role
    orgs: Annotated[list[_OrgRef], msgspec.Meta(min_length=1)]
    enabledUser: bool | Empty | None = None
    middleName: str | None = None
    identifier: str | None = None
    email: str | None = None
    sms: str | None = None
    phone: str | None = None
    agents: list[_UserRef] | Empty | None = None
    grades: list[str | None] | str | None = None
    userIds: list[_UserId] | Empty | None = None


class _Class(msgspec.Struct, gc=False):
    sourcedId: SourcedId
    status: Status
    dateLastModified: str
    title: SourcedId
    course: _CourseRef
    school: _OrgRef
    terms: Annotated[list[_SessionRef], msgspec.Meta(min_length=1)]
    classCode: str | None = None
    classType: ClassType | None = None
    location: str | None = None
    periods: list[str | None] | str | None = None
    subjects: list[str | None] | str | None = None


class _Enrollments(msgspec.Struct):
    enrollments: list[_Enrollment]


class _Users(msgspec.Struct):
    users: list[_User]


class _Classes(msgspec.Struct):
    classes: list[_Class]


def _text(value: str | None) -> str:
    """An optional string: ``""`` when absent, empty or only spaces (as the validator reads
    it). A check in Python here costs a fraction of a schema pattern on every field."""
    return "" if not value or value.isspace() else value


def _strings(value: list[str | None] | str | None) -> tuple[str, ...]:
    if not value:
        return ()
    if type(value) is str:
        return () if value.isspace() else split_list(value)
    return tuple([v for v in value if v and not v.isspace()])  # empty entries say nothing


def _user_ids(entries: list[_UserId]) -> tuple[tuple[str, str], ...]:
    # An entry without an identifier says nothing: skipped, as the validator does.
    return tuple(
        [
            (_text(i.type), i.identifier)
            for i in entries
            if i.identifier and not i.identifier.isspace()
        ]
    )


def _agents(refs: list) -> tuple[str, ...]:
    # A reference whose id is only spaces points at nothing: skipped, as the validator does.
    return tuple([ref.sourcedId for ref in refs if not ref.sourcedId.isspace()])


def _enrollments(page: _Enrollments) -> list[Record] | None:
    # Cache hits inlined (a dictionary lookup, no call): this runs for every enrollment.
    timestamps = TIMESTAMP_CACHE.get
    dates = DATE_CACHE.get
    out: list[Record] = []
    append = out.append
    for w in page.enrollments:
        stamp = w.dateLastModified
        modified = timestamps(stamp) or cached_timestamp(stamp)
        if modified is None:
            return None
        # "" and None are both absent: falsy either way.
        begin = w.beginDate
        begin = (dates(begin) or cached_date(begin)) if begin else None
        end = w.endDate
        end = (dates(end) or cached_date(end)) if end else None
        primary = w.primary
        append(
            Enrollment(
                w.sourcedId,
                w.status,
                modified,
                w.user.sourcedId,
                w.class_.sourcedId,
                w.school.sourcedId,
                w.role,
                None if primary == "" else primary,
                begin,
                end,
            )
        )
    return out


def _users(page: _Users) -> list[Record] | None:
    out: list[Record] = []
    append = out.append
    for w in page.users:
        modified = cached_timestamp(w.dateLastModified)
        if modified is None:
            return None
        append(
            User(
                w.sourcedId,
                w.status,
                modified,
                w.enabledUser is not False,  # absent (None or "") means enabled
                w.username,
                w.givenName,
                w.familyName,
                w.role,
                tuple([ref.sourcedId for ref in w.orgs]),
                _text(w.middleName),
                _text(w.identifier),
                _text(w.email),
                _text(w.sms),
                _text(w.phone),
                _agents(w.agents) if w.agents else (),
                _strings(w.grades),
                _user_ids(w.userIds) if w.userIds else (),
            )
        )
    return out


def _classes(page: _Classes) -> list[Record] | None:
    out: list[Record] = []
    append = out.append
    for w in page.classes:
        modified = cached_timestamp(w.dateLastModified)
        if modified is None:
            return None
        append(
            Class(
                w.sourcedId,
                w.status,
                modified,
                w.title,
                _text(w.classCode),
                w.classType or "scheduled",
                w.course.sourcedId,
                w.school.sourcedId,
                tuple([ref.sourcedId for ref in w.terms]),
                _text(w.location),
                _strings(w.periods),
                _strings(w.subjects),
            )
        )
    return out


_PAGES: dict[str, tuple[msgspec.json.Decoder, Callable[[Any], list[Record] | None]]] = {
    "enrollments": (msgspec.json.Decoder(_Enrollments), _enrollments),
    "users": (msgspec.json.Decoder(_Users), _users),
    "students": (msgspec.json.Decoder(_Users), _users),
    "teachers": (msgspec.json.Decoder(_Users), _users),
    "classes": (msgspec.json.Decoder(_Classes), _classes),
}


def decode_page(collection: str, content: bytes) -> list[Record] | None:
    """A page body of ``collection`` as typed records, or ``None`` when the page needs the
    generic path (a collection without a schema here, or anything outside the plain valid
    shape)."""
    entry = _PAGES.get(collection)
    if entry is None:
        return None
    decoder, build = entry
    try:
        return build(decoder.decode(content))
    except (msgspec.ValidationError, msgspec.DecodeError, ValueError):
        return None
