"""The reads other apps make of provisioning's mirrors go through ``provisioning.selectors``:
each answers by column name and for one district only."""

from __future__ import annotations

import pytest
from django.utils import timezone

from provisioning.models import CanvasRow
from provisioning.selectors import (
    canvas_course_sis_ids,
    canvas_user_sourced_ids,
    roster_class_terms,
    roster_session_list,
)
from tests.console.conftest import mirror_make
from tests.provisioning.factories import district_make

pytestmark = pytest.mark.django_db


def sent(district, file: str, key: str, row: list[str]) -> None:
    CanvasRow.objects.create(
        district=district, file=file, key=key, row=row, row_hash=0, sent_at=timezone.now()
    )


def course(district, sid: str, status: str) -> None:
    sent(district, "courses", sid, [sid, sid, f"Class {sid}", "SCH1", "T1", status, "", ""])


def test_live_courses_leave_out_deleted_and_completed_ones_and_other_districts():
    district, other = district_make(), district_make()
    for sid, status in (("C3", "active"), ("C1", "active"), ("C2", "deleted"), ("C4", "completed")):
        course(district, sid, status)
    course(other, "C9", "active")

    assert canvas_course_sis_ids(district=district) == ["C1", "C3"]
    assert canvas_course_sis_ids(district=district, course_sis_ids=["C3", "C2", "C9"]) == ["C3"]


def test_canvas_user_ids_map_to_the_sourced_id_they_were_sent_for():
    district, other = district_make(), district_make()
    sent(district, "users", "u-1", ["100234", "jdoe", "Jo", "Doe", "jdoe@example.org", "active"])
    sent(other, "users", "u-9", ["100999", "xo", "X", "O", "xo@example.org", "active"])

    assert canvas_user_sourced_ids(district=district) == {"100234": "u-1"}


def test_class_terms_and_sessions_come_from_the_roster_mirror():
    district = district_make()
    mirror_make(district)

    terms = roster_class_terms(district=district, class_sourced_ids={"C1", "C2", "nope"})
    sessions = roster_session_list(district=district, sourced_ids={"T-FALL"})

    assert terms == {"C1": ["T-FALL"], "C2": ["T-SPRING", "T-FALL"]}
    assert [s.title for s in sessions] == ["Fall"]
