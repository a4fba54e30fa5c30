"""Console pages: run history, a run's page, start buttons, approve/discard, conflicts."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.urls import reverse

from provisioning.models import Conflict
from provisioning.services.workspace import Workspace
from runs.models import SyncRun, SyncRunLog
from runs.services.lifecycle import sync_run_create, sync_run_transition
from tenants.models import AuditEvent
from tests.provisioning.factories import district_connected, district_make

pytestmark = pytest.mark.django_db

S = SyncRun.Status


@pytest.fixture
def staff(client):
    user = get_user_model().objects.create_superuser("ops", "ops@example.org", "pw-not-used-1234")
    client.force_login(user)
    return client


def _held_run(district):
    run = sync_run_create(district=district, kind="full", trigger="schedule")
    sync_run_transition(run=run, to=S.RUNNING)
    Workspace(run.pk).create()
    sync_run_transition(
        run=run,
        to=S.HELD,
        held_reason="Westview High: 412 of 430 sections would be dropped and 415 created.",
        counts={"sections": {"create": 415, "update": 0, "keep": 0, "drop": 412}},
        plan_summary={
            "by_school": {"w": {"name": "Westview High", "files": {"sections": {"drop": 412}}}},
            "guards": [{"guard": "renumbering", "message": "Westview High: 412 of 430 …"}],
        },
    )
    SyncRunLog.objects.create(run=run, message="Read: users 10.")
    return run


def test_the_run_page_shows_counts_schools_log_and_the_held_reason(staff):
    run = _held_run(district_make(name="Springfield"))
    Conflict.objects.create(
        district=run.district, kind="duplicate_login", severity="error", object_type="user",
        sourced_id="s1", detail="Login \"x\" is shared by 2 users", first_seen=run.created_at,
        last_seen=run.created_at, last_run=run,
    )  # fmt: skip
    page = staff.get(reverse("admin:runs_syncrun_change", args=[run.pk]))
    text = page.content.decode()
    assert page.status_code == 200
    assert "Held for approval" in text
    assert "412 of 430 sections would be dropped" in text
    assert "Westview High" in text
    assert "Read: users 10." in text
    assert "is shared by 2 users" in text
    assert "Approve and apply" in text
    listing = staff.get(reverse("admin:runs_syncrun_changelist"))
    assert listing.status_code == 200
    assert "held" in listing.content.decode()


def test_approve_and_discard_from_the_console_are_audited(
    staff, django_capture_on_commit_callbacks
):
    district = district_make()
    run = _held_run(district)
    with django_capture_on_commit_callbacks() as callbacks:
        response = staff.post(reverse("admin:runs_syncrun_approve", args=[run.pk]))
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == S.APPLYING
    assert run.decided_by.username == "ops"
    assert len(callbacks) == 1  # provisioning.apply_run is sent after commit
    approved = AuditEvent.objects.get(action=AuditEvent.Action.SYNC_APPROVED)
    assert approved.actor_label == "ops"

    second = _held_run(district_make())
    staff.post(reverse("admin:runs_syncrun_discard", args=[second.pk]))
    second.refresh_from_db()
    assert second.status == S.DISCARDED
    assert AuditEvent.objects.filter(action=AuditEvent.Action.SYNC_DISCARDED).count() == 1


def test_start_buttons_queue_a_run_or_say_why_not(staff, django_capture_on_commit_callbacks):
    url = reverse("admin:runs_syncrun_start")
    unconnected = district_make()
    missing = staff.post(url, {"district": unconnected.pk, "kind": "delta"}, follow=True)
    assert "the OneRoster API URL, token URL, client key and client secret are missing" in (
        missing.content.decode()
    )
    assert not SyncRun.objects.filter(district=unconnected).exists()
    district = district_connected()
    with django_capture_on_commit_callbacks() as callbacks:
        response = staff.post(url, {"district": district.pk, "kind": "dry_run"})
    run = SyncRun.objects.get(district=district)
    assert response.status_code == 302
    assert (run.kind, run.trigger, run.requested_label) == ("dry_run", "manual", "ops")
    assert len(callbacks) == 1
    refused = staff.post(url, {"district": district.pk, "kind": "full"}, follow=True)
    assert "already has an active run" in refused.content.decode()
    assert SyncRun.objects.filter(district=district).count() == 1


def test_dry_run_zip_downloads(staff, settings):
    district = district_make()
    run = sync_run_create(district=district, kind="dry_run", trigger="manual")
    run.dry_run_zip.save("plan.zip", ContentFile(b"PK\x05\x06" + b"\x00" * 18))
    response = staff.get(reverse("admin:runs_syncrun_zip", args=[run.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert f"{district.slug}-dry-run-{run.pk}.zip" in response["Content-Disposition"]


def test_conflicts_list_and_resolve(staff):
    district = district_make()
    run = sync_run_create(district=district, kind="delta", trigger="schedule")
    conflict = Conflict.objects.create(
        district=district, kind="missing_login", severity="error", object_type="user",
        sourced_id="s9", detail="The user has no username to log in with",
        first_seen=run.created_at, last_seen=run.created_at, last_run=run,
    )  # fmt: skip
    url = reverse("admin:provisioning_conflict_changelist")
    assert "has no username" in staff.get(url + "?state=open").content.decode()
    staff.post(url, {"action": "resolve", "_selected_action": [conflict.pk]})
    conflict.refresh_from_db()
    assert conflict.closed_at is not None
    assert "ops" in conflict.resolution_note
    assert AuditEvent.objects.filter(action=AuditEvent.Action.CONFLICT_RESOLVED).exists()
