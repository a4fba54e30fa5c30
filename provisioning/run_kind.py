"""Provisioning's kinds of run (delta, full, dry run), as the run core sees them.

Registered in ``ProvisioningConfig.ready``: the launcher creates, enqueues or executes them
through this, the lifecycle drops their workspace when they end, and the reaper re-applies a
lost ``applying`` run's stored plan and sweeps workspaces left behind.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import connection
from django.utils import timezone

from provisioning.notifications import run_conflict_problems
from provisioning.services.pipeline import sync_run_execute
from provisioning.services.workspace import Workspace
from provisioning.tasks import apply_run, run_sync
from runs.models import SyncRun
from runs.registry import RunKind
from runs.services.launch import canvas_missing, oneroster_missing
from runs.services.lifecycle import Heartbeat, sync_run_create

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from runs.locks import RunLock
    from tenants.models import District

K = SyncRun.Kind


def _create(
    *,
    district: District,
    kind: str,
    trigger: str,
    actor: AbstractBaseUser | None = None,
    actor_label: str = "",
    full_read: bool = False,
) -> SyncRun:
    return sync_run_create(
        district=district,
        kind=kind,
        trigger=trigger,
        actor=actor,
        actor_label=actor_label,
        full_read=full_read or kind == K.FULL,
    )


def _enqueue(run: SyncRun) -> None:
    run_sync.delay_on_commit(run.pk)


def _execute(run: SyncRun, lock: RunLock) -> Any:
    return sync_run_execute(run=run, heartbeat=Heartbeat(run, extend=lock.extend))


def _blockers(district: District, kind: str) -> list[str]:
    """A dry run only reads the SIS; a delta or full run also writes into Canvas."""
    missing = oneroster_missing(district)
    if kind != K.DRY_RUN:
        missing += canvas_missing(district)
    return missing


def _cleanup(run: SyncRun) -> None:
    Workspace(run.pk).drop()


def _resume(run: SyncRun) -> None:
    """A lost apply: its stored plan is applied again (idempotent); the fresh heartbeat gives
    the message one lease to be picked up."""
    SyncRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now())
    apply_run.delay_on_commit(run.pk)


def workspaces_sweep() -> None:
    """Drop run schemas left behind by runs that ended without cleaning up (a crash after
    the commit, a killed command): only an active run's schema is still needed."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT substring(nspname from 10)::bigint FROM pg_namespace "
            "WHERE nspname ~ '^prov_run_[0-9]+$'"
        )
        run_ids = [row[0] for row in cursor.fetchall()]
    active = set(
        SyncRun.objects.filter(pk__in=run_ids, status__in=SyncRun.ACTIVE_STATUSES).values_list(
            "pk", flat=True
        )
    )
    for run_id in set(run_ids) - active:
        Workspace(run_id).drop()


PROVISIONING = RunKind(
    kinds=(K.DELTA, K.FULL, K.DRY_RUN),
    create=_create,
    enqueue=_enqueue,
    execute=_execute,
    blockers=_blockers,
    cleanup=_cleanup,
    resume=_resume,
    sweep=workspaces_sweep,
    problems=run_conflict_problems,
    titles={K.DELTA: "Nightly sync", K.FULL: "Full sync", K.DRY_RUN: "Dry run"},
)
