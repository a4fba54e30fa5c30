"""The evaluation's models moved from ``tenants`` to ``evaluation`` without touching their
tables: a database with reports keeps them, and a permission granted before the move stays
granted."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader

from evaluation.models import EvaluationReport

BEFORE = [("evaluation", None)]


def migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


def latest() -> list[tuple[str, str]]:
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_reports_rows_and_the_permission_survive_the_move():
    migrate(BEFORE)
    applied = MigrationLoader(connection)
    old = applied.project_state(list(applied.applied_migrations)).apps
    district = old.get_model("tenants", "District").objects.create(slug="kept", name="Kept")
    run = old.get_model("runs", "SyncRun").objects.create(
        district_id=district.pk, kind="evaluation", trigger="cli", status="succeeded"
    )
    report = old.get_model("tenants", "EvaluationReport").objects.create(
        run_id=run.pk, district_id=district.pk, summary={"users": {"new": 1}}
    )
    old.get_model("tenants", "EvaluationRow").objects.create(
        report_id=report.pk, object_type="user", match="new", source_id="u1"
    )
    permission = old.get_model("auth", "Permission").objects.get(
        content_type__app_label="tenants", codename="start_evaluation"
    )
    user = get_user_model().objects.create_user(username="csm", is_staff=True)
    user.user_permissions.add(permission.pk)

    migrate(latest())

    moved = EvaluationReport.objects.get(pk=run.pk)
    assert moved.summary == {"users": {"new": 1}}
    assert list(moved.rows.values_list("source_id", "match")) == [("u1", "new")]
    user = get_user_model().objects.get(pk=user.pk)
    assert user.has_perm("evaluation.start_evaluation")
