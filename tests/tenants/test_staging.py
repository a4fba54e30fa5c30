"""Intake for a district already in use is staged: checked against the staged credentials,
approved by staff (audited), and only then live. Onboarding districts take intake directly."""

from __future__ import annotations

import base64
import json

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.urls import reverse

from tenants.models import AuditEvent, District, StagedCredentials
from tenants.services.audit import audit_record
from tenants.services.clients import district_oneroster_config
from tenants.services.districts import district_update
from tenants.services.intake import intake_link_create
from tenants.services.staged_check import staged_credentials_check
from tenants.services.staging import (
    STAGED_CHECK_REQUIRED,
    StagedCredentialsError,
    staged_credentials_approve,
    staged_credentials_reject,
)
from tests.tenants.conftest import CLIENT_SECRET
from tests.tenants.fake_upstream import TOKEN_PATH, FakeUpstream, json_response
from tests.tenants.test_intake import good_data, open_link

pytestmark = pytest.mark.django_db

NEW_SECRET = "staged-secret-W4QD8"


@pytest.fixture(autouse=True)
def _fresh_rate_limit():
    cache.clear()  # every test opens links from the same test client address


@pytest.fixture
def upstream():
    server = FakeUpstream()
    yield server
    server.stop()


@pytest.fixture
def live_district(make_district):
    district = make_district(name="Harbor Schools")
    return district_update(
        district=district, actor=None, actor_label="test", changes={"status": "active"}
    )


def submit(district: District, data: dict, capture) -> None:
    _, token = intake_link_create(district=district, actor=None, actor_label="test")
    client = Client()
    form = open_link(client, reverse("tenants:intake", kwargs={"token": token}))
    with capture(execute=False):
        response = client.post(form, data)
    assert response.status_code == 200, response.content


def staged_data(upstream: FakeUpstream) -> dict:
    fields = upstream.district_fields()
    return good_data(
        oneroster_base_url=fields["oneroster_base_url"],
        oneroster_token_url=fields["oneroster_token_url"],
        oneroster_client_id="new-client",
        oneroster_client_secret=NEW_SECRET,
    )


def no_sleep(_seconds: float) -> None:
    return None


def test_intake_for_a_live_district_is_staged_and_the_old_credentials_stay(
    live_district, upstream, django_capture_on_commit_callbacks
):
    before = live_district.oneroster_base_url
    submit(live_district, staged_data(upstream), django_capture_on_commit_callbacks)

    live_district.refresh_from_db()
    assert live_district.oneroster_base_url == before
    assert live_district.oneroster_client_secret == CLIENT_SECRET
    staged = StagedCredentials.objects.get(district=live_district)
    assert staged.status == StagedCredentials.Status.PENDING
    assert staged.oneroster_client_secret == NEW_SECRET
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT oneroster_client_secret FROM tenants_stagedcredentials WHERE id = %s",
            [staged.pk],
        )
        assert NEW_SECRET.encode() not in bytes(cursor.fetchone()[0])
    event = AuditEvent.objects.get(action=AuditEvent.Action.INTAKE_STAGED)
    assert event.changes["oneroster_client_secret"] == "(changed)"
    assert NEW_SECRET not in json.dumps(event.changes)
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.INTAKE_SUBMITTED).exists()


def test_the_staged_check_is_queued_with_the_staged_id_only(
    live_district,
    upstream,
    broker,
    django_capture_on_commit_callbacks,
):
    redis_client, queue = broker
    _, token = intake_link_create(district=live_district, actor=None, actor_label="test")
    client = Client()
    form = open_link(client, reverse("tenants:intake", kwargs={"token": token}))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(form, staged_data(upstream))
    staged = StagedCredentials.objects.get()
    (message,) = redis_client.lrange(queue, 0, -1)
    envelope = json.loads(message)
    assert envelope["headers"]["task"] == "tenants.staged_credentials_check"
    args, kwargs, _ = json.loads(base64.b64decode(envelope["body"]))
    assert (args, kwargs) == ([staged.pk], {})
    assert NEW_SECRET not in message.decode()


def test_an_onboarding_district_that_ran_is_staged_too(
    make_district, upstream, django_capture_on_commit_callbacks
):
    district = make_district()
    audit_record(
        actor=None,
        actor_label="cli",
        action=AuditEvent.Action.SYNC_REQUESTED,
        district=district,
        target="run #1",
    )
    submit(district, staged_data(upstream), django_capture_on_commit_callbacks)
    assert StagedCredentials.objects.filter(district=district).count() == 1
    district.refresh_from_db()
    assert district.oneroster_client_secret == CLIENT_SECRET


def test_an_onboarding_district_that_never_ran_takes_intake_directly(
    make_district, upstream, django_capture_on_commit_callbacks
):
    district = make_district()
    submit(district, staged_data(upstream), django_capture_on_commit_callbacks)
    district.refresh_from_db()
    assert district.oneroster_client_secret == NEW_SECRET
    assert not StagedCredentials.objects.exists()


def _staged(district, upstream, capture) -> StagedCredentials:
    submit(district, staged_data(upstream), capture)
    return StagedCredentials.objects.get(district=district, status="pending")


