"""Parsing never raises: any JSON yields a typed record or an InvalidRecord with reasons.

Also: the page decoder for the big collections (``wire.py``) never accepts what the
generic validator rejects, and builds equal records.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integration.oneroster.parse import COLLECTION_KEYS, parse_record
from integration.oneroster.records import InvalidRecord
from integration.oneroster.wire import decode_page

COLLECTIONS = sorted(COLLECTION_KEYS)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=20,
)


def _ref(kind: str) -> st.SearchStrategy:
    return st.fixed_dictionaries(
        {"sourcedId": st.sampled_from(["x1", "s12"])},
        optional={
            "type": st.just(kind),
            "href": st.sampled_from(["https://x.example/a", None]),
        },
    )


timestamps = st.sampled_from(
    ["2026-01-01T00:00:00Z", "2026-01-01T00:00:00+02:00", "2026-01-01T00:00:00.5Z"]
)
dates = st.sampled_from(["2026-01-02", "2026-08-31", None])


@st.composite
def _corrupted(draw, fields: dict) -> dict:
    """A plausible record (every field from its own strategy), then up to two fields
    dropped or replaced by arbitrary JSON: mostly valid, sometimes subtly not."""
    obj = draw(st.fixed_dictionaries(fields))
    for name in draw(st.lists(st.sampled_from(sorted(fields)), max_size=2, unique=True)):
        if draw(st.booleans()):
            del obj[name]
        else:
            obj[name] = draw(st.sampled_from(SUBTLE) | json_values)
    return obj


#: Near misses real providers send: wrong case, dates for date-times, empty references.
SUBTLE = [
    "",
    "Active",
    "Student",
    "fully_graded",
    "2026-01-01",
    "2026-13-01",
    "2026-01-01T00:00:00Z",
    {"sourcedId": ""},
    {"sourcedId": "x", "type": "Class"},
    [],
    [{"sourcedId": 1}],
    ["09", 9],
    "true",
    "1",
    0,
    None,
]


def _near_valid(fields: dict) -> st.SearchStrategy:
    return _corrupted(fields)


BASE = {
    "sourcedId": st.sampled_from(["id-1", "s1234", "Ω-7"]),
    "status": st.sampled_from(["active", "tobedeleted"]),
    "dateLastModified": timestamps,
}
NEAR_VALID = {
    "enrollments": _near_valid(
        {
            **BASE,
            "user": _ref("user"),
            "class": _ref("class"),
            "school": _ref("org"),
            "role": st.sampled_from(["student", "teacher"]),
            "primary": st.sampled_from([True, False, None, "true"]),
            "beginDate": dates,
            "endDate": dates,
        }
    ),
    "users": _near_valid(
        {
            **BASE,
            "username": st.sampled_from(["jdoe", "zoe.o"]),
            "givenName": st.sampled_from(["Zoë", "Ana Sofía"]),
            "familyName": st.sampled_from(["O'Brien", "Smith, Jr."]),
            "role": st.sampled_from(["student", "guardian", "parent"]),
            "enabledUser": st.sampled_from([True, False, "false"]),
            "orgs": st.lists(_ref("org"), min_size=1, max_size=2),
            "agents": st.lists(_ref("user"), max_size=2),
            "middleName": st.sampled_from(["", "Ann"]),
            "email": st.just("a@b.example"),
            "grades": st.sampled_from([["09"], "09", []]),
            "userIds": st.lists(
                st.fixed_dictionaries({"type": st.just("personID"), "identifier": st.text()}),
                max_size=2,
            ),
        }
    ),
    "classes": _near_valid(
        {
            **BASE,
            "title": st.sampled_from(["Algebra I - P1", "Español I"]),
            "classCode": st.just("A1"),
            "classType": st.sampled_from(["scheduled", "homeroom"]),
            "course": _ref("course"),
            "school": _ref("org"),
            "terms": st.lists(_ref("academicSession"), min_size=1, max_size=3),
            "periods": st.sampled_from(["1", ["1", "2"]]),
            "subjects": st.sampled_from([["Math"], None]),
            "location": st.just("Room 1"),
        }
    ),
}


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(collection=st.sampled_from(COLLECTIONS), obj=json_values)
def test_arbitrary_json_never_raises(collection, obj):
    result = parse_record(collection, obj)
    if isinstance(result, InvalidRecord):
        assert result.reasons
        assert result.collection == collection
    else:
        assert type(result).__name__ != "dict"


RECORD_KEYS = [
    "sourcedId",
    "status",
    "dateLastModified",
    "title",
    "type",
    "role",
    "user",
    "class",
    "school",
    "orgs",
    "terms",
    "score",
    "scoreStatus",
    "lineItem",
    "student",
    "startDate",
    "endDate",
    "schoolYear",
    "assignDate",
    "dueDate",
    "resultValueMin",
]


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(data=st.data(), collection=st.sampled_from(COLLECTIONS))
def test_arbitrary_objects_with_record_keys_never_raise(data, collection):
    obj = data.draw(st.dictionaries(st.sampled_from(RECORD_KEYS), json_values, max_size=10))
    result = parse_record(collection, obj)
    assert isinstance(result, InvalidRecord) == bool(getattr(result, "reasons", ()))


def _page(collection: str, *records: dict) -> bytes | None:
    """A page body as a server sends it; ``None`` if a value (NaN) has no JSON form."""
    try:
        return json.dumps({COLLECTION_KEYS[collection]: list(records)}, allow_nan=False).encode()
    except ValueError:
        return None


@pytest.mark.parametrize("collection", sorted(NEAR_VALID))
@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(data=st.data())
def test_page_decoder_agrees_with_the_generic_validator(collection, data):
    content = _page(collection, data.draw(NEAR_VALID[collection]))
    if content is None:
        return
    decoded = decode_page(collection, content)
    generic = parse_record(collection, json.loads(content)[COLLECTION_KEYS[collection]][0])
    if decoded is not None:
        assert not isinstance(generic, InvalidRecord), (
            f"the page decoder accepted what the validator rejects: {generic.reasons}"
        )
        assert decoded == [generic]


VALID = {
    "enrollments": {
        "sourcedId": "s1",
        "status": "active",
        "dateLastModified": "2026-01-01T00:00:00Z",
        "user": {"href": "https://x.example/users/u1", "sourcedId": "u1", "type": "user"},
        "class": {"sourcedId": "c1", "type": "class"},
        "school": {"sourcedId": "101"},
        "role": "student",
        "beginDate": "2026-08-17",
    },
    "users": {
        "sourcedId": "u1",
        "status": "active",
        "dateLastModified": "2026-01-01T00:00:00+02:00",
        "username": "zoe",
        "givenName": "Zoë",
        "familyName": "Smith, Jr.",
        "role": "student",
        "orgs": [{"sourcedId": "101", "type": "org"}],
        "grades": "09",
        "userIds": [{"type": "personID", "identifier": "7"}],
    },
    "classes": {
        "sourcedId": "c1",
        "status": "active",
        "dateLastModified": "2026-01-01T00:00:00.5Z",
        "title": "Algebra I - P1",
        "course": {"sourcedId": "k1", "type": "course"},
        "school": {"sourcedId": "101", "type": "org"},
        "terms": [{"sourcedId": "t1", "type": "term"}],
        "periods": "1",
    },
}


@pytest.mark.parametrize("collection", sorted(VALID))
def test_page_decoder_takes_plainly_valid_pages(collection):
    decoded = decode_page(collection, _page(collection, VALID[collection], VALID[collection]))
    expected = parse_record(collection, VALID[collection])
    assert not isinstance(expected, InvalidRecord)
    assert decoded == [expected, expected]


@pytest.mark.parametrize(
    ("collection", "change"),
    [
        ("users", {"enabledUser": "false"}),  # lenient boolean: valid, but not plain
        ("users", {"status": "Active"}),
        ("enrollments", {"class": {"sourcedId": "c1", "type": "user"}}),
        ("enrollments", {"dateLastModified": "01/01/2026 00:00"}),
        ("enrollments", {"endDate": "2026-02-30"}),
        ("classes", {"terms": []}),
    ],
)
def test_page_decoder_leaves_anything_else_to_the_validator(collection, change):
    odd = {**VALID[collection], **change}
    assert decode_page(collection, _page(collection, VALID[collection], odd)) is None
    assert decode_page(collection, b'{"wrong": []}') is None
    assert decode_page(collection, _page(collection, VALID[collection])[:-5]) is None


def test_lenient_where_providers_differ():
    user = parse_record(
        "users",
        {
            "sourcedId": "s1",
            "status": "active",
            "dateLastModified": "2026-01-01T00:00:00",
            "enabledUser": "false",
            "username": "zoe",
            "givenName": "Zoë",
            "familyName": "Smith, Jr.",
            "role": "student",
            "orgs": [{"sourcedId": "101"}],
        },
    )
    assert not isinstance(user, InvalidRecord)
    assert user.enabled_user is False
    assert user.date_last_modified == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("collection", "obj", "reason"),
    [
        ("users", {"status": "deleted"}, "status 'deleted' is not one of"),
        ("enrollments", {"role": "Studnet"}, "role 'Studnet' is not one of"),
        ("results", {"scoreStatus": "fullygraded"}, "scoreStatus"),
        ("classes", {"terms": []}, "terms must list at least one reference"),
        ("enrollments", {"class": {"sourcedId": "c1", "type": "user"}}, "cannot be a class"),
        ("academicSessions", {"startDate": "2026-02-30"}, "startDate is not an ISO 8601 date"),
        ("orgs", {"dateLastModified": "01/01/2026"}, "is not an ISO 8601 date-time"),
    ],
)
def test_invalid_records_say_why(collection, obj, reason):
    result = parse_record(collection, obj)
    assert isinstance(result, InvalidRecord)
    assert any(reason in r for r in result.reasons), result.reasons


def test_non_objects_and_unknown_collections():
    assert parse_record("users", ["not", "a", "dict"]).reasons == ("record is not a JSON object",)
    assert parse_record("resources", {}).reasons[0].startswith("unknown collection")
