"""Cancel: a queued or running run, from the console, the admin and the command line. The
worker stops at its next safe point, nothing is sent, the cancel is audited and the district
is free at once."""

from __future__ import annotations

import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from provisioning.models import CanvasRow
from provisioning.services.pipeline import sync_run_execute
from provisioning.services.workspace import Workspace
from runs.models import SyncRun
from runs.services.launch import start_run
from runs.services.lifecycle import (
    Heartbeat,
    SyncRunLost,
    SyncRunNotCancellable,
    sync_run_cancel,
    sync_run_create,
    sync_run_transition,
)
from tenants.models import AuditEvent
from tests.provisioning.factories import district_connected

pytestmark = pytest.mark.django_db
S = SyncRun.Status


def _cli(*args: str) -> dict:
    out = io.StringIO()
    call_command("sync", *args, "--json", stdout=out)
    return json.loads(out.getvalue().strip().splitlines()[-1])


def test_a_queued_run_is_cancelled_from_the_console_and_the_district_is_free(console):
    district = district_connected()
    run = start_run(district=district, kind="delta", trigger="manual")
    Workspace(run.pk).create()

    response = console.post(reverse("console:run_cancel", args=[run.pk]), follow=True)

    assert "cancelled; the district is free" in response.content.decode()
    run.refresh_from_db()
    assert run.status == S.CANCELLED
    assert run.error == "Cancelled by operator."
    assert run.finished_at is not None
    assert not Workspace(run.pk).exists()
    event = AuditEvent.objects.get(action=AuditEvent.Action.RUN_CANCELLED)
    assert (event.actor_label, event.target) == ("operator", f"run #{run.pk}")
    assert event.changes["status"] == ["queued", "cancelled"]
    assert start_run(district=district, kind="delta", trigger="manual").status == S.QUEUED


def test_the_run_page_offers_cancel_while_queued_or_running_only(console):
    district = district_connected()
    run = start_run(district=district, kind="delta", trigger="manual")
    page = console.get(reverse("console:run", args=[run.pk])).content.decode()
    assert 'id="run-cancel"' in page
    sync_run_transition(run=run, to=S.RUNNING)
    sync_run_transition(run=run, to=S.APPLYING)
    page = console.get(reverse("console:run", args=[run.pk])).content.decode()
    assert 'id="run-cancel"' not in page


def test_an_applying_run_cannot_be_cancelled_and_says_why():
    run = sync_run_create(district=district_connected(), kind="delta", trigger="cli")
    sync_run_transition(run=run, to=S.RUNNING)
    sync_run_transition(run=run, to=S.APPLYING)
    with pytest.raises(SyncRunNotCancellable, match="it is writing into Canvas"):
        sync_run_cancel(run=run, actor=None, actor_label="t")
    run.refresh_from_db()
    assert run.status == S.APPLYING


def test_the_cli_cancels_each_kind():
    district = district_connected(passback_enabled=True)
    for subcommand, kind in (
        ("provision", "delta"),
        ("passback", "passback"),
        ("evaluate", "evaluation"),
    ):
        run = start_run(district=district, kind=kind, trigger="cli")
        out = _cli(subcommand, district.slug, "--cancel", str(run.pk))
        assert (out["run_id"], out["status"]) == (run.pk, "cancelled")
    assert AuditEvent.objects.filter(action=AuditEvent.Action.RUN_CANCELLED).count() == 3


def test_the_admin_action_cancels_through_the_same_service(client):
    user = get_user_model().objects.create_superuser("ops", "ops@example.org", "pw-not-used-1234")
    client.force_login(user)
    run = start_run(district=district_connected(), kind="dry_run", trigger="manual")
    client.post(
        reverse("admin:runs_syncrun_changelist"),
        {"action": "cancel", "_selected_action": [run.pk]},
    )
    run.refresh_from_db()
    assert run.status == S.CANCELLED
    assert run.error == "Cancelled by ops."


def test_a_running_run_stops_at_its_next_safe_point_and_sends_nothing(
    sandbox, sandbox_district, settings
):
    """Cancelled while reading: the worker's next heartbeat finds the run over, it stops and
    drops its workspace; nothing reaches Canvas and the mirrors stay empty."""
    settings.RUN_LEASE_SECONDS = 0  # every heartbeat call is a safe point
    run = sync_run_create(district=sandbox_district, kind="full", trigger="cli")
    beats = Heartbeat(run)
    cancelled: list[int] = []

    def heartbeat() -> None:
        if not cancelled:
            sync_run_cancel(run=SyncRun.objects.get(pk=run.pk), actor=None, actor_label="ann")
            cancelled.append(run.pk)
        beats()

    with pytest.raises(SyncRunLost):
        sync_run_execute(run=run, heartbeat=heartbeat)

    run.refresh_from_db()
    assert run.status == S.CANCELLED
    assert not Workspace(run.pk).exists()
    assert not CanvasRow.objects.filter(district=sandbox_district).exists()
    assert sandbox.canvas.runner.newest_first() == []
