"""Run lifecycle: create, transition, log, heartbeat, approve, discard, reap.

``SyncRun.status`` changes only through ``sync_run_transition``. The map below is the whole
state machine; the passback and evaluation runs use the same one.

    queued ──► running ──► applying ──► succeeded
      │          │  ▲  └──► held ──┬──► applying
      │          │  └ (transient   └──► discarded
      │          │     error, retry)
      └──────────┴──────────┴──────────► failed
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from provisioning.models import SyncRun, SyncRunLog
from tenants.models import AuditEvent
from tenants.services.audit import actor_label_for, audit_record

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from tenants.models import District

logger = logging.getLogger(__name__)

S = SyncRun.Status
TRANSITIONS: dict[str, frozenset[str]] = {
    S.QUEUED: frozenset({S.RUNNING, S.FAILED, S.DISCARDED}),
    # running → queued: a transient upstream error before anything was sent; the task retries.
    S.RUNNING: frozenset({S.QUEUED, S.HELD, S.APPLYING, S.SUCCEEDED, S.FAILED}),
    S.HELD: frozenset({S.APPLYING, S.DISCARDED, S.FAILED}),
    S.APPLYING: frozenset({S.SUCCEEDED, S.FAILED}),
    S.SUCCEEDED: frozenset(),
    S.FAILED: frozenset(),
    S.DISCARDED: frozenset(),
}

#: A run whose heartbeat is older than this has lost its worker; the reaper fails it.
STALE_AFTER = dt.timedelta(minutes=15)
#: A queued run older than this has probably lost its task message; the reaper re-sends it.
QUEUED_RESEND_AFTER = dt.timedelta(minutes=10)
#: How often a busy run proves it is alive (and extends its lock).
HEARTBEAT_EVERY_SECONDS = 30.0
#: A run that keeps killing its worker (e.g. out of memory) stops being retried.
MAX_ATTEMPTS = 3

RUN_ALREADY_ACTIVE = "District {district} already has an active run (#{run_id}, {status})."
RUN_TRANSITION_INVALID = "Run #{run_id} cannot go from {current} to {target}."
RUN_WORKER_LOST = "The worker running this run stopped (killed or lost); nothing was committed."
RUN_TOO_MANY_ATTEMPTS = "The run was started {attempts} times and never finished; giving up."

_REQUEST_ACTIONS = {
    SyncRun.Kind.PASSBACK: AuditEvent.Action.PASSBACK_REQUESTED,
    SyncRun.Kind.EVALUATION: AuditEvent.Action.EVALUATION_REQUESTED,
}


class SyncRunError(Exception):
    """Base class of run lifecycle errors."""


class SyncRunAlreadyActive(SyncRunError):
    """The district already has a queued, running, held or applying run."""

    def __init__(self, *, district: District, active: SyncRun | None) -> None:
        self.active = active
        super().__init__(
            RUN_ALREADY_ACTIVE.format(
                district=district.slug,
                run_id=active.pk if active else "?",
                status=active.status if active else "active",
            )
        )


class SyncRunTransitionError(SyncRunError):
    """The requested status change is not in ``TRANSITIONS``."""

    def __init__(self, *, run_id: int, current: str, target: str) -> None:
        self.current = current
        self.target = target
        super().__init__(
            RUN_TRANSITION_INVALID.format(run_id=run_id, current=current, target=target)
        )


class SyncRunLost(SyncRunError):
    """The run was failed or changed by someone else (the reaper) while this worker ran it."""


def sync_run_create(
    *,
    district: District,
    kind: str,
    trigger: str,
    actor: AbstractBaseUser | None = None,
    actor_label: str = "",
    full_read: bool = False,
) -> SyncRun:
    """Create a queued run, refusing if the district has an active one.

    A run asked for by a person (any trigger but ``schedule``) is audited. Raises
    ``SyncRunAlreadyActive``.
    """
    label = actor_label or actor_label_for(actor, default=trigger)
    full_read = full_read or kind == SyncRun.Kind.FULL
    try:
        with transaction.atomic():
            run = SyncRun.objects.create(
                district=district,
                kind=kind,
                trigger=trigger,
                requested_by=actor if actor is not None and actor.is_authenticated else None,
                requested_label=label,
                full_read=full_read,
            )
            if trigger != SyncRun.Trigger.SCHEDULE:
                audit_record(
                    actor=actor,
                    actor_label=label,
                    action=_REQUEST_ACTIONS.get(kind, AuditEvent.Action.SYNC_REQUESTED),
                    district=district,
                    target=f"run #{run.pk}",
                    changes={"kind": kind, "trigger": trigger, "full_read": full_read},
                )
    except IntegrityError as exc:
        active = SyncRun.objects.filter(
            district=district, status__in=SyncRun.ACTIVE_STATUSES
        ).first()
        raise SyncRunAlreadyActive(district=district, active=active) from exc
    return run


def sync_run_transition(*, run: SyncRun, to: str, **fields: object) -> SyncRun:
    """Move ``run`` to status ``to`` and set ``fields`` with it, atomically.

    Re-reads the row under ``SELECT … FOR UPDATE``, so two workers racing on one run cannot
    both move it; raises ``SyncRunTransitionError`` naming both states when ``to`` is not
    allowed from the current status. Sets ``started_at``/``heartbeat_at``/``attempts`` on
    entering ``running`` and ``finished_at`` on a final status. ``run`` is refreshed.
    """
    with transaction.atomic():
        current = SyncRun.objects.select_for_update().get(pk=run.pk)
        if to not in TRANSITIONS[current.status]:
            raise SyncRunTransitionError(run_id=run.pk, current=current.status, target=to)
        now = timezone.now()
        changes: dict[str, object] = {"status": to, **fields}
        if to == S.RUNNING:
            changes["attempts"] = current.attempts + 1
            changes["heartbeat_at"] = now
            if current.started_at is None:
                changes["started_at"] = now
        if to == S.APPLYING:
            changes["heartbeat_at"] = now
        if to in SyncRun.FINAL_STATUSES:
            changes["finished_at"] = now
        for name, value in changes.items():
            setattr(current, name, value)
        current.save(update_fields=list(changes))
    for name in (*changes, "status"):
        setattr(run, name, getattr(current, name))
    logger.info("run %s: %s", run.pk, to)
    return run


def sync_run_log(*, run: SyncRun, message: str, level: str = SyncRunLog.Level.INFO) -> None:
    """Append a line to the run's log (and the process log)."""
    SyncRunLog.objects.create(run=run, message=message, level=level)
    logger.log(
        logging.WARNING if level != SyncRunLog.Level.INFO else logging.INFO,
        "run %s: %s",
        run.pk,
        message,
    )