def test_approval_needs_a_passed_check_against_the_staged_credentials(
    live_district, upstream, django_capture_on_commit_callbacks, staff_user
):
    staged = _staged(live_district, upstream, django_capture_on_commit_callbacks)
    upstream.routes[("POST", TOKEN_PATH)] = json_response(401, {"error": "invalid_client"})
    report = staged_credentials_check(staged=staged, sleep=no_sleep)
    assert not report.ok
    with pytest.raises(StagedCredentialsError, match=STAGED_CHECK_REQUIRED):
        staged_credentials_approve(staged=staged, actor=staff_user, actor_label="csm")
    live_district.refresh_from_db()
    assert live_district.oneroster_client_secret == CLIENT_SECRET
    assert live_district.last_check_at is None  # the live connection's result is untouched


def test_until_approval_runs_keep_using_the_old_credentials(
    live_district, upstream, django_capture_on_commit_callbacks
):
    before = district_oneroster_config(live_district)
    staged = _staged(live_district, upstream, django_capture_on_commit_callbacks)
    assert staged_credentials_check(staged=staged, sleep=no_sleep).ok  # passed, not approved

    district = District.objects.get(pk=live_district.pk)
    config = district_oneroster_config(district)
    assert config == before
    assert config.client_secret == CLIENT_SECRET
    assert config.base_url != staged.oneroster_base_url


def test_an_approved_change_goes_live_audited_and_keeps_no_secret(
    live_district, upstream, django_capture_on_commit_callbacks, staff_user
):
    staged = _staged(live_district, upstream, django_capture_on_commit_callbacks)
    assert staged_credentials_check(staged=staged, sleep=no_sleep).ok
    token_requests = [r for r in upstream.requests if r[1] == TOKEN_PATH]
    assert token_requests  # the check ran against the staged (fake upstream) address
    with django_capture_on_commit_callbacks(execute=False) as queued:
        staged_credentials_approve(staged=staged, actor=staff_user, actor_label="csm")
    assert len(queued) == 1  # the live connection is checked again
    live_district.refresh_from_db()
    assert live_district.oneroster_client_secret == NEW_SECRET
    assert live_district.oneroster_base_url == upstream.district_fields()["oneroster_base_url"]
    staged.refresh_from_db()
    assert staged.status == StagedCredentials.Status.APPROVED
    assert staged.oneroster_client_secret is None
    assert staged.decided_by == staff_user
    event = AuditEvent.objects.get(action=AuditEvent.Action.STAGED_APPROVED)
    assert event.actor == staff_user
    assert event.changes["oneroster_client_secret"] == "(changed)"
    with pytest.raises(StagedCredentialsError, match="already approved"):
        staged_credentials_reject(staged=staged, actor=staff_user, actor_label="csm")


def test_a_rejected_change_never_goes_live(
    live_district, upstream, django_capture_on_commit_callbacks, staff_user
):
    staged = _staged(live_district, upstream, django_capture_on_commit_callbacks)
    staged_credentials_reject(staged=staged, actor=staff_user, actor_label="csm")
    staged.refresh_from_db()
    assert staged.status == StagedCredentials.Status.REJECTED
    assert staged.oneroster_client_secret is None
    live_district.refresh_from_db()
    assert live_district.oneroster_client_secret == CLIENT_SECRET
    assert AuditEvent.objects.filter(action=AuditEvent.Action.STAGED_REJECTED).count() == 1


def test_a_newer_submission_supersedes_a_pending_one(
    live_district, upstream, django_capture_on_commit_callbacks
):
    first = _staged(live_district, upstream, django_capture_on_commit_callbacks)
    second = _staged(live_district, upstream, django_capture_on_commit_callbacks)
    first.refresh_from_db()
    assert first.status == StagedCredentials.Status.SUPERSEDED
    assert first.oneroster_client_secret is None
    assert second.status == StagedCredentials.Status.PENDING
    event = AuditEvent.objects.filter(action=AuditEvent.Action.INTAKE_STAGED).first()
    assert event.changes["superseded"] == [first.pk]


def test_only_staff_with_the_approve_permission_can_approve_in_the_admin(
    live_district, upstream, django_capture_on_commit_callbacks, staff_user
):
    staged = _staged(live_district, upstream, django_capture_on_commit_callbacks)
    staged_credentials_check(staged=staged, sleep=no_sleep)
    staff_user.user_permissions.add(Permission.objects.get(codename="view_stagedcredentials"))
    client = Client()
    client.force_login(staff_user)
    url = reverse("admin:tenants_stagedcredentials_changelist")
    post = {"action": "approve", "_selected_action": [staged.pk]}
    client.post(url, post)
    staged.refresh_from_db()
    assert staged.status == StagedCredentials.Status.PENDING  # the action is not offered

    staff_user.user_permissions.add(Permission.objects.get(codename="approve_stagedcredentials"))
    staff_user = type(staff_user).objects.get(pk=staff_user.pk)  # drop the permission cache
    client.force_login(staff_user)
    with django_capture_on_commit_callbacks(execute=False):
        client.post(url, post)
    staged.refresh_from_db()
    assert staged.status == StagedCredentials.Status.APPROVED
