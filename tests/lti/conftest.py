"""Fixtures: a provisioned, taught and passed-back district on the loopback sandbox, with
the sandbox Canvas registered as its LTI platform (through ``sandbox lti-launch``)."""

from __future__ import annotations

import io
import json

import pytest
from django.core.cache import cache
from django.core.management import call_command

from sandbox.canvas.records import TYPE_BY_NAME
from tests.gradepassback.conftest import (  # noqa: F401 - fixtures used by these tests
    district_for,
    fast_imports,
    provision,
    sandbox,
    teach,
)
from tests.gradepassback.helpers import class_with_quarters, passback


def member(running, class_sid: str, enrollment_type: str) -> str:
    """The SIS user id of someone enrolled in the class's Canvas course with this type."""
    state = running.canvas
    course = state.courses_by_sis[class_sid]
    for _, type_code, user_id, _ in state.course_enrollments(course):
        if type_code == TYPE_BY_NAME[enrollment_type] and isinstance(user_id, int):
            return state.users[user_id].sis_id
    raise AssertionError(f"no {enrollment_type} in {class_sid}")


def lti_launch(slug: str, course: str, user: str, role: str) -> dict:
    out = io.StringIO()
    call_command(
        "sandbox",
        "lti-launch",
        slug,
        "--course",
        course,
        "--user",
        user,
        "--role",
        role,
        stdout=out,
    )
    return json.loads(out.getvalue())


def ready_district(running, **fields):
    """Provisioned; one class taught (due dates in its quarters); passed back once.

    The cache starts empty: district ids restart with each test database, so an earlier
    session's Sync now counts (per district and course) would otherwise still apply."""
    cache.clear()
    made = district_for(running, **fields)
    provision(made)
    course = class_with_quarters(running, {0, 1})
    teach(running, [course])
    run = passback(made)
    assert run.status == "succeeded", run.error
    return made, course


@pytest.fixture
def lti_district(db, sandbox, fast_imports, settings):  # noqa: F811
    settings.CONSOLE_BASE_URL = "http://testserver"
    district, course = ready_district(sandbox)
    lti_launch(district.slug, course, member(sandbox, course, "TeacherEnrollment"), "instructor")
    return district, course
