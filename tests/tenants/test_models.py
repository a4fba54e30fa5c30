import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from tenants.models import AuditEvent, District

pytestmark = pytest.mark.django_db


def test_secret_columns_hold_no_plaintext():
    District.objects.create(
        slug="d1",
        name="D1",
        oneroster_client_secret="plain-client-secret-1234",
        canvas_token="plain-canvas-token-5678",
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT oneroster_client_secret, canvas_token FROM tenants_district")
        raw = cursor.fetchone()
    assert all(b"plain" not in bytes(value) for value in raw)
    district = District.objects.get(slug="d1")
    assert district.oneroster_client_secret == "plain-client-secret-1234"


def test_audit_events_cannot_be_updated_or_deleted_even_in_sql():
    event = AuditEvent.objects.create(actor_label="system", action=AuditEvent.Action.CHECK_RUN)
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM tenants_auditevent")
