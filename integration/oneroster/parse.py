"""Validate OneRoster 1.1 JSON objects into typed records (``records.py``).

``parse_record(collection, obj)`` never raises, whatever JSON it is given: a record that
breaks the 1.1 rules (required fields, exact enumeration spellings, GUIDRef shapes, dates)
comes back as ``InvalidRecord`` with every reason found, so one bad row never stops a
stream. Lenient where real providers differ (recommendations of the 1.1 reference):
booleans may arrive as ``"true"``/``"false"``, ``periods`` as a string or a list, GUIDRef
``href`` is ignored (records keep sourcedIds only; writers omit it), ``scoreDate`` may carry
a time, ``date-time`` without an offset is read as UTC.

This is the hot path of a full read (millions of enrollments), hence the plain,
branch-light code and the small timestamp cache.
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
_ORG_REF = frozenset({"org"})
_SESSION_REF = frozenset({"academicSession", "term", "gradingPeriod"})
_USER_REF = frozenset({"user", "student", "teacher"})
_CLASS_REF = frozenset({"class"})
_COURSE_REF = frozenset({"course"})
_CATEGORY_REF = frozenset({"category"})
_LINEITEM_REF = frozenset({"lineItem"})
_STUDENT_REF = frozenset({"student", "user"})

_TRUE = frozenset({True, "true", "True", "TRUE"})
_FALSE = frozenset({False, "false", "False", "FALSE"})

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

_TS_CACHE: dict[str, dt.datetime] = {}
_TS_CACHE_MAX = 200_000


def _timestamp(value: Any, name: str, errors: _Reasons, *, required: bool) -> dt.datetime | None:
    if value is None:
        if required:
            errors.append(f"{name} is required")
        return None
    if type(value) is not str:
        errors.append(f"{name} must be a date-time string")
        return None
    cached = _TS_CACHE.get(value)
    if cached is not None:
        return cached
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        errors.append(f"{name} is not an ISO 8601 date-time: {value[:40]!r}")
        return None
    if len(value) < 11:  # a bare date is not a date-time
        errors.append(f"{name} is a date, not a date-time: {value[:40]!r}")
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    if len(_TS_CACHE) >= _TS_CACHE_MAX:
        _TS_CACHE.clear()
    _TS_CACHE[value] = parsed
    return parsed


def _date(value: Any, name: str, errors: _Reasons, *, required: bool) -> dt.date | None:
    if value is None:
        if required:
            errors.append(f"{name} is required")
        return None
    if type(value) is not str:
        errors.append(f"{name} must be a YYYY-MM-DD string")
        return None
    try:
        if len(value) == 10:
            return dt.date.fromisoformat(value)
        # Lenient: some writers send a full date-time where 1.1 says date.
        return dt.datetime.fromisoformat(value).date()
    except ValueError:
        errors.append(f"{name} is not an ISO 8601 date: {value[:40]!r}")
        return None


def _text(value: Any, name: str, errors: _Reasons, *, required: bool) -> str:
    if type(value) is str:
        if required and not value:
            errors.append(f"{name} must not be empty")
        return value
    if value is None:
        if required:
            errors.append(f"{name} is required")
        return ""
    errors.append(f"{name} must be a string")
    return ""


def _enum(value: Any, name: str, allowed: frozenset[str], errors: _Reasons) -> str:
    if type(value) is str and value in allowed:
        return value
    if value is None:
        errors.append(f"{name} is required")
    else:
        errors.append(f"{name} {str(value)[:40]!r} is not one of {sorted(allowed)}")
    return ""


def _ref(
    value: Any, name: str, kinds: frozenset[str], errors: _Reasons, *, required: bool
) -> str | None:
    if value is None:
        if required:
            errors.append(f"{name} is required")
        return None
    if type(value) is not dict:
        errors.append(f"{name} must be a GUIDRef object")
        return None
    sourced_id = value.get("sourcedId")
    if type(sourced_id) is not str or not sourced_id:
        errors.append(f"{name}.sourcedId must be a non-empty string")
        return None
    kind = value.get("type")
    if kind is not None and (type(kind) is not str or kind not in kinds):
        if type(kind) is str and kind in GUIDREF_TYPES:
            errors.append(f"{name}.type {kind!r} cannot be a {name} reference")
        else:
            errors.append(f"{name}.type {str(kind)[:40]!r} is not a GUIDRef type")
    return sourced_id


def _refs(
    value: Any, name: str, kinds: frozenset[str], errors: _Reasons, *, required: bool
) -> tuple[str, ...]:
    if value is None:
        if required:
            errors.append(f"{name} is required")
        return ()
    if type(value) is not list:
        errors.append(f"{name} must be a list of GUIDRefs")
        return ()
    out = []
    for i, item in enumerate(value):
        sid = _ref(item, f"{name}[{i}]", kinds, errors, required=True)
        if sid is not None:
            out.append(sid)
    if required and not value:
        errors.append(f"{name} must list at least one reference")
    return tuple(out)


def _strings(value: Any, name: str, errors: _Reasons) -> tuple[str, ...]:
    if value is None:
        return ()
    if type(value) is str:
        return (value,) if value else ()
    if type(value) is not list or any(type(v) is not str for v in value):
        errors.append(f"{name} must be a list of strings")
        return ()
    return tuple(value)


def _bool(value: Any, name: str, errors: _Reasons, default: bool | None) -> bool | None:
    if value is None:
        return default
    if type(value) in (bool, str):
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
    errors.append(f"{name} must be a boolean")
    return default


def _number(value: Any, name: str, errors: _Reasons, *, required: bool) -> float | None:
    if value is None:
        if required:
            errors.append(f"{name} is required")
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
        parent=_ref(o.get("parent"), "parent", _ORG_REF, e, required=False),
        children=_refs(o.get("children"), "children", _ORG_REF, e, required=False),
    )


def _session(o: dict, e: _Reasons) -> AcademicSession:
    sid, status, modified = _base(o, e)
    start = _date(o.get("startDate"), "startDate", e, required=True)
    end = _date(o.get("endDate"), "endDate", e, required=True)
    if start and end and end < start:
        e.append("endDate is before startDate")
    school_year = o.get("schoolYear")
    if type(school_year) is int:
        school_year = str(school_year)
    return AcademicSession(
        sourced_id=sid,
        status=status,
        date_last_modified=modified,
        title=_text(o.get("title"), "title", e, required=True),
        type=_enum(o.get("type"), "type", SESSION_TYPES, e),
        start_date=start or dt.date.min,
        end_date=end or dt.date.min,
        school_year=_text(school_year, "schoolYear", e, required=True),
        parent=_ref(o.get("parent"), "parent", _SESSION_REF, e, required=False),
        children=_refs(o.get("children"), "children", _SESSION_REF, e, required=False),
    )


def _course(o: dict, e: _Reasons) -> Course:
    sid, status, modified = _base(o, e)
    return Course(
        sourced_id=sid,
        status=status,
        date_last_modified=modified,
        title=_text(o.get("title"), "title", e, required=True),
        course_code=_text(o.get("courseCode"), "courseCode", e, required=True),
        org=_ref(o.get("org"), "org", _ORG_REF, e, required=False) or "",
        school_year=_ref(o.get("schoolYear"), "schoolYear", _SESSION_REF, e, required=False),
        subjects=_strings(o.get("subjects"), "subjects", e),
    )


def _class(o: dict, e: _Reasons) -> Class:
    sid, status, modified = _base(o, e)
    class_type = o.get("classType")
    return Class(
        sourced_id=sid,
        status=status,
        date_last_modified=modified,
        title=_text(o.get("title"), "title", e, required=True),
        class_code=_text(o.get("classCode"), "classCode", e, required=False),
        class_type=_enum(class_type, "classType", CLASS_TYPES, e)
        if class_type is not None
        else "scheduled",
        # course and terms are "strict" fields: a class without them cannot be placed in
        # a Canvas course and term, so it is invalid here rather than a silent default.
        course=_ref(o.get("course"), "course", _COURSE_REF, e, required=True) or "",
        school=_ref(o.get("school"), "school", _ORG_REF, e, required=True) or "",
        terms=_refs(o.get("terms"), "terms", _SESSION_REF, e, required=True),
        location=_text(o.get("location"), "location", e, required=False),
        periods=_strings(o.get("periods"), "periods", e),
        subjects=_strings(o.get("subjects"), "subjects", e),
    )


def _user_ids(value: Any, e: _Reasons) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if type(value) is not list:
        e.append("userIds must be a list")
        return ()
    out = []
    for i, item in enumerate(value):
        if type(item) is not dict or type(item.get("identifier")) is not str:
            e.append(f"userIds[{i}] needs a string identifier")
            continue
        kind = item.get("type", "")
        out.append((kind if type(kind) is str else "", item["identifier"]))
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
        orgs=_refs(o.get("orgs"), "orgs", _ORG_REF, e, required=True),
        middle_name=_text(o.get("middleName"), "middleName", e, required=False),
        identifier=_text(o.get("identifier"), "identifier", e, required=False),
        email=_text(o.get("email"), "email", e, required=False),
        sms=_text(o.get("sms"), "sms", e, required=False),
        phone=_text(o.get("phone"), "phone", e, required=False),
        agents=_refs(o.get("agents"), "agents", _USER_REF, e, required=False),
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
        user=_ref(o.get("user"), "user", _USER_REF, e, required=True) or "",
        class_=_ref(o.get("class"), "class", _CLASS_REF, e, required=True) or "",
        school=_ref(o.get("school"), "school", _ORG_REF, e, required=True) or "",
        role=_enum(o.get("role"), "role", ROLES, e),
        primary=_bool(o.get("primary"), "primary", e, None),
        begin_date=begin,
        end_date=end,
    )


def _demographics(o: dict, e: _Reasons) -> Demographics:
    sid, status, modified = _base(o, e)
    sex = o.get("sex")
    return Demographics(
        sourced_id=sid,
        status=status,
        date_last_modified=modified,
        birth_date=_date(o.get("birthDate"), "birthDate", e, required=False),
        sex=_enum(sex, "sex", SEXES, e) if sex is not None else "",
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
        class_=_ref(o.get("class"), "class", _CLASS_REF, e, required=True) or "",
        # IC 1.1 relaxes category and gradingPeriod (placeholder / derived from dueDate).
        category=_ref(o.get("category"), "category", _CATEGORY_REF, e, required=False) or "",
        grading_period=_ref(
            o.get("gradingPeriod"), "gradingPeriod", _SESSION_REF, e, required=False
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
        line_item=_ref(o.get("lineItem"), "lineItem", _LINEITEM_REF, e, required=True) or "",
        student=_ref(o.get("student"), "student", _STUDENT_REF, e, required=True) or "",
        score_status=_enum(o.get("scoreStatus"), "scoreStatus", SCORE_STATUSES, e),
        score=_number(o.get("score"), "score", e, required=True),
        score_date=_date(o.get("scoreDate"), "scoreDate", e, required=True) or dt.date.min,
        comment=_text(o.get("comment"), "comment", e, required=False),
    )


# --- fast paths for the big collections -----------------------------------------------
#
# A full read parses millions of enrollments and users; the generic builders above cost
# several microseconds per record in helper calls and in the frozen dataclass __init__.
# These accept only the plainly valid shape and build the record through its slot
# descriptors; anything unusual returns None and takes the generic path, which produces
# the reasons. ``tests/integration/oneroster/test_parse_properties.py`` checks that a fast
# path never accepts what the generic path rejects, and builds equal records.

_new = object.__new__
_DATE_CACHE: dict[str, dt.date] = {}


def _setters(cls: type) -> tuple:
    return tuple(getattr(cls, f).__set__ for f in cls.__dataclass_fields__)


def _fast_ts(value: Any) -> dt.datetime | None:
    cached = _TS_CACHE.get(value) if type(value) is str else None
    if cached is None and type(value) is str:
        cached = _timestamp(value, "", _Reasons(), required=True)
    return cached


def _fast_date(value: str) -> dt.date:
    cached = _DATE_CACHE.get(value)
    if cached is None:
        if type(value) is not str or len(value) != 10:
            raise ValueError(value)
        cached = dt.date.fromisoformat(value)
        if len(_DATE_CACHE) > 100_000:
            _DATE_CACHE.clear()
        _DATE_CACHE[value] = cached
    return cached


def _fast_ref(ref: Any, kinds: frozenset[str]) -> str | None:
    if type(ref) is not dict:
        return None
    sid = ref.get("sourcedId")
    kind = ref.get("type")
    if type(sid) is str and sid and (kind is None or (type(kind) is str and kind in kinds)):
        return sid
    return None


def _fast_refs(refs: Any, kinds: frozenset[str], *, required: bool) -> tuple[str, ...] | None:
    if refs is None:
        return None if required else ()
    if type(refs) is not list or (required and not refs):
        return None
    out = []
    for ref in refs:
        sid = _fast_ref(ref, kinds)
        if sid is None:
            return None
        out.append(sid)
    return tuple(out)


def _fast_base(o: dict) -> tuple[str, str, dt.datetime] | None:
    sid = o.get("sourcedId")
    status = o.get("status")
    if type(sid) is not str or not sid or type(status) is not str or status not in STATUSES:
        return None
    modified = _fast_ts(o.get("dateLastModified"))
    if modified is None:
        return None
    return sid, status, modified


def _opt_text(value: Any) -> str | None:
    if value is None:
        return ""
    return value if type(value) is str else None


def _opt_strings(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return ()
    if type(value) is str:
        return (value,) if value else ()
    if type(value) is list and all(type(v) is str for v in value):
        return tuple(value)
    return None


_E = _setters(Enrollment)


def _fast_enrollment(o: dict) -> Enrollment | None:
    # Inlined on purpose: this runs for every one of millions of enrollments.
    # Subscripts raise KeyError/TypeError on anything unusual; the caller then takes the
    # generic path.
    sid = o["sourcedId"]
    status = o["status"]
    role = o["role"]
    user_ref = o["user"]
    class_ref = o["class"]
    school_ref = o["school"]
    user = user_ref["sourcedId"]
    klass = class_ref["sourcedId"]
    school = school_ref["sourcedId"]
    if not (
        type(sid) is str
        and sid
        and status in STATUSES
        and role in ROLES
        and type(user) is str
        and user
        and type(klass) is str
        and klass
        and type(school) is str
        and school
    ):
        return None
    kind = user_ref.get("type")
    if kind is not None and kind not in _USER_REF:
        return None
    kind = class_ref.get("type")
    if kind is not None and kind not in _CLASS_REF:
        return None
    kind = school_ref.get("type")
    if kind is not None and kind not in _ORG_REF:
        return None
    stamp = o["dateLastModified"]
    modified = _TS_CACHE.get(stamp) if type(stamp) is str else None
    if modified is None:
        modified = _fast_ts(stamp)
        if modified is None:
            return None
    primary = o.get("primary")
    if primary is not None and type(primary) is not bool:
        return None
    begin = o.get("beginDate")
    end = o.get("endDate")
    if begin is not None:
        begin = _DATE_CACHE.get(begin) or _fast_date(begin)
    if end is not None:
        end = _DATE_CACHE.get(end) or _fast_date(end)
    r = _new(Enrollment)
    s = _E
    s[0](r, sid)
    s[1](r, status)
    s[2](r, modified)
    s[3](r, user)
    s[4](r, klass)
    s[5](r, school)
    s[6](r, role)
    s[7](r, primary)
    s[8](r, begin)
    s[9](r, end)
    return r


_U = _setters(User)


def _fast_user_ids(value: Any) -> tuple[tuple[str, str], ...] | None:
    if value is None:
        return ()
    if type(value) is not list:
        return None
    out = []
    for item in value:
        if type(item) is not dict:
            return None
        identifier = item.get("identifier")
        kind = item.get("type", "")
        if type(identifier) is not str or type(kind) is not str:
            return None
        out.append((kind, identifier))
    return tuple(out)


def _fast_user(o: dict) -> User | None:
    # Inlined like _fast_enrollment: half a million users in a large district.
    sid = o["sourcedId"]
    status = o["status"]
    role = o["role"]
    username = o["username"]
    given = o["givenName"]
    family = o["familyName"]
    enabled = o.get("enabledUser", True)
    if not (
        type(sid) is str
        and sid
        and status in STATUSES
        and role in ROLES
        and type(username) is str
        and username
        and type(given) is str
        and given
        and type(family) is str
        and family
        and type(enabled) is bool
    ):
        return None
    stamp = o["dateLastModified"]
    modified = _TS_CACHE.get(stamp) if type(stamp) is str else None
    if modified is None:
        modified = _fast_ts(stamp)
        if modified is None:
            return None
    texts = []
    for name in ("middleName", "identifier", "email", "sms", "phone"):
        value = o.get(name)
        if value is None:
            value = ""
        elif type(value) is not str:
            return None
        texts.append(value)
    orgs = _fast_refs(o["orgs"], _ORG_REF, required=True)
    agents = _fast_refs(o.get("agents"), _USER_REF, required=False)
    grades = _opt_strings(o.get("grades"))
    user_ids = _fast_user_ids(o.get("userIds"))
    if orgs is None or agents is None or grades is None or user_ids is None:
        return None
    r = _new(User)
    s = _U
    s[0](r, sid)
    s[1](r, status)
    s[2](r, modified)
    s[3](r, enabled)
    s[4](r, username)
    s[5](r, given)
    s[6](r, family)
    s[7](r, role)
    s[8](r, orgs)
    s[9](r, texts[0])
    s[10](r, texts[1])
    s[11](r, texts[2])
    s[12](r, texts[3])
    s[13](r, texts[4])
    s[14](r, agents)
    s[15](r, grades)
    s[16](r, user_ids)
    return r


_C = _setters(Class)


def _fast_class(o: dict) -> Class | None:
    base = _fast_base(o)
    title = o.get("title")
    class_type = o.get("classType", "scheduled")
    if (
        base is None
        or type(title) is not str
        or not title
        or type(class_type) is not str
        or class_type not in CLASS_TYPES
    ):
        return None
    course = _fast_ref(o.get("course"), _COURSE_REF)
    school = _fast_ref(o.get("school"), _ORG_REF)
    terms = _fast_refs(o.get("terms"), _SESSION_REF, required=True)
    code = _opt_text(o.get("classCode"))
    location = _opt_text(o.get("location"))
    periods = _opt_strings(o.get("periods"))
    subjects = _opt_strings(o.get("subjects"))
    if (
        course is None
        or school is None
        or terms is None
        or code is None
        or location is None
        or periods is None
        or subjects is None
    ):
        return None
    r = _new(Class)
    s = _C
    s[0](r, base[0])
    s[1](r, base[1])
    s[2](r, base[2])
    s[3](r, title)
    s[4](r, code)
    s[5](r, class_type)
    s[6](r, course)
    s[7](r, school)
    s[8](r, terms)
    s[9](r, location)
    s[10](r, periods)
    s[11](r, subjects)
    return r


_FAST: dict[str, Callable[[dict], Record | None]] = {
    "enrollments": _fast_enrollment,
    "users": _fast_user,
    "students": _fast_user,
    "teachers": _fast_user,
    "classes": _fast_class,
}


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
    fast = _FAST.get(collection)
    if fast is not None:
        try:
            record = fast(obj)
        except Exception:  # noqa: BLE001 - any surprise: the generic path explains it
            record = None
        if record is not None:
            return record
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
    """``parse_record`` over a page, with the fast path looked up once (hot loop)."""
    fast = _FAST.get(collection)
    if fast is None:
        return [parse_record(collection, row) for row in rows]
    out: list[Record | InvalidRecord] = []
    append = out.append
    for row in rows:
        try:
            record = fast(row) if type(row) is dict else None
        except Exception:  # noqa: BLE001 - anything unusual: the generic path explains it
            record = None
        append(record if record is not None else parse_record(collection, row))
    return out
