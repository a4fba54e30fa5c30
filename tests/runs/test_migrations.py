"""The runs moved to the ``runs`` app without touching their tables: an existing database
keeps every run and log line."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command

from runs.models import SyncRun, SyncRunLog

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("app", "migration"),
    [
        ("runs", "0001_initial"),
        ("provisioning", "0008_runs_moved_to_runs_app"),
        ("gradepassback", "0002_runs_moved_to_runs_app"),
        ("tenants", "0005_evaluation_report_run_in_runs_app"),
    ],
)
def test_the_move_changes_no_table(app, migration):
    out = io.StringIO()
    call_command("sqlmigrate", app, migration, stdout=out)
    sql = out.getvalue().upper()
    for statement in ("CREATE TABLE", "DROP TABLE", "ALTER TABLE", "INSERT", "DELETE"):
        assert statement not in sql


def test_the_tables_keep_their_names_and_the_permissions_follow():
    assert SyncRun._meta.db_table == "provisioning_syncrun"
    assert SyncRunLog._meta.db_table == "provisioning_syncrunlog"
    codenames = set(
        Permission.objects.filter(content_type__app_label="runs").values_list("codename", flat=True)
    )
    assert {"start_syncrun", "approve_syncrun"} <= codenames
    assert not Permission.objects.filter(
        content_type__app_label="provisioning", codename="start_syncrun"
    ).exists()
