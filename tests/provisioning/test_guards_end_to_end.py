"""Guards on real runs: a tripped guard holds the run with a reason, nothing is sent, and
approval applies exactly the held plan (audited); a failed import changes nothing."""

from __future__ import annotations

import pytest

from provisioning.models import CanvasRow, RosterEnrollment
from provisioning.services.workspace import Workspace
from runs.models import SyncRun
from runs.services.lifecycle import sync_run_discard
from tenants.models import AuditEvent
from tests.provisioning.canvas_view import course_term, enrollment_state, term_state
from tests.provisioning.runs import approve, last_import, sync

# Whole runs against the sandbox, a few seconds each: left out of `make test-fast`.
pytestmark = [pytest.mark.django_db, pytest.mark.slow]

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


def test_rows_canvas_refuses_are_sent_again_until_they_go_in(sandbox, sandbox_district):
    """A login already taken in Canvas by someone else: Canvas skips that user's row; it
    becomes a conflict, stays out of the Canvas mirror and goes out again next run."""
    from provisioning.models import Conflict
    from sandbox.oneroster.generator import STUDENT

    generated = sandbox.generated
    index = next(i for i in range(len(generated.user_pid)) if generated.user_role[i] == STUDENT)
    student, login = generated.user_sourced_id(index), generated.username(index)
    squatter = sandbox.canvas.add_user("someone-else", login, "Manual Account")

    first = sync(sandbox_district)
    assert first.status == S.SUCCEEDED, first.error
    assert last_import(sandbox).workflow_state == "imported_with_messages"
    conflict = Conflict.objects.get(
        district=sandbox_district, object_type="user", sourced_id=student
    )
    assert conflict.kind in ("canvas_warning", "canvas_error")
    assert "users.csv row" in conflict.detail
    assert not CanvasRow.objects.filter(
        district=sandbox_district, file="users", key=student
    ).exists()

    with sandbox.canvas.lock:
        del sandbox.canvas.logins[login.lower()]
        squatter.login_id = "someone-else-renamed"
        sandbox.canvas.logins[squatter.login_id] = squatter
    second = sync(sandbox_district)
    assert second.status == S.SUCCEEDED, second.error
    assert second.counts["users"]["create"] >= 1
    assert CanvasRow.objects.filter(district=sandbox_district, file="users", key=student).exists()
    conflict.refresh_from_db()
    assert conflict.closed_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_rejected_import_rolls_back_the_mirror_but_keeps_the_run_story(sandbox, fast_imports):
    """Outside a test transaction the apply transaction is real: its speculative mirror
    writes roll back, while progress written on the side connection stays."""
    from tests.provisioning.conftest import district_for

    district = district_for(sandbox)
    assert sync(district).status == S.SUCCEEDED
    rows_before = CanvasRow.objects.filter(district=district).count()
    sandbox.oneroster.mutate(adds=2)
    sandbox.canvas.runner.fail_next()
    failed = sync(district)
    assert failed.status == S.FAILED
    assert failed.canvas_import_id  # written on the side connection, kept through rollback
    assert failed.log_lines.filter(message__startswith="Canvas SIS import").count() == 2
    assert CanvasRow.objects.filter(district=district).count() == rows_before
    assert sync(district).counts["users"]["create"] == 2


def test_a_held_plan_lost_in_a_crash_is_never_applied(sandbox, provisioned):
    """The run's tables are unlogged: after a database crash they come back empty. An
    approval must then fail instead of applying (or committing) an empty plan."""
    from django.db import connection

    from provisioning.services.pipeline import RUN_PLAN_LOST

    sandbox.oneroster.scenario("mass_drop", share=0.6)
    run = sync(provisioned, "full")
    assert run.status == S.HELD
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {Workspace(run.pk).table('plan')}")
    before = _imports(sandbox)
    run = approve(run)
    assert run.status == S.FAILED
    assert run.error == RUN_PLAN_LOST
    assert _imports(sandbox) == before
