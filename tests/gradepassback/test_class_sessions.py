"""A class's sessions read from the roster mirror: its terms and, by ``parent``, every
session below them, so a class listing a semester finds the semester's grading periods."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from gradepassback.mapping import grading_sessions, period_for
from gradepassback.services.context import class_periods_for
from provisioning.models import RosterClass, RosterSession

pytestmark = pytest.mark.django_db

D = dt.date


def _mirror(district, sessions, classes) -> None:
    common = {"district": district, "content_hash": 0, "last_seen_at": timezone.now()}
    for sid, kind, start, end, parent in sessions:
        RosterSession.objects.create(
            sourced_id=sid,
            title=sid.upper(),
            type=kind,
            start_date=start,
            end_date=end,
            school_year="2026",
            parent=parent,
            **common,
        )
    for sid, terms in classes.items():
        RosterClass.objects.create(sourced_id=sid, title=sid, school="SCH", terms=terms, **common)


SESSIONS = [
    ("sy", "schoolYear", D(2025, 8, 18), D(2026, 5, 29), ""),
    ("s1", "term", D(2025, 8, 18), D(2025, 12, 19), "sy"),
    ("s2", "term", D(2026, 1, 5), D(2026, 5, 29), "sy"),
    ("q1", "gradingPeriod", D(2025, 8, 18), D(2025, 10, 17), "s1"),
    ("q2", "gradingPeriod", D(2025, 10, 20), D(2025, 12, 19), "s1"),
    ("q3", "gradingPeriod", D(2026, 1, 5), D(2026, 3, 13), "s2"),
]


def test_a_semester_class_finds_its_grading_periods_by_parent(make_district):
    district = make_district()
    _mirror(district, SESSIONS, {"c-fall": ["s1"], "c-year": ["sy"], "c-both": ["s1", "q1"]})
    found = class_periods_for(district=district, class_sourced_ids={"c-fall", "c-year", "c-both"})

    fall = found["c-fall"]
    assert [(p.sourced_id, p.type, p.term) for p in fall] == [
        ("s1", "term", ""),
        ("q1", "gradingPeriod", "s1"),
        ("q2", "gradingPeriod", "s1"),
    ]
    assert period_for(fall, D(2025, 11, 3)).sourced_id == "q2"
    assert [p.sourced_id for p in grading_sessions(fall)] == ["q1", "q2"]

    # Two levels down, each descendant under the class's year term; spring has one quarter
    # listed, so spring's course grades go to Q3 alone.
    year = found["c-year"]
    assert {(p.sourced_id, p.term) for p in year} == {
        ("sy", ""),
        ("s1", "sy"),
        ("s2", "sy"),
        ("q1", "sy"),
        ("q2", "sy"),
        ("q3", "sy"),
    }
    assert period_for(year, D(2026, 2, 2)).sourced_id == "q3"
    assert period_for(year, D(2026, 4, 1)).sourced_id == "sy"  # no grading period: the term
    assert [p.sourced_id for p in grading_sessions(year)] == ["q1", "q2", "q3"]

    # A class listing the semester and one of its quarters sees that quarter once.
    both = found["c-both"]
    assert sorted(p.sourced_id for p in both) == ["q1", "q2", "s1"]
    assert sorted(p.sourced_id for p in grading_sessions(both)) == ["q1", "q2"]


def test_a_parent_cycle_in_the_mirror_ends(make_district):
    district = make_district()
    cycle = [
        ("a", "term", D(2025, 8, 18), D(2025, 12, 19), "b"),
        ("b", "gradingPeriod", D(2025, 8, 18), D(2025, 10, 17), "a"),
    ]
    _mirror(district, cycle, {"c": ["a"]})
    found = class_periods_for(district=district, class_sourced_ids={"c"})
    assert [(p.sourced_id, p.term) for p in found["c"]] == [("a", ""), ("b", "a")]
