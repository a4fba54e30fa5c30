"""Record shapes real OneRoster 1.1 providers send that our sandbox never does.

Each shape is read on both paths (the page decoder of the big collections, and the
generic validator it falls back to) to the same record; what is truly broken stays an
``InvalidRecord`` whose reason names the field.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integration.oneroster.parse import (
    COLLECTION_KEYS,
    ROLES,
    SCORE_STATUSES,
    SESSION_TYPES,
    STATUSES,
    parse_record,
)
from integration.oneroster.records import InvalidRecord
from integration.oneroster.wire import decode_page
from tests.integration.oneroster.test_parse_empty_optional import DECODED, RECORDS, ref


def _read(collection: str, change: dict):
    """The record on the generic path, after checking the page path reads it alike."""
    required, _ = RECORDS[collection]
    obj = {**required, **change}
    record = parse_record(collection, obj)
    assert not isinstance(record, InvalidRecord), record.reasons
    if collection in DECODED:
        page = json.dumps({COLLECTION_KEYS[collection]: [obj, obj]}).encode()
        assert decode_page(collection, page) in (None, [record, record])
    return record


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("2026-01-01", dt.datetime(2026, 1, 1, tzinfo=dt.UTC)),
        ("2026-01-01T05:30:00.1234567Z", dt.datetime(2026, 1, 1, 5, 30, 0, 123456, dt.UTC)),
        ("2026-01-01T05:30:00-05:00", dt.datetime(2026, 1, 1, 10, 30, tzinfo=dt.UTC)),
        ("2026-01-01T05:30:00+0200", dt.datetime(2026, 1, 1, 3, 30, tzinfo=dt.UTC)),
        ("2026-01-01T05:30:00", dt.datetime(2026, 1, 1, 5, 30, tzinfo=dt.UTC)),
    ],
)
@pytest.mark.parametrize("collection", ["enrollments", "users", "orgs"])
def test_date_last_modified_in_every_iso_8601_shape(collection, stamp, expected):
    """A bare date reads as its first instant in UTC (never later than the change, so a
    delta cursor taken from it overlaps instead of skipping)."""
    record = _read(collection, {"dateLastModified": stamp})
    assert record.date_last_modified == expected


def test_dates_sent_as_date_times_and_a_numeric_school_year():
    enrollment = _read(
        "enrollments",
        {"beginDate": "2026-08-17T00:00:00Z", "endDate": "2027-06-04T23:59:59.000Z"},
    )
    assert (enrollment.begin_date, enrollment.end_date) == (
        dt.date(2026, 8, 17),
        dt.date(2027, 6, 4),
    )
    session = _read("academicSessions", {"schoolYear": 2027, "startDate": "2026-08-17T00:00:00"})
    assert (session.school_year, session.start_date) == ("2027", dt.date(2026, 8, 17))


@pytest.mark.parametrize(
    ("collection", "change", "attribute", "spelt"),
    [
        ("enrollments", {"role": "Teacher"}, "role", "teacher"),
        ("enrollments", {"status": "active "}, "status", "active"),
        ("users", {"status": "ToBeDeleted"}, "status", "tobedeleted"),
        ("users", {"role": " STUDENT"}, "role", "student"),
        ("academicSessions", {"type": "gradingperiod"}, "type", "gradingPeriod"),
        ("academicSessions", {"type": "SchoolYear"}, "type", "schoolYear"),
        ("classes", {"classType": "Scheduled"}, "class_type", "scheduled"),
        ("orgs", {"type": "School"}, "type", "school"),
        ("demographics", {"sex": "Female"}, "sex", "female"),
        ("results", {"scoreStatus": "Fully Graded"}, "score_status", "fully graded"),
    ],
)
def test_enumerations_in_another_case_or_with_spaces_read_as_the_1_1_spelling(
    collection, change, attribute, spelt
):
    assert getattr(_read(collection, change), attribute) == spelt


def test_a_reference_type_in_another_case_or_empty_is_accepted():
    enrollment = _read(
        "enrollments",
        {"class": {"sourcedId": "c1", "type": "Class"}, "user": {"sourcedId": "u1", "type": ""}},
    )
    assert (enrollment.class_, enrollment.user) == ("c1", "u1")


@pytest.mark.parametrize(
    ("collection", "change", "reason"),
    [
        # A role of OneRoster 1.2 (or a vendor's own): a conflict naming record and field.
        ("enrollments", {"role": "districtAdministrator"}, "role 'districtAdministrator' is"),
        ("users", {"role": "counselor"}, "role 'counselor' is not one of"),
        ("users", {"status": "inactive"}, "status 'inactive' is not one of"),
        ("results", {"scoreStatus": "fully_graded"}, "scoreStatus 'fully_graded' is not one"),
        ("enrollments", {"class": {"sourcedId": "c1", "type": "User"}}, "cannot be a class"),
        ("enrollments", {"dateLastModified": "01/08/2026"}, "is not an ISO 8601 date-time"),
    ],
)
def test_what_names_no_1_1_value_stays_a_conflict_with_its_reason(collection, change, reason):
    required, _ = RECORDS[collection]
    result = parse_record(collection, {**required, **change})
    assert isinstance(result, InvalidRecord)
    assert result.sourced_id == required["sourcedId"]
    assert any(reason in r for r in result.reasons), result.reasons


@pytest.mark.parametrize(
    ("collection", "change", "attribute", "read"),
    [
        ("users", {"grades": "09,10"}, "grades", ("09", "10")),
        ("users", {"grades": "09, 10,"}, "grades", ("09", "10")),
        ("classes", {"periods": "1,3, 5"}, "periods", ("1", "3", "5")),
        ("classes", {"subjects": "Math,Science"}, "subjects", ("Math", "Science")),
        ("courses", {"subjects": "Math,Science"}, "subjects", ("Math", "Science")),
        ("classes", {"periods": "2"}, "periods", ("2",)),
        ("classes", {"subjectCodes": "02052,02053", "grades": "09,10"}, "title", "Algebra I - P1"),
    ],
)
def test_string_lists_sent_as_one_comma_separated_string(collection, change, attribute, read):
    assert getattr(_read(collection, change), attribute) == read


def test_unknown_fields_and_metadata_anywhere_are_ignored():
    enrollment = _read(
        "enrollments",
        {
            "metadata": {"ic": {"sectionID": 7}},
            "vendorField": [1, {"a": None}],
            "user": {**ref("u1", "user"), "metadata": {"x": 1}, "name": "Zoë"},
            "class": {"sourcedId": "c1"},
            "school": {"sourcedId": "101", "href": None},
        },
    )
    assert (enrollment.user, enrollment.class_, enrollment.school) == ("u1", "c1", "101")
    user = _read(
        "users",
        {
            "userIds": [
                {"identifier": "7", "metadata": {}},
                {"type": "personID", "identifier": "8"},
            ],
            "enabledUser": "false",
            "password": "",
            "metadata": {"ic.primaryRole": True},
        },
    )
    assert user.user_ids == (("", "7"), ("personID", "8"))
    assert user.enabled_user is False


ENUM_FIELDS = [
    ("enrollments", "role", "role", sorted(ROLES)),
    ("users", "status", "status", sorted(STATUSES)),
    ("academicSessions", "type", "type", sorted(SESSION_TYPES)),
    ("results", "scoreStatus", "score_status", sorted(SCORE_STATUSES)),
]


@st.composite
def _respelt(draw, values: list[str]) -> tuple[str, str]:
    """(a 1.1 value, the same value in any mix of cases with spaces around it)."""
    value = draw(st.sampled_from(values))
    cases = draw(st.lists(st.booleans(), min_size=len(value), max_size=len(value)))
    mixed = "".join(c.upper() if up else c.lower() for c, up in zip(value, cases, strict=True))
    pad = st.text(alphabet=" \t", max_size=2)
    return value, draw(pad) + mixed + draw(pad)


@pytest.mark.parametrize(("collection", "field", "attribute", "values"), ENUM_FIELDS)
@given(data=st.data())
@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_case_and_padding_of_an_enumeration_reads_as_its_1_1_spelling(
    collection, field, attribute, values, data
):
    value, sent = data.draw(_respelt(values))
    assert getattr(_read(collection, {field: sent}), attribute) == value


@given(grades=st.lists(st.from_regex(r"[0-9A-Z]{1,3}", fullmatch=True), min_size=1, max_size=4))
@settings(max_examples=40)
def test_a_comma_separated_string_list_reads_as_the_list(grades):
    joined = _read("users", {"grades": ", ".join(grades)})
    assert joined.grades == tuple(grades) == _read("users", {"grades": grades}).grades


def test_whole_numbers_where_strings_belong_read_as_their_digits():
    """A provider that keeps ids as numbers sends them bare: the id can mean nothing else, so
    the record and every reference to it read as the same string."""
    user = _read(
        "users",
        {
            "sourcedId": 4711,
            "identifier": 900123,
            "phone": 5550101,
            "grades": [9, "10"],
            "orgs": [{"sourcedId": 101, "type": "org"}],
            "userIds": [{"type": "stateID", "identifier": 55012}],
        },
    )
    assert (user.sourced_id, user.identifier, user.phone, user.grades) == (
        "4711",
        "900123",
        "5550101",
        ("9", "10"),
    )
    assert (user.orgs, user.user_ids) == (("101",), (("stateID", "55012"),))
    enrollment = _read("enrollments", {"user": {"sourcedId": 4711}, "class": {"sourcedId": 7}})
    assert (enrollment.user, enrollment.class_) == ("4711", "7")
    klass = _read("classes", {"classCode": 101, "periods": [1, 2]})
    assert (klass.class_code, klass.periods) == ("101", ("1", "2"))


@pytest.mark.parametrize(
    ("sent", "read"),
    [("TRUE", True), (" false ", False), ("1", True), ("0", False), (1, True), (0, False)],
)
def test_booleans_in_the_spellings_providers_use(sent, read):
    assert _read("users", {"enabledUser": sent}).enabled_user is read
    assert _read("enrollments", {"primary": sent}).primary is read


def test_dates_with_spaces_around_them():
    enrollment = _read(
        "enrollments",
        {
            "beginDate": " 2026-08-17",
            "endDate": "2027-06-04 ",
            "dateLastModified": " 2026-01-01T00:00:00Z ",
        },
    )
    assert (enrollment.begin_date, enrollment.end_date) == (
        dt.date(2026, 8, 17),
        dt.date(2027, 6, 4),
    )
    assert enrollment.date_last_modified == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def test_optional_strings_of_only_spaces_are_absent_and_keep_the_fast_path():
    """A padded CSV column: the page decoder reads it as absent itself, as the validator
    does, so a district that pads every column keeps the fast path."""
    required, _ = RECORDS["users"]
    padded = {
        **required,
        "middleName": " ",
        "email": "   ",
        "identifier": "\t",
        "grades": [" ", "09"],
        "agents": [{"sourcedId": " "}],
        "userIds": [{"type": " ", "identifier": "7"}, {"identifier": "  "}],
    }
    user = parse_record("users", padded)
    assert not isinstance(user, InvalidRecord), user.reasons
    assert (user.middle_name, user.email, user.identifier) == ("", "", "")
    assert (user.grades, user.agents, user.user_ids) == (("09",), (), (("", "7"),))
    page = json.dumps({"users": [padded]}).encode()
    assert decode_page("users", page) == [user]


@pytest.mark.parametrize(
    ("collection", "change", "reason"),
    [
        # Spaces are not a value: a required field of only spaces is as empty as "".
        ("enrollments", {"user": " "}, "user must not be empty"),
        ("enrollments", {"role": "  "}, "role must not be empty"),
        ("academicSessions", {"startDate": " "}, "startDate must not be empty"),
        # A fraction is no id, and a boolean no string.
        ("users", {"identifier": 12.5}, "identifier must be a string"),
        ("users", {"middleName": True}, "middleName must be a string"),
        ("users", {"enabledUser": "yes please"}, "enabledUser must be a boolean"),
    ],
)
def test_what_is_still_broken_says_why(collection, change, reason):
    required, _ = RECORDS[collection]
    result = parse_record(collection, {**required, **change})
    assert isinstance(result, InvalidRecord)
    assert reason in result.reasons, result.reasons
