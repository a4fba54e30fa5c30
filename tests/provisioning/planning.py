"""Run the planning services on records built in a test, without a OneRoster client."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection, transaction

from provisioning.services.apply import mirrors_write
from provisioning.services.plan import PlanResult, sync_plan_build
from provisioning.services.stage import RosterStager
from provisioning.services.workspace import Workspace
from runs.models import SyncRun
from tenants.models import District


def plan_records(
    district: District, records: Iterable[object], *, full_read: bool = True, send_all: bool = False
) -> tuple[SyncRun, Workspace, PlanResult]:
    # The run only names the workspace here; its status plays no part in planning.
    run = SyncRun.objects.create(
        district=district,
        kind="full" if send_all else "delta",
        trigger="cli",
        status="succeeded",
        full_read=full_read,
    )
    ws = Workspace(run.pk)
    ws.create()
    with RosterStager(ws) as stager:
        for record in records:
            stager.add(record)
        stage = stager.load()
    plan = sync_plan_build(
        ws=ws, district=district, stage=stage, full_read=full_read, send_all=send_all
    )
    run.plan_summary = {"replaced": sorted(plan.replaced)}
    run.save(update_fields=["plan_summary"])
    return run, ws, plan


def plan_rows(ws: Workspace, file: str | None = None) -> list[tuple[str, str, str, list[str]]]:
    """(file, key, action, row) of the plan, sorted."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT file, key, action, row FROM {ws.table('plan')} "  # noqa: S608
            "WHERE %s::text IS NULL OR file = %s ORDER BY file, key",
            [file, file],
        )
        return cursor.fetchall()


def commit(run: SyncRun, ws: Workspace) -> None:
    """What an accepted import does: both mirrors take the plan and the read."""
    with transaction.atomic():
        mirrors_write(run=run, ws=ws)
    ws.drop()
