"""The runs list, the audit log and the conflicts: searched by district, kind, state and
date range, a page at a time, and downloaded as CSV exactly as filtered; a download that
can name students needs the student-data export capability."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from runs.models import SyncRun
from tenants.models import AuditEvent
from tenants.services.audit import audit_record
from tests.console.conftest import conflict_make, run_make

pytestmark = pytest.mark.django_db


def rows_of(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_runs_are_searched_by_district_kind_state_and_dates_and_downloaded(console, make_district):
    north, south = make_district(name="North"), make_district(name="South")
    old = run_make(north, kind="delta", minutes_ago=60 * 24 * 10)
    new = run_make(north, kind="delta", minutes_ago=30)
    run_make(north, kind="full", status="failed", minutes_ago=30)
    run_make(south, kind="delta", minutes_ago=30)
    since = (timezone.now() - dt.timedelta(days=2)).date().isoformat()
    query = {"district": north.slug, "kind": "delta", "status": "succeeded", "from": since}

    page = console.get(reverse("console:runs"), query).content.decode()
    assert f">#{new.pk}<" in page
    assert f">#{old.pk}<" not in page
    assert "South" not in page.split("<tbody>")[1]
    assert f"from={since}" in page  # the CSV link carries the filters

    rows = rows_of(console.get(reverse("console:runs"), {**query, "format": "csv"}))
    assert rows[0][:4] == ["run", "district", "kind", "status"]
    assert [row[0] for row in rows[1:]] == [str(new.pk)]


def test_the_runs_list_is_paginated(console, make_district):
    district = make_district()
    SyncRun.objects.bulk_create(
        SyncRun(district=district, kind="delta", trigger="schedule", status="succeeded")
        for _ in range(105)
    )

    first = console.get(reverse("console:runs")).content.decode()
    assert "Page 1 of 2 · 105 in all" in first
    assert 'href="?page=2"' in first


def test_the_audit_log_is_searched_and_downloaded_by_who_may_export(
    console, make_district, client_for, viewer
):
    district = make_district(name="North")
    audit_record(
        actor=None,
        actor_label="ann",
        action=AuditEvent.Action.SETTINGS_CHANGED,
        district=district,
        target=district.slug,
        changes={"observers_enabled": [False, True]},
    )
    query = {"q": "ann", "from": timezone.now().date().isoformat()}

    page = console.get(reverse("console:audit"), query).content.decode()
    assert "Settings changed" in page
    assert "Send observers (parents): no → yes" in page
    rows = rows_of(console.get(reverse("console:audit"), {**query, "format": "csv"}))
    assert rows[1][1:] == [
        "ann",
        district.slug,
        "Settings changed",
        district.slug,
        "Send observers (parents): no → yes",
    ]
    refused = client_for(viewer).get(reverse("console:audit"), {"format": "csv"})
    assert refused.status_code == 403


def test_conflicts_are_filtered_by_date_and_downloaded(console, make_district):
    district = make_district()
    recent = conflict_make(district)
    old = conflict_make(district, last_seen=timezone.now() - dt.timedelta(days=40))
    query = {"state": "all", "from": (timezone.now() - dt.timedelta(days=3)).date().isoformat()}

    rows = rows_of(console.get(reverse("console:conflicts"), {**query, "format": "csv"}))

    ids = [row[4] for row in rows[1:]]
    assert recent.sourced_id in ids
    assert old.sourced_id not in ids
