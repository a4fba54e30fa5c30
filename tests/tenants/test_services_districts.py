from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from tenants.models import AuditEvent, District, PartnerCredential
from tenants.services.districts import (
    FIELD_SECRET,
    district_create,
    district_credentials_set,
    district_update,
    mask_secret,
    partner_credentials_set,
)
from tests.tenants.conftest import CANVAS_TOKEN, CLIENT_SECRET, VENDOR_KEY, VENDOR_SECRET

pytestmark = pytest.mark.django_db


def test_create_writes_one_audit_row_without_secret_values(make_district):
    district = make_district(term_mode=District.TermMode.AS_IS)
    events = list(AuditEvent.objects.filter(district=district))
    assert len(events) == 1
    event = events[0]
    assert event.action == AuditEvent.Action.DISTRICT_CREATED
    assert event.actor_label == "test"
    assert event.changes["term_mode"] == [None, "as_is"]
    assert event.changes["oneroster_client_secret"] == "(changed)"
    assert event.changes["canvas_token"] == "(changed)"
    assert CLIENT_SECRET not in str(event.changes)


def test_create_with_a_client_secret_starts_the_key_year(make_district):
    district = make_district()
    today = timezone.localdate()
    assert district.credentials_received_on == today
    assert district.credentials_expire_on == today + dt.timedelta(days=365)


def test_update_writes_one_row_with_before_and_after(make_district):
    district = make_district()
    updated = district_update(
        district=district,
        actor=None,
        actor_label="test",
        changes={"term_mode": "as_is", "delta_time": "23:15", "guard_users_drop_pct": 15},
    )
    assert updated.delta_time == dt.time(23, 15)
    event = AuditEvent.objects.filter(
        district=district, action=AuditEvent.Action.SETTINGS_CHANGED
    ).get()
    assert event.changes == {
        "term_mode": ["consolidated", "as_is"],
        "delta_time": ["22:30:00", "23:15:00"],
        "guard_users_drop_pct": [10, 15],
    }
    assert District.objects.get(pk=district.pk).term_mode == "as_is"


def test_update_to_the_same_values_writes_nothing(make_district):
    district = make_district()
    district_update(
        district=district, actor=None, actor_label="test", changes={"term_mode": "consolidated"}
    )
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.SETTINGS_CHANGED).exists()


def test_update_refuses_secrets_and_system_fields(make_district):
    district = make_district()
    with pytest.raises(ValidationError) as excinfo:
        district_update(
            district=district,
            actor=None,
            actor_label="test",
            changes={"canvas_token": "x", "last_check_ok": True, "slug": "other"},
        )
    errors = excinfo.value.message_dict
    assert errors["canvas_token"] == [FIELD_SECRET.format(field="canvas_token")]
    assert set(errors) == {"canvas_token", "last_check_ok", "slug"}


def test_update_validates_values_and_changes_nothing_on_error(make_district):
    district = make_district()
    with pytest.raises(ValidationError) as excinfo:
        district_update(
            district=district,
            actor=None,
            actor_label="test",
            changes={"timezone": "Mars/Olympus", "guard_users_drop_pct": 150},
        )
    assert set(excinfo.value.message_dict) == {"timezone"}
    with pytest.raises(ValidationError) as excinfo:
        district_update(
            district=district, actor=None, actor_label="test", changes={"oneroster_concurrency": 9}
        )
    assert "oneroster_concurrency" in excinfo.value.message_dict
    assert District.objects.get(pk=district.pk).oneroster_concurrency == 5
    assert AuditEvent.objects.filter(district=district).count() == 1  # only "created"


