"""Validate OneRoster 1.1 JSON objects into typed records (``records.py``).

``parse_record(collection, obj)`` never raises, whatever JSON it is given: a record that
breaks the 1.1 rules (required fields, enumeration values, GUIDRef shapes, dates) comes
back as ``InvalidRecord`` with every reason found, so one bad row never stops a stream.
Lenient where real providers differ (recommendations of the 1.1 reference):
booleans may arrive as ``"true"``/``"false"``, string lists (``grades``, ``periods``,
``subjects``) as one comma-separated string, enumerations and GUIDRef types in another case
or with spaces around them (read as the 1.1 spelling), GUIDRef ``href`` is ignored (records
keep sourcedIds only; writers omit it), ``scoreDate`` may carry a time, a ``date-time``
without an offset is read as UTC and a bare date as its 00:00 UTC.

Empty is absent: an optional field sent as ``""``, as only spaces (``" "``, a padded CSV
column) or as ``null`` reads exactly as if it were left out (OneRoster JSON produced from
CSV-shaped data writes every empty column as ``""``).
That holds for every optional field: dates, strings, enumerations, booleans, numbers,
GUIDRefs (also a GUIDRef whose ``sourcedId`` is empty, an empty CSV id column), GUIDRef
lists and their empty entries, ``userIds`` and its entries with an empty ``identifier``,
string lists, and the unread ``metadata`` bag. A required field sent empty stays invalid,
with "<field> must not be empty" as the reason. Dates and date-times are read without the
spaces around them.

A whole number where 1.1 says string (``"identifier": 900123``, ``"grades": [9]``, a
numeric ``sourcedId`` in a record and in the references to it) reads as its decimal string:
it can mean nothing else. A boolean may also arrive as ``"TRUE"``, ``" false "``, ``"1"``,
``"0"``, ``1`` or ``0``.

A full read's big collections normally skip this module's per-field checks: ``wire.py``
decodes their pages straight into records, and the client validates a page here, record by
record, only when something in it does not fit the plain valid shape, so the reasons come
from one place.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any

from integration.oneroster.records import (
    AcademicSession,
    Category,
    Class,
    Course,
    Demographics,
    Enrollment,
    InvalidRecord,
    LineItem,
    Org,
    Record,
    Result,
    User,
)

STATUSES = frozenset({"active", "tobedeleted"})
ORG_TYPES = frozenset({"department", "district", "local", "national", "school", "state"})
SESSION_TYPES = frozenset({"gradingPeriod", "semester", "schoolYear", "term"})
ROLES = frozenset(
    {"administrator", "aide", "guardian", "parent", "proctor", "relative", "student", "teacher"}
)
CLASS_TYPES = frozenset({"homeroom", "scheduled"})
SEXES = frozenset({"male", "female"})
SCORE_STATUSES = frozenset(
    {"exempt", "fully graded", "not submitted", "partially graded", "submitted"}
)
GUIDREF_TYPES = frozenset(
    {
        "academicSession",
        "category",
        "class",
        "course",
        "demographics",
        "enrollment",
        "lineItem",
        "org",
        "resource",
        "result",
        "student",
        "teacher",
        "user",
        "term",
        "gradingPeriod",
    }
)
# What a reference may point at, by the field's meaning. Providers differ in how specific
# they are (``org`` vs ``school``, ``user`` vs ``student``), so each set is generous.
ORG_REF_TYPES = frozenset({"org"})
SESSION_REF_TYPES = frozenset({"academicSession", "term", "gradingPeriod"})
USER_REF_TYPES = frozenset({"user", "student", "teacher"})
CLASS_REF_TYPES = frozenset({"class"})
COURSE_REF_TYPES = frozenset({"course"})
CATEGORY_REF_TYPES = frozenset({"category"})
LINEITEM_REF_TYPES = frozenset({"lineItem"})
STUDENT_REF_TYPES = frozenset({"student", "user"})

_TRUE = frozenset({True, "true", "True", "TRUE"})
_FALSE = frozenset({False, "false", "False", "FALSE"})
#: Other spellings, read after case folding and stripping (only when the plain ones miss).
_TRUE_FOLDED = frozenset({"true", "1"})
_FALSE_FOLDED = frozenset({"false", "0"})

#: Collection name (as requested) → envelope key of the collection response.
COLLECTION_KEYS = {
    "orgs": "orgs",
    "schools": "orgs",
    "academicSessions": "academicSessions",
    "terms": "academicSessions",
    "gradingPeriods": "academicSessions",
    "courses": "courses",
    "classes": "classes",
    "users": "users",
    "students": "users",
    "teachers": "users",
    "enrollments": "enrollments",
    "demographics": "demographics",
    "categories": "categories",
    "lineItems": "lineItems",
    "results": "results",
}
#: Collection name → envelope key of a single-object response.
SINGLE_KEYS = {
    "orgs": "org",
    "schools": "org",
    "academicSessions": "academicSession",
    "terms": "academicSession",
    "gradingPeriods": "academicSession",
    "courses": "course",
    "classes": "class",
    "users": "user",
    "students": "user",
    "teachers": "user",
    "enrollments": "enrollment",
    "demographics": "demographics",
    "categories": "category",
    "lineItems": "lineItem",
    "results": "result",
}


class _Reasons(list):
    """Reasons a record is invalid; empty means valid."""


# --- field readers: each returns a value, appending a reason instead of raising ----------

TIMESTAMP_CACHE: dict[str, dt.datetime] = {}
TIMESTAMP_CACHE_MAX = 200_000


def blank(value: Any) -> bool:
    """Whether ``value`` is ``""`` or only spaces: an empty (or padded) CSV column."""
    return type(value) is str and (not value or value.isspace())


def _absent(value: Any, name: str, errors: _Reasons, *, required: bool) -> bool:
    """Whether ``value`` is missing (``None``) or empty (``""`` or only spaces): all mean "not
    sent", so an optional field reads as left out and a required one gets its reason here."""
    if value is None:
        if required:
            errors.append(f"{name} is required")
        return True
    if blank(value):
        if required:
            errors.append(f"{name} must not be empty")
        return True
    return False