def sync_run_heartbeat(*, run: SyncRun, using: Any = None) -> None:
    """Record that a worker still holds ``run``; raise ``SyncRunLost`` if it no longer can.

    The update is conditional on the run still being live, so it doubles as a fencing check:
    a worker that outlived its lease (and was reaped) stops instead of writing on. ``using``
    is a second database connection, for heartbeats while a transaction is open on the
    main one (``provisioning.services.apply.RunProgress``).
    """
    if using is None:
        updated = SyncRun.objects.filter(pk=run.pk, status__in=(S.RUNNING, S.APPLYING)).update(
            heartbeat_at=timezone.now()
        )
    else:
        with using.cursor() as cursor:
            cursor.execute(
                "UPDATE provisioning_syncrun SET heartbeat_at = %s "
                "WHERE id = %s AND status IN ('running', 'applying')",
                [timezone.now(), run.pk],
            )
            updated = cursor.rowcount
    if not updated:
        raise SyncRunLost(f"Run #{run.pk} is no longer running; this worker stops.")


class Heartbeat:
    """Throttled liveness signal of the worker holding a run: updates the run's heartbeat
    (a fencing check too) and calls ``extend`` (the task's lock extension), at most every
    ``HEARTBEAT_EVERY_SECONDS``. ``side``, when set, is the connection to write it with."""

    def __init__(self, run: SyncRun, *, extend: Callable[[], object] | None = None) -> None:
        self.run = run
        self.extend = extend
        self.side: Any = None
        self._last = 0.0

    def __call__(self) -> None:
        now = time.monotonic()
        if now - self._last < HEARTBEAT_EVERY_SECONDS:
            return
        self._last = now
        sync_run_heartbeat(run=self.run, using=self.side)
        if self.extend is not None:
            self.extend()


def sync_run_fail(*, run: SyncRun, error: str) -> SyncRun:
    """Mark a live run failed with ``error`` (a message for people, never secrets)."""
    from provisioning.services.workspace import Workspace

    sync_run_transition(run=run, to=S.FAILED, error=error[:4000])
    sync_run_log(run=run, message=f"Failed: {error}", level=SyncRunLog.Level.ERROR)
    Workspace(run.pk).drop()
    return run


