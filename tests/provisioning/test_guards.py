"""Each guard on plan counts alone (no database)."""

from __future__ import annotations

from provisioning.guards import guards_evaluate
from provisioning.services.plan import PlanResult
from tenants.models import District


def _district(**fields) -> District:
    return District(slug="d", name="D", **fields)


def _plan(**fields) -> PlanResult:
    values = {
        "by_file": {},
        "by_school": {},
        "base_by_file": {},
        "base_by_school": {},
        "school_names": {"s1": "Westview High"},
        "conflicts": {},
        "source_counts": {},
        "mirror_counts": {},
        "high_water": None,
        "replaced": frozenset(),
    }
    values.update(fields)
    return PlanResult(**values)


def test_per_type_share_trips_above_the_district_limit_only():
    district = _district()
    at_limit = _plan(by_file={"users": {"drop": 10}}, base_by_file={"users": 100})
    assert guards_evaluate(district=district, plan=at_limit) == []
    above = _plan(by_file={"enrollments": {"drop": 6}}, base_by_file={"enrollments": 100})
    (trip,) = guards_evaluate(district=district, plan=above)
    assert trip.message == "6 of 100 enrollments would be dropped (6 %, limit 5 %)."


def test_per_school_share_needs_a_minimum_size():
    district = _district(guard_school_min_count=20)
    tiny = _plan(
        by_school={"s1": {"sections": {"drop": 10}}}, base_by_school={"s1": {"sections": 19}}
    )
    big = _plan(
        by_school={"s1": {"enrollments": {"drop": 30}}},
        base_by_school={"s1": {"enrollments": 100}},
    )
    assert [t.guard for t in guards_evaluate(district=district, plan=tiny)] == []
    (trip,) = guards_evaluate(district=district, plan=big)
    assert trip.guard == "school_share"
    assert trip.message.startswith("Westview High: 30 of 100 enrollments would be dropped")


def test_renumbering_names_the_school_and_replaces_its_share_reason():
    district = _district()
    plan = _plan(
        by_school={"s1": {"sections": {"drop": 412, "create": 415}}},
        base_by_school={"s1": {"sections": 430}},
    )
    (trip,) = guards_evaluate(district=district, plan=plan)
    assert trip.message == (
        "Westview High: 412 of 430 sections would be dropped and 415 created — looks like the "
        "school's sections were re-numbered."
    )


def test_absolute_user_cap_and_empty_source():
    district = _district(guard_max_user_removals=500, guard_users_drop_pct=100)
    plan = _plan(by_file={"users": {"drop": 501}}, base_by_file={"users": 600})
    assert [t.guard for t in guards_evaluate(district=district, plan=plan)] == ["user_cap"]
    empty = _plan(
        replaced=frozenset({"users"}), source_counts={"users": 0}, mirror_counts={"users": 5}
    )
    (trip,) = guards_evaluate(district=district, plan=empty)
    assert trip.guard == "empty_source"
    delta = _plan(source_counts={"users": 0}, mirror_counts={"users": 5})
    assert guards_evaluate(district=district, plan=delta) == []
