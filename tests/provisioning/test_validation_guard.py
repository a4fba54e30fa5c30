"""The validation guard: a read where many records of a collection fail OneRoster
validation is held, with the collection, the count and the first reasons; approving it
applies the valid records and keeps the rejected ones as conflicts."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from console.forms import DistrictOptionsForm, settings_groups
from provisioning.guards import guards_evaluate
from provisioning.models import Conflict, RosterEnrollment, SyncRun
from provisioning.services.plan import PlanResult
from sandbox.oneroster.faults import FaultRule
from tenants.admin import DistrictAdmin
from tenants.models import District
from tests.provisioning.factories import district_make
from tests.provisioning.runs import approve, sync

S = SyncRun.Status


def _plan(*, read: int, invalid: int, reasons: tuple[str, ...] = ("x is wrong",)) -> PlanResult:
    return PlanResult(
        by_file={},
        by_school={},
        base_by_file={},
        base_by_school={},
        school_names={},
        conflicts={},
        source_counts={"enrollments": read - invalid},
        mirror_counts={},
        high_water=None,
        invalid_counts={"enrollments": invalid},
        invalid_reasons={"enrollments": reasons},
    )


def test_every_record_of_a_collection_invalid_holds_with_the_reasons():
    district = District(slug="d", name="D")
    plan = _plan(read=61, invalid=61, reasons=("beginDate is not an ISO 8601 date: '17/08'",))
    (trip,) = guards_evaluate(district=district, plan=plan)
    assert trip.guard == "validation"
    assert trip.message == (
        "61 of 61 enrollments failed validation: beginDate is not an ISO 8601 date: '17/08'."
    )


@pytest.mark.parametrize(
    ("read", "invalid", "trips"),
    [
        (1000, 20, False),  # 2 %: not more than the share
        (1000, 21, True),  # 2.1 %
        (100, 19, False),  # 19 %, but fewer than 20 records
        (100, 20, True),
    ],
)
def test_the_guard_needs_both_the_share_and_the_count(read, invalid, trips):
    district = District(slug="d", name="D")
    assert bool(guards_evaluate(district=district, plan=_plan(read=read, invalid=invalid))) is trips


def test_the_share_and_the_count_are_district_settings():
    lenient = District(slug="d", name="D", guard_validation_pct=50, guard_validation_min_count=5)
    assert guards_evaluate(district=lenient, plan=_plan(read=100, invalid=40)) == []
    strict = District(slug="d", name="D", guard_validation_pct=0, guard_validation_min_count=1)
    assert guards_evaluate(district=strict, plan=_plan(read=1000, invalid=1))


@pytest.mark.django_db
def test_many_invalid_enrollments_hold_the_run_and_approval_applies_the_valid_ones(
    sandbox, sandbox_district, settings
):
    settings.ONEROSTER_PAGE_SIZE = 100
    total = sandbox.generated.counts()["enrollments"]
    # Two pages of enrollments come with a date format of the provider's own.
    sandbox.oneroster.faults.set(
        [
            FaultRule(
                "field_value", count=2, match="enrollments", field="beginDate", value="17/08/2026"
            )
        ]
    )
    run = sync(sandbox_district)
    assert run.status == S.HELD, run.error
    source = run.plan_summary["source"]["enrollments"]
    invalid, read = source["invalid"], source["invalid"] + source["read"]
    assert (invalid, read) == (200, total)
    assert (
        f"{invalid} of {read} enrollments failed validation: "
        "beginDate is not an ISO 8601 date: '17/08/2026'."
    ) in run.held_reason
    assert source["reasons"] == ["beginDate is not an ISO 8601 date: '17/08/2026'"]
    assert not RosterEnrollment.objects.filter(district=sandbox_district).exists()

    run = approve(run)
    assert run.status == S.SUCCEEDED, run.error
    applied = RosterEnrollment.objects.filter(district=sandbox_district).count()
    assert applied == read - invalid
    rejected = Conflict.objects.filter(
        district=sandbox_district, kind=Conflict.Kind.INVALID_RECORD, object_type="enrollment"
    )
    assert rejected.count() == invalid


@pytest.mark.django_db
def test_the_settings_are_in_the_console_form_the_admin_and_district_set(capsys):
    district = district_make()
    call_command(
        "district",
        "set",
        district.slug,
        "--guard-validation-pct",
        "5",
        "--guard-validation-min-count",
        "50",
        "--json",
    )
    assert json.loads(capsys.readouterr().out)["changed"] == [
        "guard_validation_min_count",
        "guard_validation_pct",
    ]
    district.refresh_from_db()
    assert (district.guard_validation_pct, district.guard_validation_min_count) == (5, 50)

    groups = {
        title: [f.name for f in fields]
        for title, _, fields, _ in settings_groups(DistrictOptionsForm(instance=district))
    }
    assert {"guard_validation_pct", "guard_validation_min_count"} <= set(groups["Safety guards"])
    admin_fields = {name for _, options in DistrictAdmin.fieldsets for name in options["fields"]}
    assert {"guard_validation_pct", "guard_validation_min_count"} <= admin_fields
