"""Every kind of sandbox response validates against the OneRoster 1.1 OpenAPI schemas."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest
from openapi_schema_validator import OAS30Validator, oas30_format_checker

# Vendored with its source and licence noted in tests/data/openapi/README.md, so nothing skips.
SPEC = Path(__file__).resolve().parents[2] / "data" / "openapi" / "oneroster-v1p1-openapi.json"


@cache
def _spec() -> dict:
    return json.loads(SPEC.read_text())


def validate(schema_name: str, body: object) -> None:
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": _spec()["components"]}
    OAS30Validator(schema, format_checker=oas30_format_checker).validate(body)


def _first_id(api, path: str, key: str) -> str:
    return api.get(path, limit=1).json()[key][0]["sourcedId"]


@pytest.mark.parametrize(
    ("path", "schema"),
    [
        ("orgs", "Orgs.Type"),
        ("schools", "Orgs.Type"),
        ("academicSessions", "MultipleAcademicSessions.Type"),
        ("terms", "MultipleAcademicSessions.Type"),
        ("gradingPeriods", "MultipleAcademicSessions.Type"),
        ("courses", "Courses.Type"),
        ("classes", "Classes.Type"),
        ("users", "Users.Type"),
        ("students", "Users.Type"),
        ("teachers", "Users.Type"),
        ("enrollments", "Enrollments.Type"),
        ("demographics", "Demographics.Type"),
    ],
)
def test_collections(api, path, schema):
    response = api.get(path, limit=50_000)
    assert response.status_code == 200
    assert int(response.headers["X-Total-Count"]) == len(next(iter(response.json().values())))
    validate(schema, response.json())


@pytest.mark.parametrize(
    ("collection", "key", "schema"),
    [
        ("orgs", "orgs", "SingleOrg.Type"),
        ("schools", "orgs", "SingleOrg.Type"),
        ("academicSessions", "academicSessions", "SingleAcademicSession.Type"),
        ("terms", "academicSessions", "SingleAcademicSession.Type"),
        ("gradingPeriods", "academicSessions", "SingleAcademicSession.Type"),
        ("courses", "courses", "SingleCourse.Type"),
        ("classes", "classes", "SingleClass.Type"),
        ("users", "users", "SingleUser.Type"),
        ("students", "users", "SingleUser.Type"),
        ("teachers", "users", "SingleUser.Type"),
        ("enrollments", "enrollments", "SingleEnrollment.Type"),
        ("demographics", "demographics", "SingleDemographics.Type"),
    ],
)
def test_singles(api, collection, key, schema):
    sourced_id = _first_id(api, collection, key)
    response = api.get(f"{collection}/{sourced_id}")
    assert response.status_code == 200
    validate(schema, response.json())


def test_nested_endpoints(api, sandbox):
    district = sandbox.generated
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
        (f"terms/{term}/gradingPeriods", "MultipleAcademicSessions.Type"),
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
        validate(schema, body)


def test_gradebook_responses(api, sandbox):
    district = sandbox.generated
    klass = next(iter(district.iter_classes()))
    validate("Categories.Type", api.get("categories", gradebook=True).json())
    items = api.get(f"classes/{klass.sourced_id}/lineItems", gradebook=True).json()
    validate("LineItems.Type", items)
    task = items["lineItems"][0]["sourcedId"]
    validate("SingleLineItem.Type", api.get(f"lineItems/{task}", gradebook=True).json())
    student = next(
        e.user_id
        for e in district.iter_enrollments()
        if e.class_id == klass.sourced_id and e.role == "student"
    )
    body = {
        "result": {
            "lineItem": {"sourcedId": task},
            "student": {"sourcedId": student},
            "scoreStatus": "fully graded",
            "score": 88.0,
            "scoreDate": "2026-01-01",
        }
    }
    put = api.request("PUT", "results/oa-1", json=body)
    assert put.status_code == 201
    validate("SingleResult.Type", put.json())
    validate("SingleResult.Type", api.get("results/oa-1", gradebook=True).json())
    validate("Results.Type", api.get(f"classes/{klass.sourced_id}/results", gradebook=True).json())
    validate("LineItems.Type", api.get("lineItems", gradebook=True).json())


@pytest.mark.parametrize(
    ("path", "status"),
    [("users/nobody", 404), ("users?filter=foo%3D'bar'", 400), ("categories", 401)],
)
def test_error_bodies_are_imsx_status_info(api, path, status):
    response = api.session.get(
        f"{api.base}/{path}", headers={"Authorization": f"Bearer {api.token}"}, timeout=5
    )
    assert response.status_code == status
    validate("imsx_StatusInfo.Type", response.json())