def sync_run_approve(
    *, run: SyncRun, actor: AbstractBaseUser | None, actor_label: str = ""
) -> SyncRun:
    """Approve a held run: it moves to ``applying`` and its stored plan is applied next.

    Audited. The caller applies it (in process or through ``provisioning.apply_run``).
    """
    label = actor_label or actor_label_for(actor)
    with transaction.atomic():
        sync_run_transition(
            run=run,
            to=S.APPLYING,
            decided_by=actor if actor is not None and actor.is_authenticated else None,
            decided_at=timezone.now(),
        )
        audit_record(
            actor=actor,
            actor_label=label,
            action=AuditEvent.Action.SYNC_APPROVED,
            district=run.district,
            target=f"run #{run.pk}",
            changes={"held_reason": run.held_reason, "counts": run.counts},
        )
        sync_run_log(run=run, message=f"Approved by {label}.")
    return run


def sync_run_discard(
    *, run: SyncRun, actor: AbstractBaseUser | None, actor_label: str = ""
) -> SyncRun:
    """Discard a held (or still queued) run: nothing is sent and its plan is deleted. Audited."""
    from provisioning.services.workspace import Workspace

    label = actor_label or actor_label_for(actor)
    with transaction.atomic():
        sync_run_transition(
            run=run,
            to=S.DISCARDED,
            decided_by=actor if actor is not None and actor.is_authenticated else None,
            decided_at=timezone.now(),
        )
        audit_record(
            actor=actor,
            actor_label=label,
            action=AuditEvent.Action.SYNC_DISCARDED,
            district=run.district,
            target=f"run #{run.pk}",
            changes={"held_reason": run.held_reason, "counts": run.counts},
        )
        sync_run_log(run=run, message=f"Discarded by {label}.")
    Workspace(run.pk).drop()
    return run


def sync_run_worker_lost(*, run: SyncRun) -> SyncRun:
    """A worker found ``run`` live with nobody holding it: its previous worker died.

    Nothing is half-applied (the mirror commits in one transaction), so the run is failed and
    the next run plans again from the mirror.
    """
    if run.attempts >= MAX_ATTEMPTS:
        return sync_run_fail(run=run, error=RUN_TOO_MANY_ATTEMPTS.format(attempts=run.attempts))
    return sync_run_fail(run=run, error=RUN_WORKER_LOST)


def _workspaces_sweep() -> None:
    """Drop run schemas left behind by runs that ended without cleaning up (a crash after
    the commit, a killed command): only an active run's schema is still needed."""
    from django.db import connection

    from provisioning.services.workspace import Workspace

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


@dataclass(frozen=True, slots=True)
class ReapResult:
    """What the reaper did and what the caller should send again."""

    failed: list[int]
    resend_queued: list[int]  # queued runs whose task message was probably lost
    resend_applying: list[int]  # approved or interrupted applies: applying is idempotent


def sync_runs_reap(*, now: dt.datetime | None = None) -> ReapResult:
    """Find provisioning runs nobody is working on.

    - ``running`` with a stale heartbeat: its worker died mid-read or mid-plan → failed
      (nothing was sent; the next run plans again);
    - ``applying`` with a stale heartbeat: re-sent to ``provisioning.apply_run``, which
      re-applies the stored plan (Canvas imports are idempotent and the mirrors commit in
      one transaction), until ``MAX_ATTEMPTS`` → failed;
    - ``queued`` for a while: its message was probably lost (broker down at commit) → re-sent;
    - the schema of a run that is over (crashed after its commit) → dropped.

    A held run waits for a person and is never reaped. Called by ``provisioning.reap_runs``.
    """
    now = now or timezone.now()
    kinds = (SyncRun.Kind.DELTA, SyncRun.Kind.FULL, SyncRun.Kind.DRY_RUN)
    stale = SyncRun.objects.filter(
        kind__in=kinds, status__in=(S.RUNNING, S.APPLYING), heartbeat_at__lt=now - STALE_AFTER
    )
    failed, resend_applying = [], []
    for run in stale:
        if run.status == S.APPLYING and run.attempts < MAX_ATTEMPTS:
            resend_applying.append(run.pk)
            continue
        try:
            sync_run_worker_lost(run=run)
        except SyncRunTransitionError:
            continue  # it moved on meanwhile
        failed.append(run.pk)
    _workspaces_sweep()
    resend_queued = list(
        SyncRun.objects.filter(
            kind__in=kinds, status=S.QUEUED, created_at__lt=now - QUEUED_RESEND_AFTER
        ).values_list("pk", flat=True)
    )
    return ReapResult(failed=failed, resend_queued=resend_queued, resend_applying=resend_applying)
