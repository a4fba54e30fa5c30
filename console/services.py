"""Console actions that span apps: starting any kind of run, asking for a connection check.

Each one calls the owning app's service (which validates and audits) and queues the work
after the transaction commits, so a worker never looks for a row that is not there yet.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from runs.models import SyncRun
from runs.services.launch import start_blockers, start_run
from runs.services.lifecycle import sync_run_cancel

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from tenants.models import District

#: The kinds of run the console starts, with the permission (``access.PERMISSIONS``) each needs.
RUN_KINDS = {
    "delta": "start_sync",
    "full": "start_sync",
    "dry_run": "start_sync",
    "passback": "start_passback",
    "evaluation": "start_evaluation",
}
#: How long a requested connection check counts as "on its way".
CHECK_PENDING_FOR = dt.timedelta(minutes=10)
UNKNOWN_KIND = "Unknown kind of run: {kind}."


def _check_key(district: District) -> str:
    return f"console:check-requested:{district.pk}"


def console_run_start(*, district: District, kind: str, actor: AbstractBaseUser) -> SyncRun:
    """Start a run of ``kind`` for ``district`` through the launcher (queued, handed to a
    worker after commit).

    Raises ``ValueError`` for an unknown kind, and the launcher's ``SyncRunError``s: what
    the district lacks (``StartRefused``), a live run holding it, passback turned off.
    """
    if kind not in RUN_KINDS:
        raise ValueError(UNKNOWN_KIND.format(kind=kind))
    return start_run(district=district, kind=kind, trigger=SyncRun.Trigger.MANUAL, actor=actor)


def console_start_blockers(*, district: District) -> dict[str, list[str]]:
    """Per kind of run, why the console cannot start it now (empty when it can)."""
    return {kind: start_blockers(district, kind) for kind in RUN_KINDS}


def console_run_cancel(*, run: SyncRun, actor: AbstractBaseUser) -> SyncRun:
    """Cancel a queued or running run (audited); the district is free at once."""
    return sync_run_cancel(run=run, actor=actor)


def console_run_approve(*, run: SyncRun, actor: AbstractBaseUser) -> SyncRun:
    """Approve a held run (audited) and hand its stored plan to a worker after commit."""
    from provisioning.tasks import apply_run
    from runs.services.lifecycle import sync_run_approve

    with transaction.atomic():
        sync_run_approve(run=run, actor=actor)
        apply_run.delay_on_commit(run.pk)
    return run


def console_check_request(*, district: District, actor: AbstractBaseUser) -> None:
    """Queue a connection check (audited when it runs) and remember it was asked for, so the
    district page can wait for the result."""
    from tenants.tasks import district_check

    cache.set(_check_key(district), timezone.now().isoformat(), CHECK_PENDING_FOR.seconds)
    actor_id = actor.pk
    district_id = district.pk
    transaction.on_commit(lambda: district_check.delay(district_id, actor_id))


def console_check_pending(*, district: District, now: dt.datetime | None = None) -> bool:
    """Whether a check was asked for (here, or by an intake submission) and has not
    finished yet."""
    from tenants.models import AuditEvent

    now = now or timezone.now()
    asked = []
    marker = cache.get(_check_key(district))
    if marker:
        asked.append(dt.datetime.fromisoformat(marker))
    submitted = (
        AuditEvent.objects.filter(district=district, action=AuditEvent.Action.INTAKE_SUBMITTED)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    if submitted:
        asked.append(submitted)
    if not asked:
        return False
    latest = max(asked)
    if now - latest > CHECK_PENDING_FOR:
        return False
    return district.last_check_at is None or district.last_check_at < latest
