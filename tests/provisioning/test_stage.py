"""Staging pages of records into a run's workspace with COPY: values arrive intact."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from integration.oneroster.records import Enrollment, InvalidRecord, PagingAnomaly
from provisioning.services.stage import RosterStager
from provisioning.services.workspace import Workspace
from runs.models import SyncRun
from tests.provisioning.factories import district_make

pytestmark = pytest.mark.django_db

MODIFIED = dt.datetime(2026, 9, 6, 4, 21, tzinfo=dt.UTC)


def _workspace() -> Workspace:
    run = SyncRun.objects.create(
        district=district_make(), kind="full", trigger="cli", status="succeeded", full_read=True
    )
    ws = Workspace(run.pk)
    ws.create()
    return ws


def _enrollments(ws: Workspace) -> list[tuple]:
    with connection.cursor() as cursor:
        table = ws.src("enrollments")
        cursor.execute(
            "SELECT sourced_id, status, date_last_modified, user_sid, class_sid, school, "  # noqa: S608
            f"role, is_primary, begin_date, end_date FROM {table} ORDER BY sourced_id"
        )
        return cursor.fetchall()


def _page(*ids: str) -> list[Enrollment]:
    return [
        Enrollment(
            sid,
            "active",
            MODIFIED,
            f"u-{sid}",
            "c-1",
            "101",
            "student",
            primary=None if n % 2 else True,
            begin_date=dt.date(2026, 8, 17) if n % 2 else None,
            end_date=dt.date(2027, 5, 29) if n % 2 else None,
        )
        for n, sid in enumerate(ids)
    ]


@pytest.mark.parametrize(
    "ids",
    [
        ("e1", "e2", "e3"),
        # Ids that need CSV quoting take the csv module's path for their page.
        ("e1", 'e,"2"', "e3\nx"),
    ],
)
def test_a_page_of_enrollments_is_stored_field_for_field(ids):
    ws = _workspace()
    with RosterStager(ws) as stager:
        stager.add_page(_page(*ids))
        result = stager.load()
    assert result.counts["enrollments"] == len(ids)
    expected = sorted(
        (
            e.sourced_id,
            "active",
            MODIFIED,
            e.user,
            "c-1",
            "101",
            "student",
            e.primary,
            e.begin_date,
            e.end_date,
        )
        for e in _page(*ids)
    )
    assert _enrollments(ws) == expected


def test_a_mixed_page_keeps_invalid_records_and_anomalies():
    ws = _workspace()
    invalid = InvalidRecord("enrollments", "bad", ("role is required",))
    anomaly = PagingAnomaly("enrollments", "short_read", "promised 4, got 3")
    with RosterStager(ws) as stager:
        stager.add_page([*_page("e1"), invalid, *_page("e2"), anomaly])
        result = stager.load()
    assert result.counts["enrollments"] == 2
    assert result.invalid["enrollments"] == 1
    assert result.anomalies == [anomaly]
    assert [row[0] for row in _enrollments(ws)] == ["e1", "e2"]
