"""List pages never load (and so never decrypt) district secrets: the secret columns are
deferred, and a secret loads only when code reads it, e.g. to build a client."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from runs.models import SyncRun
from tenants.models import SECRET_FIELDS, AuditEvent, District
from tenants.services.intake import intake_link_create
from tests.tenants.conftest import CLIENT_SECRET

pytestmark = pytest.mark.django_db

LIST_PAGES = [
    "admin:tenants_district_changelist",
    "admin:tenants_intakelink_changelist",
    "admin:tenants_auditevent_changelist",
    "admin:tenants_stagedcredentials_changelist",
    "admin:runs_syncrun_changelist",
    "admin:provisioning_conflict_changelist",
    "admin:gradepassback_passbackrun_changelist",
    "admin:gradepassback_passbackconflict_changelist",
    "admin:gradepassback_categoryoverride_changelist",
    "console:districts",
    "console:runs",
    "console:conflicts",
    "console:audit",
]


@pytest.fixture
def districts(make_district):
    made = [make_district() for _ in range(3)]
    for district in made:
        intake_link_create(district=district, actor=None, actor_label="test")
        SyncRun.objects.create(district=district, kind="delta", trigger="cli", status="failed")
    return made


@pytest.mark.parametrize("name", LIST_PAGES)
def test_list_pages_select_no_secret_column(client, superuser, districts, name):
    client.force_login(superuser)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(name))
    assert response.status_code == 200
    loaded = [
        query["sql"]
        for query in queries.captured_queries
        if any(f'"{column}"' in query["sql"] for column in SECRET_FIELDS)
    ]
    assert loaded == []


def test_a_secret_loads_when_it_is_read(make_district):
    district = make_district()
    loaded = District.objects.get(pk=district.pk)
    assert "oneroster_client_secret" in loaded.get_deferred_fields()
    with CaptureQueriesContext(connection) as queries:
        assert loaded.oneroster_client_secret == CLIENT_SECRET
    assert len(queries.captured_queries) == 1
    assert AuditEvent.objects.filter(district=district).exists()
