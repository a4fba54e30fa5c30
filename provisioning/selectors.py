"""Reads of runs and conflicts, always scoped to one district when one is given; the admin
and the commands use these instead of querying the models directly."""

from __future__ import annotations

from typing import TYPE_CHECKING

from provisioning.models import Conflict
from runs.models import SyncRun, SyncRunLog

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from tenants.models import District


def sync_run_list(*, district: District | None = None) -> QuerySet[SyncRun]:
    runs = SyncRun.objects.select_related("district", "requested_by", "decided_by")
    if district is not None:
        runs = runs.filter(district=district)
    return runs.order_by("-created_at", "-id")


def sync_run_active(*, district: District) -> SyncRun | None:
    return SyncRun.objects.filter(district=district, status__in=SyncRun.ACTIVE_STATUSES).first()


def sync_run_log_lines(*, run: SyncRun) -> QuerySet[SyncRunLog]:
    return SyncRunLog.objects.filter(run=run).order_by("id")


def conflict_list(
    *, district: District | None = None, run: SyncRun | None = None, open_only: bool = False
) -> QuerySet[Conflict]:
    conflicts = Conflict.objects.select_related("district")
    if district is not None:
        conflicts = conflicts.filter(district=district)
    if run is not None:
        conflicts = conflicts.filter(last_run=run)
    if open_only:
        conflicts = conflicts.filter(closed_at__isnull=True)
    return conflicts.order_by("severity", "kind", "sourced_id")
