"""``manage.py sync provision``: exit codes 0/1/3, one-line and JSON summaries."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from runs.models import SyncRun
from runs.services.lifecycle import sync_run_create
from tenants.models import AuditEvent

pytestmark = pytest.mark.django_db


def sync_command(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("sync", "provision", *args, stdout=out)
    except SystemExit as exc:
        return int(exc.code), out.getvalue()
    return 0, out.getvalue()


def test_a_run_prints_one_line_and_exits_0(sandbox, sandbox_district):
    code, out = sync_command(sandbox_district.slug)
    run = SyncRun.objects.get(district=sandbox_district)
    assert code == 0
    assert out.startswith(f"run {run.pk} (delta, {sandbox_district.slug}): succeeded — ")
    assert len(out.strip().splitlines()) == 1
    requested = AuditEvent.objects.get(action=AuditEvent.Action.SYNC_REQUESTED)
    assert requested.actor_label.startswith("cli")
    assert PeriodicTask.objects.filter(task="provisioning.scheduled_sync").count() == 2


def test_json_summary_and_held_exit_code_then_approve(sandbox, sandbox_district):
    assert sync_command(sandbox_district.slug)[0] == 0
    sandbox.oneroster.scenario("mass_drop", share=0.5)
    code, out = sync_command(sandbox_district.slug, "--full", "--json")
    summary = json.loads(out)
    assert code == 3
    assert summary["status"] == "held"
    assert set(summary) >= {"run_id", "status", "counts", "conflicts", "held_reason"}
    assert summary["counts"]["enrollments"]["drop"] > 0
    assert "would be dropped" in summary["held_reason"]

    code, out = sync_command(sandbox_district.slug, "--approve", str(summary["run_id"]), "--json")
    assert code == 0
    assert json.loads(out)["status"] == "succeeded"


def test_discard_and_refusal_while_a_run_is_active(sandbox, sandbox_district):
    queued = sync_run_create(district=sandbox_district, kind="delta", trigger="schedule")
    code, out = sync_command(sandbox_district.slug, "--json")
    assert code == 1
    assert json.loads(out)["status"] == "refused"
    assert f"#{queued.pk}" in json.loads(out)["error"]
    code, out = sync_command(sandbox_district.slug, "--discard", str(queued.pk))
    assert code == 0
    assert "discarded" in out


def test_a_dry_run_keeps_the_zip_and_sends_nothing(sandbox, sandbox_district):
    code, out = sync_command(sandbox_district.slug, "--dry-run", "--full", "--json")
    run = SyncRun.objects.get(pk=json.loads(out)["run_id"])
    assert code == 0
    assert run.kind == SyncRun.Kind.DRY_RUN
    assert run.status == SyncRun.Status.SUCCEEDED
    assert sandbox.canvas.runner.newest_first() == []
    with zipfile.ZipFile(run.dry_run_zip.open("rb")) as archive:
        assert "enrollments.csv" in archive.namelist()


def test_an_unknown_district_is_an_error():
    err = io.StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("sync", "provision", "nope", stdout=io.StringIO(), stderr=err)
    assert exited.value.code == 1
    assert err.getvalue() == "error: No district with slug 'nope'.\n"
