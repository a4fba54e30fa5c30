"""Conflicts: upsert what a run found, close what a run no longer sees, resolve by hand.

A conflict is identified by (district, kind, object type, sourcedId). Seeing it again
updates ``last_seen`` and reopens it if it was closed. Closing needs a run that looked at the
whole scope of that kind:

- validation kinds (``PLAN_KINDS``) are recomputed over the whole effective roster by every
  planning, so every planning closes the ones it did not find;
- ``invalid_record`` needs the record read again: a replacing (full, complete) read of its
  collection closes those not seen, any read that returned the record valid closes its one;
- ``incomplete_read`` closes when that collection is read completely;
- Canvas kinds close when the object is sent again and Canvas says nothing about it.
"""

# Table names are constants or derived from an integer run id; values are bound parameters.
# ruff: noqa: S608

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import connection, transaction
from django.utils import timezone

from provisioning.mapping import FILES
from provisioning.models import Conflict
from provisioning.services.plan import OBJECT_TYPES, PLAN_KINDS, bulk_session
from tenants.models import AuditEvent
from tenants.services.audit import actor_label_for, audit_record

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from integration.oneroster.records import PagingAnomaly
    from provisioning.services.workspace import Workspace
    from runs.models import SyncRun

_UPSERT = """
INSERT INTO provisioning_conflict (district_id, kind, severity, object_type, sourced_id,
    school, detail, first_seen, last_seen, last_run_id, closed_at, resolution_note)
SELECT DISTINCT ON (kind, object_type, sourced_id) %(district)s, kind, severity, object_type,
    sourced_id, school, detail, %(now)s, %(now)s, %(run)s, NULL, ''
FROM {source} ORDER BY kind, object_type, sourced_id, severity
ON CONFLICT ON CONSTRAINT conflict_one_per_object_and_kind DO UPDATE SET
    severity = EXCLUDED.severity, school = EXCLUDED.school, detail = EXCLUDED.detail,
    last_seen = EXCLUDED.last_seen, last_run_id = EXCLUDED.last_run_id, closed_at = NULL
"""


def conflicts_record_plan(*, run: SyncRun, ws: Workspace, replaced: frozenset[str]) -> None:
    """Upsert the planning's ``issues`` and close the conflicts it shows are gone."""
    params = {"district": run.district_id, "now": timezone.now(), "run": run.pk}
    issues = ws.table("issues")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_UPSERT.format(source=issues), params)
        cursor.execute(
            "UPDATE provisioning_conflict c SET closed_at = %(now)s "
            "WHERE c.district_id = %(district)s AND c.closed_at IS NULL "
            "AND c.kind = ANY(%(kinds)s) AND NOT EXISTS (SELECT 1 FROM "
            f"{issues} i WHERE i.kind = c.kind AND i.object_type = c.object_type "
            "AND i.sourced_id = c.sourced_id)",
            {**params, "kinds": list(PLAN_KINDS)},
        )
        replaced_types = [OBJECT_TYPES[c] for c in replaced]
        cursor.execute(
            "UPDATE provisioning_conflict c SET closed_at = %(now)s "
            "WHERE c.district_id = %(district)s AND c.closed_at IS NULL "
            "AND c.kind = 'invalid_record' AND c.object_type = ANY(%(types)s) "
            f"AND NOT EXISTS (SELECT 1 FROM {issues} i WHERE i.kind = c.kind "
            "AND i.object_type = c.object_type AND i.sourced_id = c.sourced_id)",
            {**params, "types": replaced_types},
        )
        for collection, object_type in OBJECT_TYPES.items():
            cursor.execute(
                "UPDATE provisioning_conflict c SET closed_at = %(now)s "
                "WHERE c.district_id = %(district)s AND c.closed_at IS NULL "
                "AND c.kind = 'invalid_record' AND c.object_type = %(type)s "
                f"AND c.sourced_id IN (SELECT sourced_id FROM {ws.src(collection)})",
                {**params, "type": object_type},
            )


