"""Triggers: the HTTP endpoint with its per-district token, the CLI, the schedules."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from gradepassback.models import PassbackRun
from gradepassback.services.schedules import (
    REAPER_NAME,
    passback_schedule_sync,
    passback_task_name,
)
from gradepassback.services.tokens import (
    passback_trigger_token_check,
    passback_trigger_token_issue,
    passback_trigger_token_revoke,
)
from gradepassback.views import UNAUTHORIZED
from runs.models import SyncRun
from tenants.models import AuditEvent, District
from tests.gradepassback.conftest import district_for, provision
from tests.gradepassback.helpers import class_with_quarters

pytestmark = pytest.mark.django_db


@pytest.fixture
def provisioned(db, sandbox, fast_imports):
    made = district_for(sandbox)
    provision(made)
    return made


def _url(slug: str, course: str) -> str:
    return f"/api/passback/{slug}/courses/{course}"


# --- the trigger token ---------------------------------------------------------------------


def test_the_token_is_shown_once_stored_hashed_and_audited(db):
    district = District.objects.create(slug="tok", name="Tok")
    token = passback_trigger_token_issue(district=district, actor=None, actor_label="csm")
    assert token.startswith("rbpb_")
    district.refresh_from_db()
    assert district.passback_trigger_token_hash
    assert token not in district.passback_trigger_token_hash
    assert passback_trigger_token_check(district=district, token=token)
    assert not passback_trigger_token_check(district=district, token=token + "x")
    event = AuditEvent.objects.filter(district=district).first()
    assert event.target == "passback trigger token"
    assert token not in json.dumps(event.changes)
    newer = passback_trigger_token_issue(district=district, actor=None, actor_label="csm")
    assert not passback_trigger_token_check(district=district, token=token)
    assert passback_trigger_token_check(district=district, token=newer)
    passback_trigger_token_revoke(district=district, actor=None, actor_label="csm")
    assert not passback_trigger_token_check(district=district, token=newer)
    assert not passback_trigger_token_check(district=district, token="")


# --- the HTTP endpoint ---------------------------------------------------------------------


def test_endpoint_refuses_missing_wrong_and_other_districts_tokens(client, sandbox, provisioned):
    course = class_with_quarters(sandbox, {0, 1})
    token = passback_trigger_token_issue(district=provisioned, actor=None, actor_label="t")
    other = District.objects.create(slug="other-district", name="Other", passback_enabled=True)
    other_token = passback_trigger_token_issue(district=other, actor=None, actor_label="t")
    for headers in (
        {},
        {"Authorization": "Bearer nope"},
        {"Authorization": f"Basic {token}"},
        {"Authorization": f"Bearer {other_token}"},
    ):
        response = client.post(_url(provisioned.slug, course), headers=headers)
        assert response.status_code == 401
        assert response.json() == {"error": UNAUTHORIZED}
        assert response["WWW-Authenticate"] == 'Bearer realm="passback"'
    # An unknown district looks exactly like a bad token.
    response = client.post(
        _url("no-such-district", course), headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401
    assert not SyncRun.objects.filter(kind="passback").exists()
    assert client.get(_url(provisioned.slug, course)).status_code == 405


def test_endpoint_queues_one_course_and_enforces_one_run(client, sandbox, provisioned):
    course = class_with_quarters(sandbox, {0, 1})
    token = passback_trigger_token_issue(district=provisioned, actor=None, actor_label="t")
    auth = {"Authorization": f"Bearer {token}"}
    response = client.post(_url(provisioned.slug, course), headers=auth)
    assert response.status_code == 202
    body = response.json()
    run = SyncRun.objects.get(pk=body["run_id"])
    assert body == {"run_id": run.pk, "status": "queued", "course": course, "full": False}
    assert (run.kind, run.trigger, run.status) == ("passback", "api", "queued")
    assert PassbackRun.objects.get(run=run).course_sis_ids == [course]
    assert AuditEvent.objects.filter(
        district=provisioned, action=AuditEvent.Action.PASSBACK_REQUESTED
    ).exists()
    busy = client.post(_url(provisioned.slug, course), headers=auth)
    assert busy.status_code == 409
    assert busy.json()["active_run_id"] == run.pk
    assert busy["Retry-After"] == "60"


def test_endpoint_full_on_request(client, sandbox, provisioned):
    course = class_with_quarters(sandbox, {0, 1})
    token = passback_trigger_token_issue(district=provisioned, actor=None, actor_label="t")
    response = client.post(
        _url(provisioned.slug, course) + "?full=1", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 202
    assert response.json()["full"] is True
    assert PassbackRun.objects.get(run_id=response.json()["run_id"]).full


def test_endpoint_unknown_course_and_passback_off(client, provisioned):
    token = passback_trigger_token_issue(district=provisioned, actor=None, actor_label="t")
    auth = {"Authorization": f"Bearer {token}"}
    assert client.post(_url(provisioned.slug, "not-a-class"), headers=auth).status_code == 404
    provisioned.passback_enabled = False
    provisioned.save(update_fields=["passback_enabled"])
    response = client.post(_url(provisioned.slug, "not-a-class"), headers=auth)
    assert response.status_code == 403


# --- the CLI -------------------------------------------------------------------------------


def test_cli_runs_one_course_in_process_and_prints_json(sandbox, provisioned):
    course = class_with_quarters(sandbox, {0, 1})
    out = io.StringIO()
    call_command(
        "sync",
        "passback",
        provisioned.slug,
        "--course",
        course,
        "--json",
        "--parallel",
        "1",
        stdout=out,
    )
    summary = json.loads(out.getvalue())
    run = SyncRun.objects.get(pk=summary["run_id"])
    assert summary["status"] == run.status == "succeeded"
    assert summary["courses"] == [course]
    assert summary["counts"]["courses"] == {"succeeded": 1}
    assert summary["held_reason"] is None
    assert run.trigger == "cli"


def test_cli_refusals_exit_1(sandbox, provisioned):
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("sync", "passback", provisioned.slug, "--course", "nope", stdout=out)
    assert exit_info.value.code == 1
    assert out.getvalue().startswith("refused: nope is not a course")
    provisioned.passback_enabled = False
    provisioned.save(update_fields=["passback_enabled"])
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("sync", "passback", provisioned.slug, "--json", stdout=out)
    assert exit_info.value.code == 1
    assert json.loads(out.getvalue())["status"] == "refused"


def test_cli_enqueue_prints_the_queued_run(provisioned):
    out = io.StringIO()
    call_command("sync", "passback", provisioned.slug, "--enqueue", "--full", stdout=out)
    run = SyncRun.objects.get(kind="passback")
    assert out.getvalue().startswith(f"run {run.pk} (passback, {provisioned.slug}): queued")
    assert PassbackRun.objects.get(run=run).full


def test_cli_a_failed_run_exits_1(sandbox, db, fast_imports):
    district = district_for(sandbox, oneroster_vendor_secret="wrong")
    provision(district)
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("sync", "passback", district.slug, stdout=out)
    assert exit_info.value.code == 1
    assert "the SIS refused the gradebook vendor key" in out.getvalue()


# --- schedules -----------------------------------------------------------------------------


def test_schedule_follows_the_district_settings(db):
    district = District.objects.create(
        slug="sched", name="Sched", timezone="America/Denver", status=District.Status.ACTIVE
    )
    passback_schedule_sync(district=district)
    task = PeriodicTask.objects.get(name=passback_task_name(district))
    assert task.task == "gradepassback.scheduled_passback"
    assert json.loads(task.args) == [district.pk]
    assert (task.crontab.minute, task.crontab.hour) == ("0", "3")
    assert str(task.crontab.timezone) == "America/Denver"
    assert not task.enabled  # passback is off by default
    district.passback_enabled = True
    district.passback_schedule = District.PassbackSchedule.HOURLY
    passback_schedule_sync(district=district)
    task.refresh_from_db()
    assert task.enabled
    assert (task.crontab.minute, task.crontab.hour) == ("45", "*")
    district.passback_schedule = District.PassbackSchedule.OFF
    passback_schedule_sync(district=district)
    task.refresh_from_db()
    assert not task.enabled
    assert PeriodicTask.objects.filter(name=REAPER_NAME, enabled=True).exists()
    # Idempotent.
    passback_schedule_sync(district=district)
    passback_schedule_sync(district=district)
    assert PeriodicTask.objects.filter(name=passback_task_name(district)).count() == 1


def test_changing_district_settings_keeps_the_schedule_in_step(db):
    from tenants.services import district_create, district_update

    district = district_create(actor=None, actor_label="t", slug="svc", name="Svc")
    task = PeriodicTask.objects.get(name=passback_task_name(district))
    assert not task.enabled
    district_update(
        district=district,
        actor=None,
        actor_label="t",
        changes={"status": District.Status.ACTIVE, "passback_enabled": True},
    )
    task.refresh_from_db()
    assert task.enabled


def test_scheduled_task_queues_a_run_or_skips(provisioned):
    from gradepassback.tasks import scheduled_passback

    scheduled_passback(provisioned.pk)
    run = SyncRun.objects.get(kind="passback")
    assert run.trigger == "schedule"
    scheduled_passback(provisioned.pk)  # one active run: skipped
    assert SyncRun.objects.filter(kind="passback").count() == 1
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.PASSBACK_REQUESTED).exists()
