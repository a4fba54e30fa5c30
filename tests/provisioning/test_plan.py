"""Planning over records built in the test: mapping, diffs, drops, conflicts, guards."""

from __future__ import annotations

import msgspec
import pytest
from django.db import connection

from integration.oneroster.records import Enrollment, InvalidRecord, PagingAnomaly, User
from provisioning.guards import guards_evaluate
from provisioning.models import CanvasRow, Conflict, RosterUser
from provisioning.services.conflicts import conflicts_record_plan
from tests.provisioning.factories import district_make
from tests.provisioning.planning import commit, plan_records, plan_rows
from tests.provisioning.roster import MODIFIED, roster_build

pytestmark = pytest.mark.django_db


def _applied(district, records, **kwargs):
    run, ws, plan = plan_records(district, records, **kwargs)
    commit(run, ws)
    return plan


def test_first_plan_creates_every_row_in_consolidated_mode():
    district = district_make()
    roster = roster_build()
    _, ws, plan = plan_records(district, roster.records())
    assert plan.by_file["accounts"]["create"] == 2
    assert plan.by_file["terms"]["create"] == 1
    assert plan.by_file["users"]["create"] == 2 + 2 * 3 * 4
    assert plan.by_file["courses"]["create"] == 6
    assert plan.by_file["sections"]["create"] == 6
    assert plan.by_file["enrollments"]["create"] == 6 * 5
    (term,) = plan_rows(ws, "terms")
    assert term[3][:3] == [f"{district.slug}-sy2026", "2025-2026", "active"]
    courses = {key: row for _, key, _, row in plan_rows(ws, "courses")}
    # course_id, short_name, long_name, account_id, term_id, status, start, end
    assert courses["sch1-c1"][:6] == [
        "sch1-c1",
        "M1",
        "Math 1",
        "sch1",
        f"{district.slug}-sy2026",
        "active",
    ]
    # A year-long class covers both semesters; local midnight in Chicago is 05:00 UTC.
    assert courses["sch1-c1"][6:] == ["2025-08-15T05:00:00Z", "2026-06-06T04:59:59Z"]
    assert courses["sch1-c2"][7] == "2025-12-20T05:59:59Z"
    users = {key: row for _, key, _, row in plan_rows(ws, "users")}
    assert users["t1"] == ["t1", "teacher1", "Tea", "Cher1", "teacher1@example.org", "active"]
    enrollments = {key: row for _, key, _, row in plan_rows(ws, "enrollments")}
    assert enrollments["t-sch1-c1"] == ["sch1-c1", "sch1-c1", "t1", "teacher", "active"]
    assert enrollments["e-sch1-c1-1"][3] == "student"


def test_as_is_mode_makes_a_term_per_session_and_uses_the_earliest():
    district = district_make(term_mode="as_is")
    _, ws, plan = plan_records(district, roster_build().records())
    assert plan.by_file["terms"]["create"] == 5  # the school year and two semesters per school
    courses = {key: row for _, key, _, row in plan_rows(ws, "courses")}
    assert courses["sch1-c1"][4] == "sch1-fall"
    assert courses["sch2-c3"][4] == "sch2-fall"


def test_unchanged_roster_plans_nothing_and_a_full_plan_keeps_every_row():
    district = district_make()
    roster = roster_build()
    _applied(district, roster.records())
    assert CanvasRow.objects.filter(district=district).count() == 2 + 1 + 26 + 6 + 6 + 30
    assert RosterUser.objects.filter(district=district).count() == 26
    _, _, again = plan_records(district, roster.records())
    assert again.rows_to_send(send_all=False) == 0
    _, _, full = plan_records(district, roster.records(), send_all=True)
    assert full.rows_to_send(send_all=True) == 71
    assert full.by_file["users"]["keep"] == 26


def _plan_columns(ws):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name, data_type, collation_name, is_nullable "
            "FROM information_schema.columns WHERE table_schema = %s AND table_name = 'plan' "
            "ORDER BY ordinal_position",
            [ws.schema],
        )
        return cursor.fetchall()


def test_a_full_plan_built_in_one_statement_has_the_columns_of_a_delta_plan():
    district = district_make()
    roster = roster_build()
    _applied(district, roster.records())
    _, delta_ws, _ = plan_records(district, roster.records())
    _, full_ws, _ = plan_records(district, roster.records(), send_all=True)
    assert _plan_columns(full_ws) == _plan_columns(delta_ws)
    assert ("key", "text", "C", "NO") in _plan_columns(full_ws)


def test_a_delta_overlays_the_mirror_and_plans_only_the_change():
    district = district_make()
    roster = roster_build()
    _applied(district, roster.records())
    renamed = msgspec.structs.replace(roster.users[1], family_name="Renamed")
    dropped = msgspec.structs.replace(roster.enrollments[1], status="tobedeleted")
    _, ws, _ = plan_records(district, [renamed, dropped], full_read=False)
    rows = plan_rows(ws)
    assert [(f, k, a) for f, k, a, _ in rows] == [
        ("enrollments", dropped.sourced_id, "drop"),
        ("users", renamed.sourced_id, "update"),
    ]
    assert rows[1][3][3] == "Renamed"


