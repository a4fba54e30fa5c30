"""One launcher for every entry point: a refused start leaves nothing behind, a lost run
never blocks its district, and the console says why a button is disabled."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from gradepassback.services.tokens import passback_trigger_token_issue
from gradepassback.tasks import scheduled_passback
from integration.redis_names import redis_client
from provisioning.tasks import scheduled_sync
from runs.locks import DistrictBusy, district_lock, lock_name
from runs.models import SyncRun
from runs.services.launch import StartRefused, start_blockers, start_run
from runs.services.lifecycle import sync_run_create, sync_run_transition
from tenants.models import AuditEvent
from tests.provisioning.factories import district_connected, district_make

pytestmark = pytest.mark.django_db
S = SyncRun.Status


def _sync_cli(*args: str) -> tuple[int, dict]:
    out = io.StringIO()
    try:
        call_command("sync", *args, "--json", stdout=out)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, json.loads(out.getvalue().strip().splitlines()[-1])


# --- refusing up front -----------------------------------------------------------------------


def test_blockers_say_what_each_kind_needs():
    empty = district_make()
    assert start_blockers(empty, "dry_run") == [
        "the OneRoster API URL, token URL, client key and client secret are missing "
        "(send the district an intake link)"
    ]
    assert start_blockers(empty, "delta")[1] == (
        "the Canvas URL and token are missing (set in the district's settings)"
    )
    connected = district_connected()
    assert start_blockers(connected, "delta") == []
    assert start_blockers(connected, "passback") == [
        f"Grade passback is off for district {connected.slug} (passback_enabled)"
    ]


def test_a_refused_start_leaves_nothing_behind_from_the_cli():
    district = district_make()
    code, out = _sync_cli("provision", district.slug)
    assert (code, out["status"]) == (1, "refused")
    assert "OneRoster API URL" in out["error"]
    code, out = _sync_cli("evaluate", district.slug, "--enqueue")
    assert (code, out["status"]) == (1, "refused")
    assert not SyncRun.objects.filter(district=district).exists()


def test_a_refused_start_leaves_nothing_behind_from_the_console(console):
    district = district_make(name="Unconnected")
    response = console.post(
        reverse("console:district_run_start", args=[district.slug]),
        {"kind": "delta"},
        follow=True,
    )
    assert "Cannot start a delta of" in response.content.decode()
    assert not SyncRun.objects.filter(district=district).exists()


def test_the_console_disables_start_buttons_with_the_reason(console):
    district = district_make()
    page = console.get(reverse("console:district", args=[district.slug])).content.decode()
    assert 'data-kind="delta"' in page
    assert 'disabled title="Cannot start: the OneRoster API URL' in page


def test_a_refused_start_leaves_nothing_behind_from_beat():
    district = district_make(passback_enabled=True)
    scheduled_sync(district.pk, "delta")
    scheduled_passback(district.pk)
    assert not SyncRun.objects.filter(district=district).exists()


def test_a_refused_start_leaves_nothing_behind_from_the_http_api(client):
    district = district_make(passback_enabled=True)
    token = passback_trigger_token_issue(district=district, actor=None, actor_label="t")
    response = client.post(
        f"/api/passback/{district.slug}/courses/C1",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 403
    assert "OneRoster API URL" in response.json()["error"]
    assert not SyncRun.objects.filter(district=district).exists()


def test_an_in_process_start_refused_by_the_lock_leaves_no_queued_run():
    """The bug: ``sync provision`` created run #N, was refused by the lock and left #N
    queued, so every later start was refused until the reaper came."""
    district = district_connected()
    redis_client().delete(lock_name(district.pk))
    with district_lock(district.pk, run_id=999999):  # another worker holds the district
        code, out = _sync_cli("provision", district.slug)
        with pytest.raises(DistrictBusy):
            start_run(district=district, kind="dry_run", trigger="cli", enqueue=False)
    assert (code, out["status"]) == (1, "refused")
    assert "being worked on by another worker" in out["error"]
    assert not SyncRun.objects.filter(district=district).exists()


def test_start_refused_is_a_run_error_naming_the_district():
    district = district_make(slug="nocreds")
    with pytest.raises(StartRefused, match="Cannot start a dry run of nocreds: the OneRoster"):
        start_run(district=district, kind="dry_run", trigger="cli")


# --- lost runs -------------------------------------------------------------------------------


def test_a_start_fails_a_lost_run_audits_it_frees_its_lock_and_goes_on(settings):
    settings.RUN_LEASE_SECONDS = 60
    district = district_connected()
    lost = sync_run_create(district=district, kind="delta", trigger="cli")
    sync_run_transition(run=lost, to=S.RUNNING)
    SyncRun.objects.filter(pk=lost.pk).update(
        heartbeat_at=timezone.now() - dt.timedelta(seconds=61)
    )
    redis_client().delete(lock_name(district.pk))
    redis_client().set(lock_name(district.pk), f"run-{lost.pk}-deadbeef", px=600_000)  # kill -9

    run = start_run(district=district, kind="delta", trigger="cli")

    lost.refresh_from_db()
    assert lost.status == S.FAILED
    assert lost.error.startswith("Lost: no worker has worked on this run since")
    assert "lease of 60 s ran out" in lost.error
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.RUN_LOST, target=f"run #{lost.pk}"
    ).exists()
    assert not redis_client().exists(lock_name(district.pk))
    assert run.status == S.QUEUED


def test_a_live_run_within_its_lease_still_holds_the_district(settings):
    settings.RUN_LEASE_SECONDS = 60
    district = district_connected()
    live = sync_run_create(district=district, kind="delta", trigger="cli")
    sync_run_transition(run=live, to=S.RUNNING)
    SyncRun.objects.filter(pk=live.pk).update(
        heartbeat_at=timezone.now() - dt.timedelta(seconds=50)
    )
    code, out = _sync_cli("provision", district.slug)
    assert (code, out["status"]) == (1, "refused")
    assert f"already has an active run (#{live.pk}, running)" in out["error"]
    live.refresh_from_db()
    assert live.status == S.RUNNING