def _whole_number(value: Any) -> str | None:
    """A JSON whole number where a string belongs, as its decimal string (``True`` and
    ``False`` are not numbers here)."""
    return str(value) if type(value) is int else None


def _timestamp(value: Any, name: str, errors: _Reasons, *, required: bool) -> dt.datetime | None:
    if _absent(value, name, errors, required=required):
        return None
    if type(value) is not str:
        errors.append(f"{name} must be a date-time string")
        return None
    cached = TIMESTAMP_CACHE.get(value)
    if cached is not None:
        return cached
    sent, value = value, value.strip()
    try:
        # RFC 3339 allows a lower-case "z" for UTC; Python reads only "Z".
        parsed = dt.datetime.fromisoformat(value.upper() if "z" in value else value)
    except ValueError:
        errors.append(f"{name} is not an ISO 8601 date-time: {value[:40]!r}")
        return None
    # A bare date (``2026-01-01``) reads as its first instant in UTC: for
    # ``dateLastModified`` that is never later than the true change, so a delta cursor
    # taken from it overlaps instead of skipping.
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    if len(TIMESTAMP_CACHE) >= TIMESTAMP_CACHE_MAX:
        TIMESTAMP_CACHE.clear()
    TIMESTAMP_CACHE[sent] = parsed  # as sent: the lookup above is by the string as sent
    return parsed


def _date(value: Any, name: str, errors: _Reasons, *, required: bool) -> dt.date | None:
    if _absent(value, name, errors, required=required):
        return None
    if type(value) is not str:
        errors.append(f"{name} must be a YYYY-MM-DD string")
        return None
    value = value.strip()
    try:
        if len(value) == 10:
            return dt.date.fromisoformat(value)
        # Lenient: some writers send a full date-time where 1.1 says date.
        return dt.datetime.fromisoformat(value).date()
    except ValueError:
        errors.append(f"{name} is not an ISO 8601 date: {value[:40]!r}")
        return None


def _text(value: Any, name: str, errors: _Reasons, *, required: bool) -> str:
    """A string; ``""`` when an optional one is absent. A required one is kept as sent, spaces
    included: it is the provider's value, not ours to trim."""
    if type(value) is str:
        if required:
            if not value:
                errors.append(f"{name} must not be empty")
            return value
        return "" if value.isspace() else value
    if value is None:
        if required:
            errors.append(f"{name} is required")
        return ""
    number = _whole_number(value)
    if number is not None:
        return number
    errors.append(f"{name} must be a string")
    return ""


