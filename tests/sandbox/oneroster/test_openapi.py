"""Every kind of sandbox response, in every generator shape, validates against the IMS
OneRoster 1.1 OpenAPI schemas: collections, single records, nested collections, error bodies
and the gradebook PUTs (the independent contract the sandbox is held to)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from sandbox.oneroster.generator import SHAPES
from sandbox.oneroster.query import FIELDS
from sandbox.server import start_sandbox
from tests.sandbox.oneroster.conftest import Api

# Vendored with its source and licence noted in tests/data/openapi/README.md, so nothing skips.
SPEC = Path(__file__).resolve().parents[2] / "data" / "openapi" / "oneroster-v1p1-openapi.json"


@cache
def _spec() -> dict:
    return json.loads(SPEC.read_text())


def validate(schema_name: str, body: object, shape: str = "ic") -> None:
    if shape == "empty_strings":
        # That shape sends "" for absent optional values, dates included, as real feeds do and
        # the 1.1 schema does not allow: the rest of each record must still conform.
        body = _without_empty(body)
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": _spec()["components"]}
    OAS30Validator(schema, format_checker=oas30_format_checker).validate(body)


def _without_empty(value: object) -> object:
    if isinstance(value, dict):
        return {k: _without_empty(v) for k, v in value.items() if v != ""}
    if isinstance(value, list):
        return [_without_empty(v) for v in value]
    return value


@pytest.fixture(scope="module", params=sorted(SHAPES))
def shaped(request):
    """(api, shape name) for a small district in each generator shape."""
    with start_sandbox(
        schools=2, students=40, seed=11, canvas=False, shape=SHAPES[request.param]
    ) as running:
        client = Api(running)
        yield client, request.param
        client.session.close()


def _first_id(api, path: str, key: str) -> str:
    return api.get(path, limit=1).json()[key][0]["sourcedId"]


COLLECTIONS = [
    ("orgs", "orgs", "Orgs.Type", "SingleOrg.Type"),
    ("schools", "orgs", "Orgs.Type", "SingleOrg.Type"),
    ("academicSessions", "academicSessions", "MultipleAcademicSessions.Type",
     "SingleAcademicSession.Type"),
    ("terms", "academicSessions", "MultipleAcademicSessions.Type", "SingleAcademicSession.Type"),
    ("gradingPeriods", "academicSessions", "MultipleAcademicSessions.Type",
     "SingleAcademicSession.Type"),
    ("courses", "courses", "Courses.Type", "SingleCourse.Type"),
    ("classes", "classes", "Classes.Type", "SingleClass.Type"),
    ("users", "users", "Users.Type", "SingleUser.Type"),
    ("students", "users", "Users.Type", "SingleUser.Type"),
    ("teachers", "users", "Users.Type", "SingleUser.Type"),
    ("enrollments", "enrollments", "Enrollments.Type", "SingleEnrollment.Type"),
    ("demographics", "demographics", "Demographics.Type", "SingleDemographics.Type"),
]  # fmt: skip


@pytest.mark.parametrize(("path", "key", "many", "one"), COLLECTIONS)
def test_collections_and_singles(shaped, path, key, many, one):
    api, shape = shaped
    response = api.get(path, limit=50_000)
    assert response.status_code == 200
    records = response.json()[key]
    assert int(response.headers["X-Total-Count"]) == len(records)
    validate(many, response.json(), shape)
    if path == "gradingPeriods" and shape != "grading_periods":
        # Where the terms grade, there is no session of type gradingPeriod at all.
        assert records == []
        return
    single = api.get(f"{path}/{records[0]['sourcedId']}")
    assert single.status_code == 200
    validate(one, single.json(), shape)


def test_one_academic_session_has_one_type(shaped):
    """A session is listed under the collection of its own type and nowhere else."""
    api, shape = shaped
    sessions = {
        s["sourcedId"]: s["type"] for s in api.get("academicSessions").json()["academicSessions"]
    }
    terms = api.get("terms").json()["academicSessions"]
    periods = api.get("gradingPeriods").json()["academicSessions"]

    assert {t["type"] for t in terms} == {"term"}
    assert all(p["type"] == "gradingPeriod" for p in periods)
    assert not {t["sourcedId"] for t in terms} & {p["sourcedId"] for p in periods}
    for record in terms + periods:
        assert sessions[record["sourcedId"]] == record["type"]
    term = terms[0]["sourcedId"]
    children = api.get(f"terms/{term}/gradingPeriods").json()["academicSessions"]
    assert term not in {c["sourcedId"] for c in children}
    assert bool(children) == (shape == "grading_periods")
    if periods:
        assert api.get(f"terms/{periods[0]['sourcedId']}").status_code == 404
        assert api.get(f"gradingPeriods/{term}").status_code == 404


def test_nested_endpoints(shaped):
    api, shape = shaped
    district = api.running.generated
    school = district.schools[0].sourced_id
    klass = next(c for c in district.iter_classes() if c.school_id == school)
    term = klass.term_ids[0]
    student = next(e.user_id for e in district.iter_enrollments() if e.role == "student")
    teacher = next(e.user_id for e in district.iter_enrollments() if e.role == "teacher")
    cases = [
        (f"schools/{school}/classes", "Classes.Type"),
        (f"schools/{school}/courses", "Courses.Type"),
        (f"schools/{school}/enrollments", "Enrollments.Type"),
        (f"schools/{school}/students", "Users.Type"),
        (f"schools/{school}/teachers", "Users.Type"),
        (f"schools/{school}/terms", "MultipleAcademicSessions.Type"),
        (f"schools/{school}/classes/{klass.sourced_id}/enrollments", "Enrollments.Type"),
        (f"schools/{school}/classes/{klass.sourced_id}/students", "Users.Type"),
        (f"schools/{school}/classes/{klass.sourced_id}/teachers", "Users.Type"),
        (f"terms/{term}/classes", "Classes.Type"),
        (f"courses/{klass.course_id}/classes", "Classes.Type"),
        (f"classes/{klass.sourced_id}/students", "Users.Type"),
        (f"classes/{klass.sourced_id}/teachers", "Users.Type"),
        (f"students/{student}/classes", "Classes.Type"),
        (f"teachers/{teacher}/classes", "Classes.Type"),
        (f"users/{student}/classes", "Classes.Type"),
    ]
    for path, schema in cases:
        response = api.get(path)
        assert response.status_code == 200, path
        body = response.json()
        assert next(iter(body.values())), f"{path} is empty"
        validate(schema, body, shape)
    assert klass.sourced_id in {
        c["sourcedId"] for c in api.get(f"terms/{term}/classes", limit=50_000).json()["classes"]
    }
    validate("MultipleAcademicSessions.Type", api.get(f"terms/{term}/gradingPeriods").json())


def _line_item(klass, period: str | None = None, **extra) -> dict:
    item = {
        "title": "Contract quiz",
        "assignDate": "2026-01-06T12:00:00Z",
        "dueDate": "2026-01-07T12:00:00Z",
        "class": {"sourcedId": klass.sourced_id, "type": "class"},
        "resultValueMin": 0.0,
        **extra,
    }
    if period is not None:
        item["gradingPeriod"] = {"sourcedId": period, "type": "academicSession"}
    return {"lineItem": item}


def test_gradebook_reads_and_puts(shaped):
    api, _ = shaped
    district = api.running.generated
    klass = next(c for c in district.iter_classes() if len(c.term_ids) >= 2)
    school = next(s for s in district.schools if s.sourced_id == klass.school_id)
    validate("Categories.Type", api.get("categories", gradebook=True).json())
    items = api.get(f"classes/{klass.sourced_id}/lineItems", gradebook=True).json()
    validate("LineItems.Type", items)
    task = items["lineItems"][0]["sourcedId"]
    validate("SingleLineItem.Type", api.get(f"lineItems/{task}", gradebook=True).json())

    quarter = school.quarter_for(school.quarters[2].start_date).sourced_id
    put = api.request("PUT", "lineItems/oa-li", json=_line_item(klass, quarter, resultValueMax=10))
    assert put.status_code == 201
    validate("SingleLineItem.Type", put.json())
    student = next(
        e.user_id
        for e in district.iter_enrollments()
        if e.class_id == klass.sourced_id and e.role == "student"
    )
    body = {
        "result": {
            "lineItem": {"sourcedId": "oa-li", "type": "lineItem"},
            "student": {"sourcedId": student, "type": "user"},
            "scoreStatus": "fully graded",
            "score": 8.0,
            "scoreDate": "2026-01-08",
        }
    }
    put = api.request("PUT", "results/oa-1", json=body)
    assert put.status_code == 201
    validate("SingleResult.Type", put.json())
    validate("SingleResult.Type", api.get("results/oa-1", gradebook=True).json())
    validate("Results.Type", api.get(f"classes/{klass.sourced_id}/results", gradebook=True).json())
    validate("LineItems.Type", api.get("lineItems", gradebook=True).json())


def test_a_line_item_without_a_maximum_never_sits_below_its_minimum(shaped):
    api, _ = shaped
    district = api.running.generated
    klass = next(iter(district.iter_classes()))
    school = next(s for s in district.schools if s.sourced_id == klass.school_id)

    body = _line_item(klass, school.quarters[0].sourced_id, resultValueMin=50.0)

    put = api.request("PUT", "lineItems/oa-nomax", json=body)

    assert put.status_code == 201
    stored = api.get("lineItems/oa-nomax", gradebook=True).json()["lineItem"]
    validate("LineItem.Type", stored)
    assert stored["resultValueMin"] == 50.0
    assert stored.get("resultValueMax", 50.0) >= 50.0


@pytest.mark.parametrize(
    ("path", "status", "code_minor"),
    [
        ("users/nobody", 404, "unknownobject"),
        ("users?filter=nickname%3D'x'", 400, "invalid_selection_field"),
        ("users?sort=nickname", 400, "invalid_sort_field"),
        ("users?fields=sourcedId,nickname", 400, "invalid_selection_field"),
        ("categories", 401, "unauthorisedrequest"),
    ],
)
def test_error_bodies_are_imsx_status_info(shaped, path, status, code_minor):
    api, _ = shaped
    response = api.session.get(
        f"{api.base}/{path}", headers={"Authorization": f"Bearer {api.token}"}, timeout=5
    )
    assert response.status_code == status
    validate("imsx_StatusInfo.Type", response.json())
    minor = response.json()["imsx_CodeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldValue"]
    assert minor == code_minor


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_busy_and_server_error_bodies_use_the_1_1_vocabulary(fresh_api, status):
    fresh_api.control("faults", {"rules": [{"kind": "status", "match": "users", "status": status}]})

    response = fresh_api.get("users")

    assert response.status_code == status
    validate("imsx_StatusInfo.Type", response.json())


def test_the_query_field_lists_are_the_spec_properties():
    """``sort``/``fields``/``filter`` know exactly the fields the 1.1 OpenAPI defines."""
    schemas = _spec()["components"]["schemas"]
    base = set(schemas["Base.Type"]["properties"])
    names = {
        "orgs": "Org", "academicSessions": "AcademicSession", "courses": "Course",
        "classes": "Class", "users": "User", "enrollments": "Enrollment",
        "demographics": "Demographic", "categories": "Category", "lineItems": "LineItem",
        "results": "Result",
    }  # fmt: skip
    for kind, name in names.items():
        assert FIELDS[kind] == base | set(schemas[f"{name}_Type_allOf"]["properties"]), kind
