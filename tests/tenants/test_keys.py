from __future__ import annotations

import json

import pytest
from cryptography.fernet import InvalidToken
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from tenants.models import SECRET_FIELDS, AuditEvent, District, PartnerCredential
from tenants.services.districts import partner_credentials_set
from tenants.services.keys import credential_key_usage, credential_keys_rotate, key_fingerprint
from tests.tenants.conftest import ALL_SECRETS, VENDOR_KEY, VENDOR_SECRET, assert_no_secret

pytestmark = pytest.mark.django_db

OLD_KEY = "old-test-key-not-a-secret"
NEW_KEY = "new-test-key-not-a-secret"


def raw_secret_values() -> list[bytes]:
    columns = ", ".join(SECRET_FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM tenants_district")  # noqa: S608
        rows = cursor.fetchall()
        cursor.execute("SELECT vendor_key, vendor_secret FROM tenants_partnercredential")
        rows += cursor.fetchall()
    return [bytes(value) for row in rows for value in row if value is not None]


@pytest.fixture
def stored(make_district):
    """Two districts with every secret, and the partner key, written under the OLD key."""
    with override_settings(FERNET_KEYS=[OLD_KEY]):
        make_district(oneroster_vendor_key=VENDOR_KEY, oneroster_vendor_secret=VENDOR_SECRET)
        make_district(oneroster_vendor_key=VENDOR_KEY, oneroster_vendor_secret=VENDOR_SECRET)
        partner_credentials_set(
            actor=None, actor_label="test", vendor_key=VENDOR_KEY, vendor_secret=VENDOR_SECRET
        )


def test_no_raw_secret_column_holds_plaintext(stored):
    values = raw_secret_values()
    assert len(values) == 2 * 4 + 2
    for raw in values:
        for secret in ALL_SECRETS:
            assert secret.encode() not in raw


def test_rotation_re_encrypts_so_the_old_key_can_be_dropped(stored):
    before = raw_secret_values()
    with override_settings(FERNET_KEYS=[NEW_KEY, OLD_KEY]):
        assert credential_key_usage() == {
            key_fingerprint(NEW_KEY): 0,
            key_fingerprint(OLD_KEY): 10,
            "unreadable": 0,
        }
        report = credential_keys_rotate()
        assert report.values == 10
        assert report.rows == {"tenants.District": 2, "tenants.PartnerCredential": 1}
        assert credential_key_usage()[key_fingerprint(OLD_KEY)] == 0
    after = raw_secret_values()
    assert not set(before) & set(after)

    with override_settings(FERNET_KEYS=[NEW_KEY]):
        districts = list(District.objects.all())
        assert {d.canvas_token for d in districts} == {ALL_SECRETS[1]}
        assert {d.oneroster_vendor_secret for d in districts} == {VENDOR_SECRET}
        assert PartnerCredential.objects.get().vendor_key == VENDOR_KEY

    event = AuditEvent.objects.get(action=AuditEvent.Action.CREDENTIALS_ROTATED)
    assert event.changes["values"] == 10
    assert_no_secret(json.dumps(event.changes) + event.target)


def test_a_process_still_on_the_old_key_alone_cannot_read_rotated_values(stored):
    """Why web and workers restart with "<new>,<old>" before the rotation: a process that
    still knows only the old key cannot open what the rotation wrote."""
    with override_settings(FERNET_KEYS=[NEW_KEY, OLD_KEY]):
        credential_keys_rotate()
    with override_settings(FERNET_KEYS=[OLD_KEY]), pytest.raises(InvalidToken):
        District.objects.first().canvas_token  # noqa: B018 - reading decrypts
    with override_settings(FERNET_KEYS=[NEW_KEY, OLD_KEY]):
        assert District.objects.first().canvas_token == ALL_SECRETS[1]


def test_rotation_leaves_other_columns_alone(stored):
    updated = dict(District.objects.values_list("pk", "updated_at"))
    with override_settings(FERNET_KEYS=[NEW_KEY, OLD_KEY]):
        credential_keys_rotate()
    assert dict(District.objects.values_list("pk", "updated_at")) == updated


def test_the_command_reports_keys_safe_to_remove_without_secrets(stored, capsys):
    with override_settings(FERNET_KEYS=[NEW_KEY, OLD_KEY]):
        call_command("rotate_credential_keys", "--json")
    payload = json.loads(capsys.readouterr().out)
    assert payload["ok"] is True
    assert payload["unused_keys"] == [key_fingerprint(OLD_KEY)]
    assert payload["usage_after"][key_fingerprint(NEW_KEY)] == 10
    assert_no_secret(json.dumps(payload))
    assert OLD_KEY not in json.dumps(payload)


def test_the_command_refuses_when_a_needed_key_is_missing(stored, capsys):
    with override_settings(FERNET_KEYS=[NEW_KEY]), pytest.raises(SystemExit) as excinfo:
        call_command("rotate_credential_keys")
    assert excinfo.value.code == 1
    assert "10 stored value(s) open with no configured key" in capsys.readouterr().err
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.CREDENTIALS_ROTATED).exists()