_FOLDED: dict[frozenset[str], dict[str, str]] = {}


def canonical(value: str, allowed: frozenset[str]) -> str | None:
    """The 1.1 spelling of an enumeration value sent in another case or with spaces around
    it (``"Teacher"``, ``"active "``, ``"gradingperiod"``); ``None`` if it names none.
    Only reached when the exact spelling missed, so the plain path pays nothing."""
    folded = _FOLDED.get(allowed)
    if folded is None:
        folded = _FOLDED[allowed] = {v.casefold(): v for v in allowed}
    return folded.get(value.strip().casefold())


def _enum(
    value: Any, name: str, allowed: frozenset[str], errors: _Reasons, *, required: bool = True
) -> str:
    """An enumeration value; ``""`` when an optional one is absent."""
    if type(value) is str:
        if value in allowed:
            return value
        spelt = canonical(value, allowed)
        if spelt is not None:
            return spelt
    if not _absent(value, name, errors, required=required):
        errors.append(f"{name} {str(value)[:40]!r} is not one of {sorted(allowed)}")
    return ""


def _ref(
    value: Any, name: str, kinds: frozenset[str], errors: _Reasons, *, required: bool
) -> str | None:
    if _absent(value, name, errors, required=required):
        return None
    if type(value) is not dict:
        errors.append(f"{name} must be a GUIDRef object")
        return None
    sourced_id = value.get("sourcedId")
    sourced_id = _whole_number(sourced_id) or sourced_id  # a numeric id, as ``_text`` reads it
    if not required and (sourced_id is None or blank(sourced_id)):
        # A reference to nothing: how CSV-shaped JSON writes an empty id column.
        return None
    if type(sourced_id) is not str or not sourced_id:
        errors.append(f"{name}.sourcedId must be a non-empty string")
        return None
    kind = value.get("type")
    if kind is not None and (type(kind) is not str or kind not in kinds):
        if type(kind) is str and (blank(kind) or canonical(kind, kinds) is not None):
            return sourced_id  # no type, or the right one in another case: says nothing wrong
        if type(kind) is str and canonical(kind, GUIDREF_TYPES) is not None:
            errors.append(f"{name}.type {kind!r} cannot be a {name} reference")
        else:
            errors.append(f"{name}.type {str(kind)[:40]!r} is not a GUIDRef type")
    return sourced_id


def _refs(
    value: Any, name: str, kinds: frozenset[str], errors: _Reasons, *, required: bool
) -> tuple[str, ...]:
    """A GUIDRef list. Entries of an optional list that are empty are skipped, like the
    list itself when it is empty; a required list must hold valid references only."""
    if _absent(value, name, errors, required=required):
        return ()
    if type(value) is not list:
        errors.append(f"{name} must be a list of GUIDRefs")
        return ()
    out = []
    for i, item in enumerate(value):
        sid = _ref(item, f"{name}[{i}]", kinds, errors, required=required)
        if sid is not None:
            out.append(sid)
    if required and not value:
        errors.append(f"{name} must list at least one reference")
    return tuple(out)


def split_list(value: str) -> tuple[str, ...]:
    """A string list sent as one string: CSV-shaped producers join it with commas
    (``"09,10"``), as the OneRoster CSV binding writes such columns."""
    if "," not in value:
        return (value,)
    return tuple([part for part in (p.strip() for p in value.split(",")) if part])


def _strings(value: Any, name: str, errors: _Reasons) -> tuple[str, ...]:
    """A list of strings (or one comma-separated string); empty, blank and null entries are
    skipped, and whole numbers read as strings."""
    if value is None or blank(value):
        return ()
    if type(value) is str:
        return split_list(value)
    if type(value) is not list or any(type(v) not in (str, int) and v is not None for v in value):
        errors.append(f"{name} must be a list of strings")
        return ()
    return tuple([str(v) for v in value if v is not None and not blank(v)])


def _bool(value: Any, name: str, errors: _Reasons, default: bool | None) -> bool | None:
    if value is None or blank(value):
        return default
    if type(value) in (bool, str):
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
    if type(value) in (str, int):
        folded = str(value).strip().casefold()
        if folded in _TRUE_FOLDED:
            return True
        if folded in _FALSE_FOLDED:
            return False
    errors.append(f"{name} must be a boolean")
    return default