def test_credentials_set_writes_one_row_saying_only_changed(make_district):
    district = make_district(oneroster_client_secret=None, canvas_token=None)
    district_credentials_set(
        district=district,
        actor=None,
        actor_label="test",
        oneroster_client_secret=CLIENT_SECRET,
        oneroster_vendor_key=VENDOR_KEY,
        oneroster_vendor_secret=VENDOR_SECRET,
        canvas_token=CANVAS_TOKEN,
    )
    event = AuditEvent.objects.filter(action=AuditEvent.Action.CREDENTIALS_CHANGED).get()
    assert event.changes["oneroster_client_secret"] == "(changed)"
    assert event.changes["oneroster_vendor_key"] == "(changed)"
    assert event.changes["credentials_expire_on"][0] is None
    for secret in (CLIENT_SECRET, CANVAS_TOKEN, VENDOR_KEY, VENDOR_SECRET):
        assert secret not in str(event.changes)
    district.refresh_from_db()
    assert district.vendor_credentials() == (VENDOR_KEY, VENDOR_SECRET)


def test_credentials_set_with_the_same_secret_is_no_change(make_district):
    district = make_district()
    district_credentials_set(
        district=district, actor=None, actor_label="test", oneroster_client_secret=CLIENT_SECRET
    )
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.CREDENTIALS_CHANGED).exists()


def test_credentials_set_keeps_explicit_dates(make_district):
    district = make_district(oneroster_client_secret=None)
    received = dt.date(2026, 1, 5)
    expires = dt.date(2027, 2, 5)
    district = district_credentials_set(
        district=district,
        actor=None,
        actor_label="test",
        oneroster_client_secret="another-secret-value-1",
        credentials_received_on=received,
        credentials_expire_on=expires,
    )
    assert (district.credentials_received_on, district.credentials_expire_on) == (
        received,
        expires,
    )


def test_blank_secret_is_stored_as_null(make_district):
    district = make_district()
    district = district_credentials_set(
        district=district, actor=None, actor_label="test", canvas_token=""
    )
    assert District.objects.get(pk=district.pk).canvas_token is None


def test_partner_credentials_set_is_audited_without_values():
    partner_credentials_set(
        actor=None, actor_label="test", vendor_key=VENDOR_KEY, vendor_secret=VENDOR_SECRET
    )
    partner = PartnerCredential.objects.get()
    assert (partner.vendor_key, partner.vendor_secret) == (VENDOR_KEY, VENDOR_SECRET)
    event = AuditEvent.objects.get(action=AuditEvent.Action.CREDENTIALS_CHANGED)
    assert event.district is None
    assert event.changes == {"vendor_key": "(changed)", "vendor_secret": "(changed)"}


def test_district_without_own_vendor_key_uses_the_partner_key(make_district):
    district = make_district()
    assert district.vendor_credentials() is None
    partner_credentials_set(
        actor=None, actor_label="test", vendor_key=VENDOR_KEY, vendor_secret=VENDOR_SECRET
    )
    assert district.vendor_credentials() == (VENDOR_KEY, VENDOR_SECRET)


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        (None, ""),
        ("", ""),
        ("short", "••••"),
        ("abcdefghijkl1234", "••••1234"),
    ],
)
def test_mask_secret_shows_the_last_four_of_long_secrets_only(value, masked):
    assert mask_secret(value) == masked


def test_create_refuses_a_duplicate_slug(make_district):
    district = make_district()
    with pytest.raises(ValidationError) as excinfo:
        district_create(actor=None, actor_label="test", slug=district.slug, name="Again")
    assert "slug" in excinfo.value.message_dict


def test_schedules_follow_the_settings(make_district):
    from django_celery_beat.models import PeriodicTask

    district = make_district()
    tasks = PeriodicTask.objects.filter(args=f'[{district.pk}, "delta"]')
    assert tasks.get().enabled is False  # onboarding: scheduled, but off
    district_update(
        district=district,
        actor=None,
        actor_label="test",
        changes={"status": "active", "delta_time": "23:05"},
    )
    task = tasks.get()
    assert task.enabled is True
    assert (task.crontab.hour, task.crontab.minute) == ("23", "5")
