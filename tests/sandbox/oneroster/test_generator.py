"""The generated district: deterministic, IC-shaped, realistic."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from sandbox.oneroster.generator import generate_district

AS_OF = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def district():
    return generate_district(schools=5, students=1500, seed=7, as_of=AS_OF)


def _snapshot(d):
    return (
        list(d.iter_users()),
        list(d.iter_classes()),
        list(d.iter_enrollments()),
        d.summary(),
    )


def test_same_inputs_same_district(district):
    again = generate_district(schools=5, students=1500, seed=7, as_of=AS_OF)
    assert _snapshot(again) == _snapshot(district)
    other = generate_district(schools=5, students=1500, seed=8, as_of=AS_OF)
    assert [u.given_name for u in other.iter_users()] != [
        u.given_name for u in district.iter_users()
    ]


def test_proportions_follow_the_reference_district(district):
    counts = district.counts()
    assert counts["students"] == 1500
    staff = counts["teachers"] + counts["administrators"]
    assert 1500 / 15 * 0.8 <= staff <= 1500 / 15 * 1.3
    student_enrollments = sum(1 for e in district.iter_enrollments() if e.role == "student")
    assert student_enrollments == 7 * 1500
    assert counts["guardians"] > 0
    per_class = Counter(e.class_id for e in district.iter_enrollments() if e.role == "student")
    assert 10 <= sum(per_class.values()) / len(per_class) <= 40


def test_ic_id_shapes(district):
    prefixes = {"student": "s", "teacher": "t", "administrator": "a", "guardian": "g"}
    for user in district.iter_users():
        assert user.sourced_id[0] == prefixes[user.role]
        assert user.sourced_id[1:].isdigit()
    for enrollment in district.iter_enrollments():
        assert enrollment.sourced_id[0] == ("s" if enrollment.role == "student" else "t")
    ids = [e.sourced_id for e in district.iter_enrollments()]
    assert len(ids) == len(set(ids))


def test_calendars_terms_and_classes(district):
    for school in district.schools:
        year = school.year
        assert year.type == "schoolYear"
        assert [s.type for s in school.semesters] == ["semester", "semester"]
        assert [q.title for q in school.quarters] == ["Q1", "Q2", "Q3", "Q4"]
        for quarter in school.quarters:
            assert year.start_date <= quarter.start_date < quarter.end_date <= year.end_date
        assert school.quarter_for(AS_OF.date()) is not None  # the active year holds today
    term_ids = {q.sourced_id for s in district.schools for q in s.quarters}
    lengths = Counter(len(c.term_ids) for c in district.iter_classes())
    assert set(lengths) <= {2, 4}
    assert lengths[2] > 0, "some classes run one semester (two quarters)"
    assert all(set(c.term_ids) <= term_ids for c in district.iter_classes())


def test_names_usernames_and_emails(district):
    users = list(district.iter_users())
    names = [f"{u.given_name} {u.family_name}" for u in users]
    assert any("'" in n for n in names)
    assert any("," in n for n in names)
    assert any(not n.isascii() for n in names)
    usernames = [u.username for u in users]
    assert len(usernames) == len(set(usernames))
    assert all(u.isascii() and u.isalnum() and u.islower() for u in usernames)
    assert all(u.email.startswith(u.username + "@") for u in users)
    assert all(u.email.endswith((".example.org", ".example.com")) for u in users)


def test_guardians_and_students_point_at_each_other(district):
    households = [h for h in district.household_children if len(h) > 1]
    assert households, "some households have siblings"
    for children, guardian in zip(
        district.household_children, district.household_guardian, strict=True
    ):
        family = {district.user_family[c] for c in children}
        assert family == {district.user_family[guardian]}
        assert {district.user_school[c] for c in children} >= {district.user_school[guardian]}


def test_the_large_district_is_compact():
    # Scaled-down check of the memory model: columns, not objects, per enrollment.
    d = generate_district(schools=4, students=4000, seed=1, as_of=AS_OF)
    assert type(d.enr_id).__name__ == "array"
    per_enrollment = sum(
        a.itemsize
        for a in (d.enr_id, d.enr_user, d.enr_class, d.enr_role, d.enr_primary, d.enr_modified,
                  d.enr_status, d.enr_alive)
    )  # fmt: skip
    assert per_enrollment <= 40