def _number(value: Any, name: str, errors: _Reasons, *, required: bool) -> float | None:
    if _absent(value, name, errors, required=required):
        return None
    if type(value) in (int, float):
        number = float(value)
        if math.isfinite(number):
            return number
    elif type(value) is str:
        # Lenient: numbers as strings ("17.5") are common in hand-written providers.
        try:
            number = float(value)
        except ValueError:
            pass
        else:
            if math.isfinite(number):
                return number
    errors.append(f"{name} must be a finite number")
    return None


def _base(obj: dict, errors: _Reasons) -> tuple[str, str, dt.datetime | None]:
    sourced_id = _text(obj.get("sourcedId"), "sourcedId", errors, required=True)
    status = obj.get("status")
    if type(status) is not str or status not in STATUSES:
        status = _enum(status, "status", STATUSES, errors)
    modified = _timestamp(obj.get("dateLastModified"), "dateLastModified", errors, required=True)
    return sourced_id, status, modified


# --- one builder per record type -------------------------------------------------------


def _org(o: dict, e: _Reasons) -> Org:
    sid, status, modified = _base(o, e)
    return Org(
        sourced_id=sid,
        status=status,
        date_last_modified=modified,
        name=_text(o.get("name"), "name", e, required=True),
        type=_enum(o.get("type"), "type", ORG_TYPES, e),
        identifier=_text(o.get("identifier"), "identifier", e, required=False),
        parent=_ref(o.get("parent"), "parent", ORG_REF_TYPES, e, required=False),
        children=_refs(o.get("children"), "children", ORG_REF_TYPES, e, required=False),
    )


def _session(o: dict, e: _Reasons) -> AcademicSession:
    sid, status, modified = _base(o, e)
    start = _date(o.get("startDate"), "startDate", e, required=True)
    end = _date(o.get("endDate"), "endDate", e, required=True)
    if start and end and end < start:
        e.append("endDate is before startDate")
    return AcademicSession(
        sourced_id=sid,
        status=status,
        date_last_modified=modified,
        title=_text(o.get("title"), "title", e, required=True),
        type=_enum(o.get("type"), "type", SESSION_TYPES, e),
        start_date=start or dt.date.min,
        end_date=end or dt.date.min,
        school_year=_text(o.get("schoolYear"), "schoolYear", e, required=True),
        parent=_ref(o.get("parent"), "parent", SESSION_REF_TYPES, e, required=False),
        children=_refs(o.get("children"), "children", SESSION_REF_TYPES, e, required=False),
    )


def _course(o: dict, e: _Reasons) -> Course:
    sid, status, modified = _base(o, e)
    return Course(
        sourced_id=sid,
        status=status,
        date_last_modified=modified,
        title=_text(o.get("title"), "title", e, required=True),
        course_code=_text(o.get("courseCode"), "courseCode", e, required=True),
        org=_ref(o.get("org"), "org", ORG_REF_TYPES, e, required=False) or "",
        school_year=_ref(o.get("schoolYear"), "schoolYear", SESSION_REF_TYPES, e, required=False),
        subjects=_strings(o.get("subjects"), "subjects", e),
    )


def _class(o: dict, e: _Reasons) -> Class:
    sid, status, modified = _base(o, e)
    return Class(
        sourced_id=sid,
        status=status,
        date_last_modified=modified,
        title=_text(o.get("title"), "title", e, required=True),
        class_code=_text(o.get("classCode"), "classCode", e, required=False),
        class_type=_enum(o.get("classType"), "classType", CLASS_TYPES, e, required=False)
        or "scheduled",
        # course and terms are "strict" fields: a class without them cannot be placed in
        # a Canvas course and term, so it is invalid here rather than a silent default.
        course=_ref(o.get("course"), "course", COURSE_REF_TYPES, e, required=True) or "",
        school=_ref(o.get("school"), "school", ORG_REF_TYPES, e, required=True) or "",
        terms=_refs(o.get("terms"), "terms", SESSION_REF_TYPES, e, required=True),
        location=_text(o.get("location"), "location", e, required=False),
        periods=_strings(o.get("periods"), "periods", e),
        subjects=_strings(o.get("subjects"), "subjects", e),
    )