def test_the_roster_mirror_fingerprints_each_record():
    district = district_make()
    roster = roster_build()
    _applied(district, roster.records())  # a complete full read: a freshly built partition
    users = RosterUser.objects.filter(district=district)
    before = dict(users.values_list("sourced_id", "content_hash"))
    assert len(set(before.values())) == len(before)
    sid = roster.users[1].sourced_id
    renamed = msgspec.structs.replace(roster.users[1], family_name="Renamed")
    _applied(district, [renamed], full_read=False)  # a delta: written in place
    after = dict(users.values_list("sourced_id", "content_hash"))
    assert after[sid] != before[sid]
    assert {k: v for k, v in after.items() if k != sid} == {
        k: v for k, v in before.items() if k != sid
    }
    _applied(district, roster.records())  # the old content, in a new partition again
    assert dict(users.values_list("sourced_id", "content_hash")) == before


def test_a_full_read_drops_what_disappeared_but_a_delta_does_not():
    district = district_make()
    roster = roster_build()
    _applied(district, roster.records())
    gone = roster.enrollments.pop(3)
    _, _, delta = plan_records(district, roster.records(), full_read=False)
    assert delta.by_file["enrollments"]["drop"] == 0
    _, ws, _ = plan_records(district, roster.records())
    assert [(k, a) for _, k, a, _ in plan_rows(ws, "enrollments")] == [(gone.sourced_id, "drop")]


def test_an_incomplete_read_drops_nothing_from_that_collection():
    district = district_make()
    roster = roster_build()
    _applied(district, roster.records())
    del roster.enrollments[:5]
    anomaly = PagingAnomaly("enrollments", "short_read", "page 2 came back short")
    _, _, plan = plan_records(district, [*roster.records(), anomaly])
    assert plan.by_file["enrollments"]["drop"] == 0
    assert "enrollments" not in plan.replaced


def test_a_record_failing_validation_keeps_its_last_good_version():
    district = district_make()
    roster = roster_build()
    _applied(district, roster.records())
    bad = roster.users.pop(2)
    invalid = InvalidRecord("users", bad.sourced_id, ("familyName: missing",))
    run, ws, plan = plan_records(district, [*roster.records(), invalid])
    assert plan.by_file["users"]["drop"] == 0
    assert plan.by_file["enrollments"]["drop"] == 0
    conflicts_record_plan(run=run, ws=ws, replaced=plan.replaced)
    conflict = Conflict.objects.get(district=district, kind="invalid_record")
    assert (conflict.object_type, conflict.sourced_id) == ("user", bad.sourced_id)
    assert conflict.detail == "familyName: missing"


def test_data_problems_become_conflicts_and_errors_hold_their_objects_back():
    district = district_make()
    roster = roster_build()
    roster.replace_user("s1-1-2", username="student111")  # same login as s1-1-1
    roster.replace_user("s1-1-3", email="student111@example.org")
    roster.replace_user("s1-2-1", username="")
    roster.replace_user("s1-2-2", orgs=("nowhere",))
    roster.enrollments.append(
        Enrollment("e-ghost", "active", MODIFIED, "ghost", "sch1-c1", "sch1", "student")
    )
    roster.enrollments.append(
        Enrollment("e-noclass", "active", MODIFIED, "s1-1-1", "missing", "sch1", "student")
    )
    roster.classes[2] = msgspec.structs.replace(roster.classes[2], school="elsewhere")
    roster.classes[4] = msgspec.structs.replace(roster.classes[4], terms=("no-such-term",))
    roster.enrollments = [e for e in roster.enrollments if e.sourced_id != "t-sch2-c3"]
    run, ws, plan = plan_records(district, roster.records())
    conflicts_record_plan(run=run, ws=ws, replaced=plan.replaced)
    found = {
        (c.kind, c.sourced_id): c.severity
        for c in Conflict.objects.filter(district=district, closed_at__isnull=True)
    }
    assert found[("duplicate_login", "s1-1-1")] == "error"
    assert found[("duplicate_login", "s1-1-2")] == "error"
    assert found[("duplicate_email", "s1-1-3")] == "warning"
    assert found[("missing_login", "s1-2-1")] == "error"
    assert found[("user_without_school", "s1-2-2")] == "warning"
    assert found[("enrollment_unknown_user", "e-ghost")] == "error"
    assert found[("enrollment_unknown_class", "e-noclass")] == "error"
    assert found[("class_unknown_school", "sch1-c3")] == "error"
    assert found[("class_unknown_term", "sch2-c2")] == "error"
    assert found[("class_without_teacher", "sch2-c3")] == "warning"
    # Enrollments of held users and classes are held with them, each with its reason.
    assert found[("enrollment_unknown_user", "e-sch1-c1-1")] == "error"
    assert found[("enrollment_unknown_class", "e-sch1-c3-1")] == "error"
    sent_users = {k for _, k, _, _ in plan_rows(ws, "users")}
    assert {"s1-1-1", "s1-1-2", "s1-2-1"}.isdisjoint(sent_users)
    assert {"s1-1-3", "s1-2-2"} <= sent_users
    sent_courses = {k for _, k, _, _ in plan_rows(ws, "courses")}
    assert sent_courses == {"sch1-c1", "sch1-c2", "sch2-c1", "sch2-c3"}

    # Fixed at the source: the next planning closes them.
    fixed = roster_build()
    run2, ws2, plan2 = plan_records(district, fixed.records())
    conflicts_record_plan(run=run2, ws=ws2, replaced=plan2.replaced)
    assert not Conflict.objects.filter(district=district, closed_at__isnull=True).exists()