def conflicts_record_reads(
    *, run: SyncRun, anomalies: list[PagingAnomaly], read: frozenset[str]
) -> None:
    """Record paging anomalies (one open conflict per collection) and close those of
    collections in ``read`` that added up this time."""
    now = timezone.now()
    incomplete = {a.collection: a for a in anomalies}
    with transaction.atomic():
        for collection, anomaly in incomplete.items():
            Conflict.objects.update_or_create(
                district_id=run.district_id,
                kind=Conflict.Kind.INCOMPLETE_READ,
                object_type=OBJECT_TYPES[collection],
                sourced_id="",
                defaults={
                    "severity": Conflict.Severity.WARNING,
                    "school": "",
                    "detail": f"{anomaly.kind}: {anomaly.detail}"[:2000],
                    "last_seen": now,
                    "last_run": run,
                    "closed_at": None,
                },
                create_defaults={
                    "severity": Conflict.Severity.WARNING,
                    "detail": f"{anomaly.kind}: {anomaly.detail}"[:2000],
                    "first_seen": now,
                    "last_seen": now,
                    "last_run": run,
                },
            )
        Conflict.objects.filter(
            district_id=run.district_id,
            kind=Conflict.Kind.INCOMPLETE_READ,
            object_type__in=sorted(OBJECT_TYPES[c] for c in read - set(incomplete)),
            closed_at__isnull=True,
        ).update(closed_at=now)


def conflicts_record_canvas(
    *, run: SyncRun, ws: Workspace, found: list[tuple[str, str, str, str]]
) -> None:
    """Upsert Canvas row messages and close Canvas conflicts of objects sent cleanly.

    ``found``: (kind, object type, sourcedId, detail) per row message. Every object in the
    run's plan was sent; those without a message now have their Canvas conflicts closed.
    """
    params = {"district": run.district_id, "now": timezone.now(), "run": run.pk}
    file_types = ", ".join(f"('{f.name}', '{f.object_type}')" for f in FILES.values())
    with transaction.atomic(), connection.cursor() as cursor:
        found_table = ws.table("canvas_found")
        cursor.execute(
            f"CREATE TABLE {found_table} (kind text, severity text, object_type text, "
            "sourced_id text, school text, detail text)"
        )
        cursor.executemany(
            f"INSERT INTO {found_table} VALUES (%s, %s, %s, %s, '', %s)",
            [
                (
                    kind,
                    "error" if kind == Conflict.Kind.CANVAS_ERROR else "warning",
                    object_type,
                    sid,
                    detail[:2000],
                )
                for kind, object_type, sid, detail in found
            ],
        )
        cursor.execute(_UPSERT.format(source=found_table), params)
        if not Conflict.objects.filter(
            district_id=run.district_id,
            kind__in=(Conflict.Kind.CANVAS_ERROR, Conflict.Kind.CANVAS_WARNING),
            closed_at__isnull=True,
        ).exists():
            return
        bulk_session(cursor)
        cursor.execute(
            "UPDATE provisioning_conflict c SET closed_at = %(now)s "
            f"FROM {ws.table('plan')} p JOIN (VALUES {file_types}) f(file, object_type) "
            "ON f.file = p.file WHERE c.district_id = %(district)s AND c.closed_at IS NULL "
            "AND c.kind IN ('canvas_error', 'canvas_warning') "
            "AND c.object_type = f.object_type AND c.sourced_id = p.key "
            f"AND NOT EXISTS (SELECT 1 FROM {found_table} x WHERE x.kind = c.kind "
            "AND x.object_type = c.object_type AND x.sourced_id = c.sourced_id)",
            params,
        )


def conflict_resolve(
    *, conflict: Conflict, note: str, actor: AbstractBaseUser | None, actor_label: str = ""
) -> Conflict:
    """Close a conflict by hand with a note (e.g. "fixed in IC, waiting for tonight"). A
    later run that still sees it reopens it. Audited."""
    label = actor_label or actor_label_for(actor)
    with transaction.atomic():
        conflict.closed_at = timezone.now()
        conflict.resolution_note = note
        conflict.save(update_fields=["closed_at", "resolution_note"])
        audit_record(
            actor=actor,
            actor_label=label,
            action=AuditEvent.Action.CONFLICT_RESOLVED,
            district=conflict.district,
            target=f"{conflict.kind} {conflict.object_type} {conflict.sourced_id}",
            changes={"note": note},
        )
    return conflict