def _user_ids(value: Any, e: _Reasons) -> tuple[tuple[str, str], ...]:
    """(type, identifier) pairs. An entry without an identifier (left out, null, empty or
    blank) says nothing and is skipped, like an empty entry or an empty list; the rest of the
    user is still good. A numeric identifier (a state id) reads as its string."""
    if value is None or blank(value):
        return ()
    if type(value) is not list:
        e.append("userIds must be a list")
        return ()
    out = []
    for i, item in enumerate(value):
        if item is None or blank(item):
            continue
        if type(item) is not dict:
            e.append(f"userIds[{i}] must be an object with an identifier")
            continue
        identifier = item.get("identifier")
        identifier = _whole_number(identifier) or identifier
        if identifier is not None and type(identifier) is not str:
            e.append(f"userIds[{i}] needs a string identifier")
            continue
        if identifier and not identifier.isspace():
            kind = item.get("type")
            out.append((kind if type(kind) is str and not blank(kind) else "", identifier))
    return tuple(out)


def _user(o: dict, e: _Reasons) -> User:
    sid, status, modified = _base(o, e)
    return User(
        sourced_id=sid,
        status=status,
        date_last_modified=modified,
        enabled_user=_bool(o.get("enabledUser"), "enabledUser", e, True),
        username=_text(o.get("username"), "username", e, required=True),
        given_name=_text(o.get("givenName"), "givenName", e, required=True),
        family_name=_text(o.get("familyName"), "familyName", e, required=True),
        role=_enum(o.get("role"), "role", ROLES, e),
        orgs=_refs(o.get("orgs"), "orgs", ORG_REF_TYPES, e, required=True),
        middle_name=_text(o.get("middleName"), "middleName", e, required=False),
        identifier=_text(o.get("identifier"), "identifier", e, required=False),
        email=_text(o.get("email"), "email", e, required=False),
        sms=_text(o.get("sms"), "sms", e, required=False),
        phone=_text(o.get("phone"), "phone", e, required=False),
        agents=_refs(o.get("agents"), "agents", USER_REF_TYPES, e, required=False),
        grades=_strings(o.get("grades"), "grades", e),
        user_ids=_user_ids(o.get("userIds"), e),
    )


def _enrollment(o: dict, e: _Reasons) -> Enrollment:
    sid, status, modified = _base(o, e)
    begin = _date(o.get("beginDate"), "beginDate", e, required=False)
    end = _date(o.get("endDate"), "endDate", e, required=False)
    return Enrollment(
        sourced_id=sid,
        status=status,
        date_last_modified=modified,
        user=_ref(o.get("user"), "user", USER_REF_TYPES, e, required=True) or "",
        class_=_ref(o.get("class"), "class", CLASS_REF_TYPES, e, required=True) or "",
        school=_ref(o.get("school"), "school", ORG_REF_TYPES, e, required=True) or "",
        role=_enum(o.get("role"), "role", ROLES, e),
        primary=_bool(o.get("primary"), "primary", e, None),
        begin_date=begin,
        end_date=end,
    )


def _demographics(o: dict, e: _Reasons) -> Demographics:
    sid, status, modified = _base(o, e)
    return Demographics(
        sourced_id=sid,
        status=status,
        date_last_modified=modified,
        birth_date=_date(o.get("birthDate"), "birthDate", e, required=False),
        sex=_enum(o.get("sex"), "sex", SEXES, e, required=False),
    )


def _category(o: dict, e: _Reasons) -> Category:
    sid, status, modified = _base(o, e)
    return Category(
        sourced_id=sid,
        status=status,
        date_last_modified=modified,
        title=_text(o.get("title"), "title", e, required=True),
    )


