"""A Canvas student whose SIS user id the roster does not know is a conflict for its
section, not a student whose grades are left out without a word."""

from __future__ import annotations

import pytest

from gradepassback import mapping
from gradepassback.models import PassbackConflict
from provisioning.models import SyncRun
from sandbox.canvas.records import E_ACTIVE, STUDENT
from tests.gradepassback.conftest import district_for, provision, taught_classes, teach
from tests.gradepassback.helpers import canvas_course, passback

pytestmark = pytest.mark.django_db


def test_a_student_the_roster_does_not_know_is_a_conflict(sandbox, fast_imports):
    # Canvas user ids are the OneRoster identifiers: only the roster can map them back.
    district = district_for(sandbox, user_id_source="identifier")
    provision(district)
    course_sid = taught_classes(sandbox)[0]
    teach(sandbox, [course_sid])
    state = sandbox.canvas
    course = canvas_course(sandbox, course_sid)
    section = state.sections[course.section_ids[0]]
    stranger = state.add_user("not-in-campus-1", "stranger1", "Stranger One")
    section.enrollments.setdefault(STUDENT, {})[stranger.id] = E_ACTIVE

    run = passback(district)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    conflict = PassbackConflict.objects.get(district=district, kind="student_not_in_roster")
    assert conflict.class_sourced_id == section.sis_id
    assert conflict.message == mapping.MSG_STUDENT_NOT_IN_ROSTER.format(
        count=1, section=section.sis_id, ids="not-in-campus-1"
    )
    # The roster's own students are not affected.
    assert run.counts["results"]["pushed"] > 0