def test_held_objects_that_were_sent_before_are_neither_updated_nor_dropped():
    district = district_make()
    roster = roster_build()
    _applied(district, roster.records())
    roster.replace_user("s1-1-2", username="student111", family_name="Changed")
    _, _, plan = plan_records(district, roster.records())
    assert plan.by_file["users"] == {"create": 0, "update": 0, "keep": 0, "drop": 0}
    assert plan.by_file["enrollments"]["drop"] == 0


def test_switching_term_mode_moves_courses_and_retires_old_terms_behind_a_guard():
    district = district_make(term_mode="as_is")
    roster = roster_build()
    _applied(district, roster.records())
    district.term_mode = "consolidated"
    district.save(update_fields=["term_mode"])
    _, _, plan = plan_records(district, roster.records(), full_read=False)
    assert plan.by_file["courses"]["update"] == 6
    assert plan.by_file["terms"] == {"create": 1, "update": 0, "keep": 0, "drop": 5}
    trips = guards_evaluate(district=district, plan=plan)
    assert [t.guard for t in trips] == ["type_share"]
    assert trips[0].message.startswith("5 of 5 terms would be dropped")


def test_observers_are_linked_only_when_the_district_turns_them_on():
    roster = roster_build(schools=1, classes_per_school=1, students_per_class=2)
    roster.users.append(
        User(
            "g1",
            "active",
            MODIFIED,
            True,
            "parent1",
            "Pa",
            "Rent",
            "guardian",
            (),
            agents=("s1-1-1", "s1-1-2"),
        )
    )
    off = district_make()
    _, _, plan_off = plan_records(off, roster.records())
    assert plan_off.by_file["user_observers"]["create"] == 0
    assert plan_off.by_file["users"]["create"] == 3
    on = district_make(observers_enabled=True)
    _, ws, plan_on = plan_records(on, roster.records())
    assert plan_on.by_file["users"]["create"] == 4
    assert [r for _, _, _, r in plan_rows(ws, "user_observers")] == [
        ["g1", "s1-1-1", "active"],
        ["g1", "s1-1-2", "active"],
    ]


def test_guards_trip_on_a_mass_drop_a_renumbering_and_an_empty_feed():
    district = district_make(guard_school_min_count=3)
    roster = roster_build(schools=2, classes_per_school=4, students_per_class=2)
    _applied(district, roster.records())

    renumbered = roster_build(schools=2, classes_per_school=4, students_per_class=2)
    renumbered.classes = [
        msgspec.structs.replace(c, sourced_id=c.sourced_id + "x") if c.school == "sch1" else c
        for c in renumbered.classes
    ]
    renumbered.enrollments = [
        msgspec.structs.replace(e, class_=e.class_ + "x") if e.school == "sch1" else e
        for e in renumbered.enrollments
    ]
    _, _, plan = plan_records(district, renumbered.records())
    trips = guards_evaluate(district=district, plan=plan)
    assert trips[0].guard == "renumbering"
    assert trips[0].message == (
        "School 1: 4 of 4 sections would be dropped and 4 created — looks like the "
        "school's sections were re-numbered."
    )
    assert "school_share" not in {
        t.guard for t in trips if t.school == "sch1" and t.file == "sections"
    }

    _, _, empty = plan_records(district, [])
    guards = {t.guard for t in guards_evaluate(district=district, plan=empty)}
    assert {"empty_source", "type_share"} <= guards
    assert "user_cap" not in guards

    district.guard_max_user_removals = 3
    _, _, leavers = plan_records(
        district,
        [
            r
            for r in roster.records()
            if not (isinstance(r, User) and r.sourced_id.startswith("s2-"))
        ],
    )
    guards = {t.guard for t in guards_evaluate(district=district, plan=leavers)}
    assert "user_cap" in guards
