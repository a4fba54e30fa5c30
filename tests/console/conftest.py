"""Console fixtures: staff users with and without permissions, signed-in clients, and
runs, conflicts and mirror rows created as plain test data."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from provisioning.models import CanvasRow, Conflict, RosterClass, RosterSession
from runs.models import SyncRun
from tenants.permissions import CAPABILITIES
from tests.roles import role_group
from tests.tenants.conftest import make_district  # noqa: F401 - fixture

PASSWORD = "correct horse battery staple"
#: Every capability the console checks (tenants.permissions).
CONSOLE_PERMISSIONS = tuple(tuple(permission.split(".")) for permission in CAPABILITIES.values())
_numbers = itertools.count(1)


def staff(username: str, *, permissions=CONSOLE_PERMISSIONS):
    user = get_user_model().objects.create_user(username=username, password=PASSWORD, is_staff=True)
    for app_label, codename in permissions:
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return user


@pytest.fixture
def operator(db):
    """A CSM who may do everything the console offers."""
    return staff("operator")


@pytest.fixture
def viewer(db):
    """Staff in the Viewer role: may look, may not change or export anything."""
    user = staff("viewer", permissions=())
    user.groups.add(role_group("Viewer"))
    return user


@pytest.fixture
def client_for():
    def make(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def console(client_for, operator) -> Client:
    return client_for(operator)


def run_make(district, *, kind="delta", status="succeeded", minutes_ago=60, took=90, **fields):
    """A finished (or not) run as test data, with start and finish times."""
    created = timezone.now() - dt.timedelta(minutes=minutes_ago)
    run = SyncRun.objects.create(
        district=district,
        kind=kind,
        trigger=SyncRun.Trigger.SCHEDULE,
        requested_label="schedule",
        status=status,
        **fields,
    )
    finished = created + dt.timedelta(seconds=took) if status in SyncRun.FINAL_STATUSES else None
    # A live run's worker is alive: its heartbeat is fresh (a stale one is failed as lost).
    alive = timezone.now() if status in ("running", "applying") else created
    SyncRun.objects.filter(pk=run.pk).update(
        created_at=created, started_at=created, finished_at=finished, heartbeat_at=alive
    )
    run.refresh_from_db()
    return run


def conflict_make(district, *, run=None, kind="duplicate_login", severity="error", **fields):
    now = timezone.now()
    values = {
        "object_type": "user",
        "sourced_id": f"s{next(_numbers):06d}",
        "school": "",
        "detail": "Login jdoe is used by 2 users",
        "first_seen": now,
        "last_seen": now,
        "last_run": run,
        **fields,
    }
    return Conflict.objects.create(district=district, kind=kind, severity=severity, **values)


def mirror_make(district) -> None:
    """A district provisioned in consolidated mode: one year term, three courses; the roster
    has a fall and a spring session."""
    now = timezone.now()
    common = {"district": district, "content_hash": 0, "last_seen_at": now}
    RosterSession.objects.create(
        sourced_id="T-FALL",
        title="Fall",
        type="semester",
        start_date=dt.date(2025, 8, 15),
        end_date=dt.date(2025, 12, 20),
        school_year="2026",
        **common,
    )
    RosterSession.objects.create(
        sourced_id="T-SPRING",
        title="Spring",
        type="semester",
        start_date=dt.date(2026, 1, 5),
        end_date=dt.date(2026, 5, 30),
        school_year="2026",
        **common,
    )
    year_term = f"{district.slug}-sy2026"
    for sid, terms in (("C1", ["T-FALL"]), ("C2", ["T-SPRING", "T-FALL"]), ("C3", ["T-SPRING"])):
        RosterClass.objects.create(
            sourced_id=sid, title=f"Class {sid}", school="SCH1", terms=terms, **common
        )
        CanvasRow.objects.create(
            district=district,
            file="courses",
            key=sid,
            school="SCH1",
            row=[sid, sid, f"Class {sid}", "SCH1", year_term, "active", "", ""],
            row_hash=0,
            sent_at=now,
        )
    CanvasRow.objects.create(
        district=district,
        file="terms",
        key="2026",
        row=[year_term, "2025-2026", "active", "", ""],
        row_hash=0,
        sent_at=now,
    )
