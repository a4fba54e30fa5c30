"""Guards on real runs: a tripped guard holds the run with a reason, nothing is sent, and
approval applies exactly the held plan (audited); a failed import changes nothing."""

from __future__ import annotations

import pytest

from provisioning.models import CanvasRow, RosterEnrollment, SyncRun
from provisioning.services.runs import sync_run_discard
from provisioning.services.workspace import Workspace
from tenants.models import AuditEvent
from tests.provisioning.canvas_view import course_term, enrollment_state, term_state
from tests.provisioning.runs import approve, last_import, sync

pytestmark = pytest.mark.django_db

S = SyncRun.Status


def _imports(sandbox) -> int:
    return len(sandbox.canvas.runner.newest_first())


@pytest.fixture
def provisioned(sandbox, sandbox_district):
    sandbox_district.guard_school_min_count = 5
    sandbox_district.save(update_fields=["guard_school_min_count"])
    assert sync(sandbox_district).status == S.SUCCEEDED
    return sandbox_district


def test_a_mass_drop_is_held_and_approval_applies_the_held_plan(sandbox, provisioned):
    district = provisioned
    dropped = sandbox.oneroster.scenario("mass_drop", share=0.6)["dropped_enrollments"]
    rows = {
        k: CanvasRow.objects.get(district=district, file="enrollments", key=k).row for k in dropped
    }
    before = _imports(sandbox)
    run = sync(district, "full")
    assert run.status == S.HELD
    assert "enrollments would be dropped" in run.held_reason
    assert _imports(sandbox) == before  # nothing sent
    assert Workspace(run.pk).exists()  # the plan waits

    run = approve(run)
    assert run.status == S.SUCCEEDED, run.error
    assert run.counts["enrollments"]["drop"] == len(dropped)
    assert last_import(sandbox).workflow_state == "imported"
    for _course, section, user, role, _ in rows.values():
        assert enrollment_state(sandbox, section=section, user=user, role=role) == "inactive"
    assert not RosterEnrollment.objects.filter(district=district, sourced_id__in=dropped).exists()
    approval = AuditEvent.objects.get(district=district, action=AuditEvent.Action.SYNC_APPROVED)
    assert approval.actor_label == "test"
    assert approval.target == f"run #{run.pk}"


def test_a_renumbered_school_is_held_with_a_reason_people_understand(sandbox, provisioned):
    changed = sandbox.oneroster.scenario("renumber_sections")
    run = sync(provisioned, "full")
    assert run.status == S.HELD
    school = changed["school"][0]
    name = next(s.name for s in sandbox.generated.schools if s.sourced_id == school)
    count = len(changed["old_classes"])
    assert (
        f"{name}: {count} of {count} sections would be dropped and {count} created — looks like "
        "the school's sections were re-numbered."
    ) in run.held_reason
    sync_run_discard(run=run, actor=None, actor_label="test")
    run.refresh_from_db()
    assert run.status == S.DISCARDED
    assert not Workspace(run.pk).exists()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.SYNC_DISCARDED).count() == 1


def test_an_empty_feed_is_held_and_never_read_as_everyone_leaving(sandbox, provisioned):
    sandbox.oneroster.scenario("empty_feed")
    before = _imports(sandbox)
    run = sync(provisioned, "full")
    assert run.status == S.HELD
    assert "The OneRoster feed returned no users" in run.held_reason
    assert _imports(sandbox) == before
    assert CanvasRow.objects.filter(district=provisioned, file="enrollments").exists()


def test_a_failed_import_leaves_the_mirror_and_the_next_run_sends_again(sandbox, provisioned):
    district = provisioned
    renamed = [u for u in sandbox.oneroster.mutate(renames=4)["renamed_users"] if u[0] != "g"]
    assert renamed
    before = {u: CanvasRow.objects.get(district=district, file="users", key=u).row for u in renamed}
    sandbox.canvas.runner.fail_next()
    failed = sync(district)
    assert failed.status == S.FAILED
    assert "did not accept" in failed.error
    assert {
        u: CanvasRow.objects.get(district=district, file="users", key=u).row for u in renamed
    } == before
    retried = sync(district)
    assert retried.status == S.SUCCEEDED, retried.error
    assert retried.counts["users"]["update"] == len(set(renamed))
    assert last_import(sandbox).counts["users"] == len(set(renamed))


def test_switching_term_mode_is_a_planned_change_behind_a_guard(sandbox, provisioned):
    district = provisioned
    (old_row,) = CanvasRow.objects.filter(district=district, file="terms")
    old_term = old_row.row[0]
    district.term_mode = "as_is"
    district.save(update_fields=["term_mode"])
    run = sync(district)
    assert run.status == S.HELD
    assert "1 of 1 terms would be dropped" in run.held_reason
    assert run.counts["courses"]["update"] == len(sandbox.generated.class_id)
    run = approve(run)
    assert run.status == S.SUCCEEDED, run.error
    course = CanvasRow.objects.filter(district=district, file="courses").first()
    assert course_term(sandbox, course.key) == course.row[4] != old_term
    # The old term is retired once no course uses it any more.
    assert term_state(sandbox, old_term) == "deleted"
    assert not CanvasRow.objects.filter(district=district, file="terms", key=old_row.key).exists()
