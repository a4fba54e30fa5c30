"""Empty is absent: an optional field sent as ``""``, only spaces, ``null`` or left out reads
the same.

OneRoster JSON produced from CSV-shaped data writes every empty column as ``""`` (or, padded,
as spaces). For every
collection, a valid record with any subset of its optional fields made empty parses, on the
generic path and (for the big collections) the page decoder, to the record built without
those fields. A required field made empty stays invalid, with a reason that says so.
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

STAMP = "2026-01-01T00:00:00Z"
#: Extension keys as providers send them (IC puts its own under ``metadata.ic``).
METADATA = {"ic": {"legacysourceId": "S-12", "personID": 7}, "district.flag": [1, "a"]}


def ref(sourced_id: str, kind: str) -> dict:
    return {
        "href": f"https://sis.example/{kind}s/{sourced_id}",
        "sourcedId": sourced_id,
        "type": kind,
    }


BASE = {"sourcedId": "x-1", "status": "active", "dateLastModified": STAMP}

#: Per collection: (the required fields, every optional field the 1.1 OAS defines, set).
#: Optional fields the records do not keep (``password``, ``resources``...) are listed too:
#: they must not break a record either, empty or not.
RECORDS: dict[str, tuple[dict, dict]] = {
    "orgs": (
        {**BASE, "name": "North High", "type": "school"},
        {
            "metadata": METADATA,
            "identifier": "0042",
            "parent": ref("d1", "org"),
            "children": [ref("s2", "org"), ref("s3", "org")],
        },
    ),
    "academicSessions": (
        {
            **BASE,
            "title": "Q1",
            "type": "gradingPeriod",
            "startDate": "2026-08-17",
            "endDate": "2026-10-16",
            "schoolYear": "2027",
        },
        {
            "metadata": METADATA,
            "parent": ref("sem1", "academicSession"),
            "children": [ref("w1", "academicSession")],
        },
    ),
    "courses": (
        {**BASE, "title": "Algebra I", "courseCode": "ALG1"},
        {
            "metadata": METADATA,
            "schoolYear": ref("y2027", "academicSession"),
            "org": ref("101", "org"),
            "grades": ["09", "10"],
            "subjects": ["Math"],
            "subjectCodes": ["02052"],
            "resources": [ref("r1", "resource")],
        },
    ),
    "classes": (
        {
            **BASE,
            "title": "Algebra I - P1",
            "school": ref("101", "org"),
            "course": ref("k1", "course"),
            "terms": [ref("t1", "term")],
        },
        {
            "metadata": METADATA,
            "classCode": "ALG1-1",
            "classType": "homeroom",
            "location": "Room 12",
            "grades": ["09"],
            "subjects": ["Math"],
            "subjectCodes": ["02052"],
            "periods": ["1", "2"],
            "resources": [ref("r1", "resource")],
        },
    ),
    "users": (
        {
            **BASE,
            "username": "zoe",
            "givenName": "Zoë",
            "familyName": "Smith, Jr.",
            "role": "student",
            "orgs": [ref("101", "org")],
        },
        {
            "metadata": METADATA,
            "enabledUser": False,
            "middleName": "Ann",
            "identifier": "900123",
            "email": "zoe@school.example",
            "sms": "+15550100",
            "phone": "+15550101",
            "agents": [ref("g1", "user"), ref("g2", "user")],
            "grades": ["09"],
            # Several ids of several kinds, as IC sends them.
            "userIds": [
                {"type": "personID", "identifier": "7"},
                {"type": "stateID", "identifier": "WI-55"},
                {"identifier": "legacy-9"},
            ],
            "password": "not-kept",
        },
    ),
    "enrollments": (
        {
            **BASE,
            "user": ref("u1", "user"),
            "class": ref("c1", "class"),
            "school": ref("101", "org"),
            "role": "student",
        },
        {
            "metadata": METADATA,
            "primary": False,
            "beginDate": "2026-08-17",
            "endDate": "2027-01-15",
        },
    ),
    "demographics": (
        dict(BASE),
        {
            "metadata": METADATA,
            "birthDate": "2011-04-02",
            "sex": "female",
            "americanIndianOrAlaskaNative": False,
            "asian": False,
            "blackOrAfricanAmerican": True,
            "nativeHawaiianOrOtherPacificIslander": False,
            "white": False,
            "demographicRaceTwoOrMoreRaces": False,
            "hispanicOrLatinoEthnicity": "false",
            "countryOfBirthCode": "US",
            "stateOfBirthAbbreviation": "WI",
            "cityOfBirth": "Madison",
            "publicSchoolResidenceStatus": "01652",
        },
    ),
    "categories": ({**BASE, "title": "Homework"}, {"metadata": METADATA}),
    "lineItems": (
        {
            **BASE,
            "title": "Quiz 1",
            "assignDate": STAMP,
            "dueDate": "2026-01-08T23:59:00Z",
            "class": ref("c1", "class"),
            "resultValueMin": 0,
        },
        {
            "metadata": METADATA,
            "description": "Chapter 1",
            "category": ref("cat1", "category"),
            "gradingPeriod": ref("q1", "academicSession"),
            "resultValueMax": 20,
        },
    ),
    "results": (
        {
            **BASE,
            "lineItem": ref("li1", "lineItem"),
            "student": ref("u1", "student"),
            "scoreStatus": "fully graded",
            "score": 17.5,
            "scoreDate": "2026-01-09",
        },
        {"metadata": METADATA, "comment": "Good work"},
    ),
}
#: Other valid values some optional fields take (plain shapes: the decoder's fast path).
OTHER_VALUES: dict[tuple[str, str], list] = {
    ("classes", "periods"): ["3", []],
    ("classes", "classType"): ["scheduled"],
    ("classes", "subjects"): ["Math", []],
    ("users", "enabledUser"): [True],
    ("users", "grades"): ["09", []],
    ("users", "agents"): [[], [ref("g1", "student")]],
    ("users", "userIds"): [[], [{"type": "", "identifier": "x"}]],
    ("users", "metadata"): [{}, {"ic": None}],
    ("enrollments", "primary"): [True],
    ("enrollments", "beginDate"): ["2026-08-17T00:00:00Z"],
    ("demographics", "sex"): ["male"],
    ("lineItems", "resultValueMax"): [0, 12.5, "20"],
}
#: Collections the page decoder reads; the rest go through ``parse_record`` only.
DECODED = ("classes", "enrollments", "users")
OMIT = object()


def _page(collection: str, obj: dict) -> bytes:
    return json.dumps({COLLECTION_KEYS[collection]: [obj]}).encode()


#: How an optional field arrives empty. ``""`` and ``null`` keep the page decoder's fast path;
#: a value of only spaces may leave a page to the validator, which reads it alike.
EMPTY_FORMS = ["", None, OMIT]
BLANK_FORMS = [" ", "  \t"]


def _emptied(collection: str, draw) -> tuple[dict, dict, bool]:
    """(the record with a subset of optional fields emptied, the record without them,
    whether a field was sent as only spaces)."""
    required, optional = RECORDS[collection]
    names = draw(st.lists(st.sampled_from(sorted(optional)), unique=True))
    values = {
        name: draw(st.sampled_from([value, *OTHER_VALUES.get((collection, name), [])]))
        for name, value in optional.items()
    }
    sent = {**required, **values}
    expected = {**required, **values}
    blank = False
    for name in names:
        form = draw(st.sampled_from(EMPTY_FORMS + BLANK_FORMS))
        blank = blank or form in BLANK_FORMS
        del expected[name]
        if form is OMIT:
            del sent[name]
        else:
            sent[name] = form
    return sent, expected, blank


@pytest.mark.parametrize("collection", sorted(RECORDS))
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(data=st.data())
def test_optional_fields_empty_blank_null_or_left_out_read_the_same(collection, data):
    sent, expected, blank = _emptied(collection, data.draw)
    want = parse_record(collection, expected)
    assert not isinstance(want, InvalidRecord), want.reasons
    assert parse_record(collection, sent) == want
    decoded = decode_page(collection, _page(collection, sent)) if collection in DECODED else None
    if collection in DECODED and expected.get("beginDate", "").endswith("Z"):
        # A date-time where a date belongs is lenient, left to the validator.
        assert decoded is None
    elif collection in DECODED and blank:
        assert decoded in (None, [want])
    elif collection in DECODED:
        # The fast path takes the page itself: empties never push it to the slow path.
        assert decoded == [want]


@pytest.mark.parametrize("collection", sorted(RECORDS))
def test_the_fully_set_record_is_valid_and_decoded_alike(collection):
    required, optional = RECORDS[collection]
    full = parse_record(collection, {**required, **optional})
    assert not isinstance(full, InvalidRecord), full.reasons
    if collection in DECODED:
        assert decode_page(collection, _page(collection, {**required, **optional})) == [full]


@pytest.mark.parametrize(
    ("collection", "name"),
    [(c, name) for c, (required, _) in sorted(RECORDS.items()) for name in sorted(required)],
)
@pytest.mark.parametrize("form", ["", None])
def test_a_required_field_sent_empty_stays_invalid(collection, name, form):
    required, _ = RECORDS[collection]
    result = parse_record(collection, {**required, name: form})
    assert isinstance(result, InvalidRecord)
    wording = "must not be empty" if form == "" else "is required"
    assert f"{name} {wording}" in result.reasons, result.reasons
    if collection in DECODED:
        assert decode_page(collection, _page(collection, {**required, name: form})) is None


def test_the_observed_enrollment_with_empty_dates_is_read():
    """The case seen on a real provider: every enrollment had "beginDate": "" and
    "endDate": "" and all were rejected."""
    required, _ = RECORDS["enrollments"]
    sent = {**required, "beginDate": "", "endDate": "", "primary": ""}
    record = parse_record("enrollments", sent)
    assert not isinstance(record, InvalidRecord), record.reasons
    assert (record.begin_date, record.end_date, record.primary) == (None, None, None)
    assert decode_page("enrollments", _page("enrollments", sent)) == [record]


@pytest.mark.parametrize(
    ("collection", "field", "value", "read"),
    [
        # A GUIDRef to nothing (an empty CSV id column) in an optional reference.
        ("orgs", "parent", {"sourcedId": "", "type": "org"}, ("parent", None)),
        ("courses", "schoolYear", {"href": "", "sourcedId": "", "type": ""}, ("school_year", None)),
        ("lineItems", "category", {"sourcedId": None}, ("category", "")),
        # Empty entries of an optional list of references or ids are skipped.
        ("users", "agents", [ref("g1", "user"), {"sourcedId": ""}, ""], ("agents", ("g1",))),
        (
            "users",
            "userIds",
            [{"type": "personID", "identifier": ""}, {"type": None, "identifier": "7"}],
            ("user_ids", (("", "7"),)),
        ),
        ("users", "metadata", "", ("enabled_user", True)),
        # Empty and null entries of a string list (a CSV column split on commas).
        ("users", "grades", ["", "09", None], ("grades", ("09",))),
        ("classes", "periods", [""], ("periods", ())),
    ],
)
def test_empty_shapes_inside_optional_fields(collection, field, value, read):
    required, _ = RECORDS[collection]
    record = parse_record(collection, {**required, field: value})
    assert not isinstance(record, InvalidRecord), record.reasons
    assert getattr(record, read[0]) == read[1]
    if collection in DECODED:
        decoded = decode_page(collection, _page(collection, {**required, field: value}))
        assert decoded is None or decoded == [record]


@pytest.mark.parametrize(
    "stamp", ["2026-01-01T00:00:00z", "2026-01-01 00:00:00Z", "2026-01-01T00:00:00.250+00:00"]
)
def test_date_time_spellings_rfc_3339_allows(stamp):
    required, _ = RECORDS["enrollments"]
    record = parse_record("enrollments", {**required, "dateLastModified": stamp})
    assert not isinstance(record, InvalidRecord), record.reasons
    assert record.date_last_modified.utcoffset() == dt.timedelta(0)
    assert record.date_last_modified.replace(microsecond=0) == dt.datetime(
        2026, 1, 1, tzinfo=dt.UTC
    )
    decoded = decode_page(
        "enrollments", _page("enrollments", {**required, "dateLastModified": stamp})
    )
    assert decoded == [record]


@pytest.mark.parametrize(
    ("collection", "change", "reason"),
    [
        ("classes", {"terms": [ref("t1", "term"), {"sourcedId": ""}]}, "terms[1].sourcedId"),
        ("users", {"orgs": [""]}, "orgs[0] must not be empty"),
        ("users", {"userIds": [{"identifier": ["7"]}]}, "userIds[0] needs a string identifier"),
        ("enrollments", {"beginDate": "17/08/2026"}, "beginDate is not an ISO 8601 date"),
    ],
)
def test_what_is_truly_broken_stays_invalid(collection, change, reason):
    required, _ = RECORDS[collection]
    result = parse_record(collection, {**required, **change})
    assert isinstance(result, InvalidRecord)
    assert any(reason in r for r in result.reasons), result.reasons
