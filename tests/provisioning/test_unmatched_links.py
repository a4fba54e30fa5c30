"""A link provisioning cannot make is a conflict, never left out silently: a guardian's
agent that is no provisioned student gets no observer link, and says so."""

from __future__ import annotations

import pytest

from integration.oneroster.records import User
from provisioning.models import Conflict
from provisioning.services.conflicts import conflicts_record_plan
from tests.provisioning.factories import district_make
from tests.provisioning.planning import plan_records, plan_rows
from tests.provisioning.roster import MODIFIED, roster_build

pytestmark = pytest.mark.django_db


def _guardian(*agents: str) -> User:
    return User(
        "g1", "active", MODIFIED, True, "parent1", "Pa", "Rent", "guardian", (), agents=agents
    )


def test_an_observer_link_to_someone_not_a_student_is_a_conflict():
    roster = roster_build(schools=1, classes_per_school=1, students_per_class=2)
    # One real student, one id the roster does not have, and a teacher.
    roster.users.append(_guardian("s1-1-1", "gone-7", "t1"))
    district = district_make(observers_enabled=True)
    run, ws, _ = plan_records(district, roster.records())
    assert [r for _, _, _, r in plan_rows(ws, "user_observers")] == [["g1", "s1-1-1", "active"]]
    conflicts_record_plan(run=run, ws=ws, replaced=frozenset())
    conflict = Conflict.objects.get(district=district, kind="observer_unknown_student")
    assert (conflict.object_type, conflict.sourced_id, conflict.severity) == (
        "user",
        "g1",
        "warning",
    )
    assert conflict.detail == (
        "No observer link to gone-7, t1: not a student in the roster, or the student has errors"
    )

    # Fixed in the SIS: the next planning closes it.
    roster.users[-1] = _guardian("s1-1-1")
    run, ws, _ = plan_records(district, roster.records())
    conflicts_record_plan(run=run, ws=ws, replaced=frozenset())
    conflict.refresh_from_db()
    assert conflict.closed_at is not None


def test_with_observers_off_guardians_raise_no_link_conflicts():
    roster = roster_build(schools=1, classes_per_school=1, students_per_class=2)
    roster.users.append(_guardian("gone-7"))
    district = district_make()
    run, ws, _ = plan_records(district, roster.records())
    conflicts_record_plan(run=run, ws=ws, replaced=frozenset())
    assert not Conflict.objects.filter(district=district, kind="observer_unknown_student")