def _line_item(o: dict, e: _Reasons) -> LineItem:
    sid, status, modified = _base(o, e)
    assign = _timestamp(o.get("assignDate"), "assignDate", e, required=True)
    due = _timestamp(o.get("dueDate"), "dueDate", e, required=True)
    low = _number(o.get("resultValueMin"), "resultValueMin", e, required=True)
    high = _number(o.get("resultValueMax"), "resultValueMax", e, required=False)
    return LineItem(
        sourced_id=sid,
        status=status,
        date_last_modified=modified,
        title=_text(o.get("title"), "title", e, required=True),
        assign_date=assign or dt.datetime.min.replace(tzinfo=dt.UTC),
        due_date=due or dt.datetime.min.replace(tzinfo=dt.UTC),
        class_=_ref(o.get("class"), "class", CLASS_REF_TYPES, e, required=True) or "",
        # IC 1.1 relaxes category and gradingPeriod (placeholder / derived from dueDate).
        category=_ref(o.get("category"), "category", CATEGORY_REF_TYPES, e, required=False) or "",
        grading_period=_ref(
            o.get("gradingPeriod"), "gradingPeriod", SESSION_REF_TYPES, e, required=False
        )
        or "",
        result_value_min=low if low is not None else 0.0,
        result_value_max=high if high is not None else 0.0,
        description=_text(o.get("description"), "description", e, required=False),
    )


def _result(o: dict, e: _Reasons) -> Result:
    sid, status, modified = _base(o, e)
    return Result(
        sourced_id=sid,
        status=status,
        date_last_modified=modified,
        line_item=_ref(o.get("lineItem"), "lineItem", LINEITEM_REF_TYPES, e, required=True) or "",
        student=_ref(o.get("student"), "student", STUDENT_REF_TYPES, e, required=True) or "",
        score_status=_enum(o.get("scoreStatus"), "scoreStatus", SCORE_STATUSES, e),
        score=_number(o.get("score"), "score", e, required=True),
        score_date=_date(o.get("scoreDate"), "scoreDate", e, required=True) or dt.date.min,
        comment=_text(o.get("comment"), "comment", e, required=False),
    )


# --- cached conversions for the page decoder (``wire.py``) -------------------------------
#
# A large district's millions of records share a few hundred thousand distinct timestamps
# and a handful of dates, so each string is parsed once and the value object shared.

DATE_CACHE: dict[str, dt.date] = {}
DATE_CACHE_MAX = 100_000


def cached_timestamp(value: str) -> dt.datetime | None:
    """A ``date-time`` string as an aware datetime, ``None`` if it is not one."""
    cached = TIMESTAMP_CACHE.get(value)
    if cached is None:
        cached = _timestamp(value, "", _Reasons(), required=True)
    return cached


def cached_date(value: str) -> dt.date:
    """A ``YYYY-MM-DD`` string as a date; raises ``ValueError`` on anything else (the
    decoder then leaves the page to the generic validator, which explains the problem)."""
    cached = DATE_CACHE.get(value)
    if cached is None:
        if len(value) != 10:
            raise ValueError(value)
        cached = dt.date.fromisoformat(value)
        if len(DATE_CACHE) >= DATE_CACHE_MAX:
            DATE_CACHE.clear()
        DATE_CACHE[value] = cached
    return cached


_BUILDERS: dict[str, Callable[[dict, _Reasons], Record]] = {
    "orgs": _org,
    "academicSessions": _session,
    "courses": _course,
    "classes": _class,
    "users": _user,
    "enrollments": _enrollment,
    "demographics": _demographics,
    "categories": _category,
    "lineItems": _line_item,
    "results": _result,
}
# Typed subsets parse like their parent collection.
PARSERS: dict[str, Callable[[dict, _Reasons], Record]] = {
    name: _BUILDERS[key] for name, key in COLLECTION_KEYS.items()
}


def parse_record(collection: str, obj: Any) -> Record | InvalidRecord:
    """One JSON object of ``collection`` → a typed record, or ``InvalidRecord`` with reasons.

    Never raises (unknown collections included: they yield ``InvalidRecord``).
    """
    builder = PARSERS.get(collection)
    if builder is None:
        return InvalidRecord(collection, None, (f"unknown collection {collection!r}",), obj)
    if type(obj) is not dict:
        return InvalidRecord(collection, None, ("record is not a JSON object",), obj)
    errors = _Reasons()
    try:
        record = builder(obj, errors)
    except Exception as exc:  # noqa: BLE001 - the contract is "never raises"; keep the reason
        errors.append(f"unreadable record ({type(exc).__name__})")
        record = None
    if errors or record is None:
        sid = obj.get("sourcedId")
        return InvalidRecord(collection, sid if type(sid) is str else None, tuple(errors), obj)
    return record


def parse_page(collection: str, rows: list) -> list[Record | InvalidRecord]:
    """``parse_record`` over a page of decoded JSON objects."""
    return [parse_record(collection, row) for row in rows]
