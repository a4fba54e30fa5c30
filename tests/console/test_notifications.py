"""E-mail to a district's recipients when a run fails, is held, or opens new error
conflicts; sent after commit, never breaking the run, never carrying a secret."""

from __future__ import annotations

import socket

import pytest
from django.core import mail

from runs.models import SyncRun
from runs.services.lifecycle import sync_run_create, sync_run_fail, sync_run_transition
from tests.console.conftest import conflict_make
from tests.tenants.conftest import ALL_SECRETS, assert_no_secret

pytestmark = pytest.mark.django_db

S = SyncRun.Status


@pytest.fixture
def district(make_district):
    return make_district(
        name="Maple Grove", notification_emails="it@maple.example.org, csm@example.org"
    )


def started(district, kind=SyncRun.Kind.DELTA) -> SyncRun:
    run = sync_run_create(district=district, kind=kind, trigger="cli", actor_label="test")
    return sync_run_transition(run=run, to=S.RUNNING)


def test_a_failed_run_mails_every_recipient_with_the_reason_and_a_link(
    district, django_capture_on_commit_callbacks, settings
):
    settings.CONSOLE_BASE_URL = "https://rosterbridge.example.org"
    run = started(district)

    with django_capture_on_commit_callbacks(execute=True):
        sync_run_fail(run=run, error="UpstreamTimeout: sis.example.org did not answer")

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["it@maple.example.org", "csm@example.org"]
    assert message.subject == f"[RosterBridge] Maple Grove: Nightly sync #{run.pk} failed"
    assert "Reason: UpstreamTimeout: sis.example.org did not answer" in message.body
    assert f"https://rosterbridge.example.org/console/runs/{run.pk}/" in message.body
    assert_no_secret(message.subject + message.body, ALL_SECRETS)


def test_a_held_run_mails_the_reason_and_its_new_error_conflicts(
    district, django_capture_on_commit_callbacks
):
    run = started(district)
    conflict_make(district, run=run, sourced_id="s000123")
    conflict_make(district, run=run, severity="warning", kind="duplicate_email")

    with django_capture_on_commit_callbacks(execute=True):
        sync_run_transition(run=run, to=S.HELD, held_reason="60% of enrollments would be dropped.")

    (message,) = mail.outbox
    assert "is held for approval" in message.subject
    assert "60% of enrollments would be dropped." in message.body
    assert "New error conflicts: 1" in message.body
    assert "Duplicate login: user s000123" in message.body
    assert "severity=error" in message.body


def test_a_run_that_succeeds_cleanly_mails_nobody(district, django_capture_on_commit_callbacks):
    run = started(district)

    with django_capture_on_commit_callbacks(execute=True):
        sync_run_transition(run=run, to=S.SUCCEEDED)

    assert mail.outbox == []


def test_a_run_that_succeeds_with_new_error_conflicts_mails_them(
    district, django_capture_on_commit_callbacks
):
    run = started(district)
    conflict_make(district, run=run)
    conflict_make(district, run=run, kind="class_without_teacher", object_type="class")

    with django_capture_on_commit_callbacks(execute=True):
        sync_run_transition(run=run, to=S.SUCCEEDED)

    (message,) = mail.outbox
    assert "found 2 new error conflicts" in message.subject
    assert "1 x Class without a teacher" in message.body


def test_conflicts_seen_before_this_run_are_not_news(district, django_capture_on_commit_callbacks):
    earlier = started(district)
    old = conflict_make(district, run=earlier)
    sync_run_transition(run=earlier, to=S.SUCCEEDED)
    mail.outbox.clear()
    run = started(district)
    old.last_run = run
    old.save(update_fields=["last_run"])

    with django_capture_on_commit_callbacks(execute=True):
        sync_run_transition(run=run, to=S.SUCCEEDED)

    assert mail.outbox == []


def test_a_district_without_recipients_gets_no_mail(
    make_district, django_capture_on_commit_callbacks
):
    run = started(make_district())

    with django_capture_on_commit_callbacks(execute=True):
        sync_run_fail(run=run, error="boom")

    assert mail.outbox == []


def test_nothing_is_mailed_for_a_change_that_is_rolled_back(district):
    run = started(district)

    # The test's transaction never commits: on_commit callbacks never run.
    sync_run_fail(run=run, error="boom")

    assert mail.outbox == []


def test_a_mail_server_that_is_down_does_not_break_the_run(
    district, django_capture_on_commit_callbacks, settings
):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = closed_port
    settings.EMAIL_TIMEOUT = 5
    run = started(district)

    with django_capture_on_commit_callbacks(execute=True):
        sync_run_fail(run=run, error="boom")

    run.refresh_from_db()
    assert run.status == S.FAILED
