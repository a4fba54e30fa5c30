"""Run lifecycle: create, transition, log, phase, heartbeat, approve, discard, cancel, fail.

``SyncRun.status`` changes only through ``sync_run_transition``, which allows exactly the
moves in ``runs.states.TRANSITIONS``. Provisioning, grade passback and the evaluation use
these functions; what is particular to a kind (its workspace) comes through
``runs.registry``.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from redis.exceptions import RedisError

from runs.lease import heartbeat_every_seconds, lease
from runs.locks import district_lock_release_for_run
from runs.models import SyncRun, SyncRunLog
from runs.registry import kinds_with_own_reaper, run_cleanup, run_requested_action
from runs.states import CANCELLABLE, LEASED, TRANSITIONS
from tenants.models import AuditEvent
from tenants.services.audit import actor_label_for, audit_record

if TYPE_CHECKING:
    import datetime as dt

    from django.contrib.auth.models import AbstractBaseUser
    from django.db.models import QuerySet

    from tenants.models import District

logger = logging.getLogger(__name__)

S = SyncRun.Status

#: A run that keeps killing its worker (e.g. out of memory) stops being retried.
MAX_ATTEMPTS = 3

RUN_ALREADY_ACTIVE = "District {district} already has an active run (#{run_id}, {status})."
RUN_TRANSITION_INVALID = "Run #{run_id} cannot go from {current} to {target}."
RUN_WORKER_LOST = "The worker running this run stopped (killed or lost); nothing was committed."
RUN_LEASE_EXPIRED = (
    "Lost: no worker has worked on this run since {heartbeat} (its lease of {lease:.0f} s ran "
    "out; the worker was killed or lost). Nothing was committed; the next run plans again."
)
RUN_TOO_MANY_ATTEMPTS = "The run was started {attempts} times and never finished; giving up."
RUN_CANCELLED = "Cancelled by {actor}."
RUN_NOT_CANCELLABLE = (
    "Run #{run_id} is {status}: only a queued or running run can be cancelled{hint}."
)
RUN_NOT_DECIDABLE = "Run #{run_id} {state}; only a {allowed} run can be {verb}."
#: A run's status in a person's words, for refusals (``Run #5 already succeeded``).
RUN_STATE_WORDS = {
    S.QUEUED: "is still queued",
    S.RUNNING: "is still running",
    S.HELD: "is held",
    S.APPLYING: "is already being applied",
    S.SUCCEEDED: "already succeeded",
    S.FAILED: "already failed",
    S.DISCARDED: "was already discarded",
    S.CANCELLED: "was already cancelled",
}
RUN_CANCEL_HINTS = {
    S.APPLYING: " (it is writing into Canvas; it finishes or fails on its own)",
    S.HELD: " (discard it instead)",
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


class SyncRunNotCancellable(SyncRunError):
    """Only queued and running runs can be cancelled."""


class SyncRunNotDecidable(SyncRunTransitionError):
    """Approve and discard are decisions on a held run (discard: or a queued one). A
    transition error in a person's words, so every caller that handles one handles this."""

    def __init__(self, message: str, *, current: str, target: str) -> None:
        self.current = current
        self.target = target
        SyncRunError.__init__(self, message)


def _account(actor: AbstractBaseUser | None) -> AbstractBaseUser | None:
    """The account a request or decision is recorded against: none for the command line or
    the system."""
    return actor if actor is not None and actor.is_authenticated else None


def _refuse_decision(run: SyncRun, *, allowed: tuple[str, ...], target: str, verb: str) -> None:
    """Raise ``SyncRunNotDecidable`` in a person's words unless ``run`` (locked by the
    caller's transaction) is in one of ``allowed``: "Run #5 already succeeded; only a held
    run can be approved." rather than the state machine's "cannot go from … to …"."""
    status = SyncRun.objects.select_for_update().values_list("status", flat=True).get(pk=run.pk)
    if status not in allowed:
        raise SyncRunNotDecidable(
            RUN_NOT_DECIDABLE.format(
                run_id=run.pk,
                state=RUN_STATE_WORDS.get(status, f"is {status}"),
                allowed=" or ".join(allowed),
                verb=verb,
            ),
            current=status,
            target=target,
        )


class SyncRunLost(SyncRunError):
    """The run was failed, cancelled or changed by someone else while this worker ran it."""


# --- the database connection -----------------------------------------------------------------


def db_connection_fresh() -> None:
    """Drop this thread's database connection if it is dead, so the next query opens a new
    one. After a lost connection (a restarted server, a terminated backend) the failure path
    must not reuse it, or the run would stay ``running`` until the reaper. Inside an atomic
    block the connection belongs to the block, which rolls back first."""
    if connection.in_atomic_block or connection.connection is None:
        return
    if not connection.is_usable():
        connection.close()


# --- creating --------------------------------------------------------------------------------


def sync_run_create(
    *,
    district: District,
    kind: str,
    trigger: str,
    actor: AbstractBaseUser | None = None,
    actor_label: str = "",
    full_read: bool = False,
) -> SyncRun:
    """Create a queued run, refusing if the district has a live active run.

    An active run whose worker's lease ran out first fails as lost (``runs_fail_lost``), so a
    killed worker never blocks its district for longer than one lease. A run asked for by a
    person (any trigger but ``schedule``) is audited. Raises ``SyncRunAlreadyActive``.
    """
    runs_fail_lost(district=district)
    label = actor_label or actor_label_for(actor, default=trigger)
    full_read = full_read or kind == SyncRun.Kind.FULL
    try:
        with transaction.atomic():
            run = SyncRun.objects.create(
                district=district,
                kind=kind,
                trigger=trigger,
                requested_by=_account(actor),
                requested_label=label,
                full_read=full_read,
            )
            if trigger != SyncRun.Trigger.SCHEDULE:
                audit_record(
                    actor=actor,
                    actor_label=label,
                    action=run_requested_action(kind) or AuditEvent.Action.SYNC_REQUESTED,
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


# --- moving ----------------------------------------------------------------------------------


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


def sync_run_phase(*, run: SyncRun, phase: str, **progress: object) -> None:
    """Record where a live run is: ``phase`` (``SyncRun.Phase``) and the counts known so far.

    Entering a new phase stamps ``progress["phase_started"][phase]``, which the benchmark
    reads for timings. Counts merge into ``progress``; unknown ones are simply left out.
    """
    merged = dict(run.progress or {})
    if phase != run.phase:
        started = dict(merged.get("phase_started", {}))
        started[phase] = timezone.now().isoformat()
        merged["phase_started"] = started
    merged.update(progress)
    SyncRun.objects.filter(pk=run.pk).update(phase=phase, progress=merged)
    run.phase, run.progress = phase, merged


# --- heartbeat -------------------------------------------------------------------------------


def sync_run_heartbeat(*, run: SyncRun, using: Any = None) -> None:
    """Record that a worker still holds ``run``; raise ``SyncRunLost`` if it no longer can.

    The update is conditional on the run still being live, so it doubles as a fencing check
    and the safe point where a cancelled run stops: a worker whose run was cancelled, or
    failed as lost after its lease ran out, stops instead of writing on. ``using`` is a second
    database connection, for heartbeats while a transaction is open on the main one
    (``provisioning.services.apply.RunProgress``).
    """
    if using is None:
        updated = SyncRun.objects.filter(pk=run.pk, status__in=tuple(LEASED)).update(
            heartbeat_at=timezone.now()
        )
    else:
        with using.cursor() as cursor:
            cursor.execute(
                f"UPDATE {SyncRun._meta.db_table} SET heartbeat_at = %s "  # noqa: S608
                "WHERE id = %s AND status IN ('running', 'applying')",
                [timezone.now(), run.pk],
            )
            updated = cursor.rowcount
    if not updated:
        raise SyncRunLost(f"Run #{run.pk} is no longer running; this worker stops.")


class Heartbeat:
    """Throttled liveness signal of the worker holding a run: updates the run's heartbeat
    (a fencing check and the cancel point too) and calls ``extend`` (the district lock's
    lease), at most every third of the lease. ``side``, when set, is the connection to
    write it with."""

    def __init__(self, run: SyncRun, *, extend: Callable[[], object] | None = None) -> None:
        self.run = run
        self.extend = extend
        self.side: Any = None
        self._last = 0.0

    def __call__(self) -> None:
        now = time.monotonic()
        if now - self._last < heartbeat_every_seconds():
            return
        self._last = now
        sync_run_heartbeat(run=self.run, using=self.side)
        if self.extend is not None:
            self.extend()


# --- ending ----------------------------------------------------------------------------------


def sync_run_fail(*, run: SyncRun, error: str) -> SyncRun:
    """Mark a live run failed with ``error`` (a message for people, never secrets), on a
    working connection (``db_connection_fresh``), and drop what it left behind."""
    db_connection_fresh()
    sync_run_transition(run=run, to=S.FAILED, error=error[:4000])
    sync_run_log(run=run, message=f"Failed: {error}", level=SyncRunLog.Level.ERROR)
    run_cleanup(run)
    return run


def sync_run_fail_if_active(*, run: SyncRun, error: str) -> SyncRun:
    """The error path of a worker: fail ``run`` unless it already ended (cancelled, reaped).
    Safe after a lost database connection: it opens a new one first."""
    db_connection_fresh()
    run.refresh_from_db()
    if run.is_active:
        with contextlib.suppress(SyncRunTransitionError):  # it ended meanwhile
            sync_run_fail(run=run, error=error)
    return run


def _decide(
    *,
    run: SyncRun,
    actor: AbstractBaseUser | None,
    actor_label: str,
    allowed: tuple[str, ...],
    to: str,
    verb: str,
    action: str,
) -> None:
    """A person's decision on ``run``: refused in their words unless it is in ``allowed``
    (``verb`` says what they tried), otherwise moved to ``to``, audited as ``action`` with
    what they decided on, and logged as "<Verb> by <actor>."."""
    label = actor_label or actor_label_for(actor)
    with transaction.atomic():
        _refuse_decision(run, allowed=allowed, target=to, verb=verb)
        sync_run_transition(run=run, to=to, decided_by=_account(actor), decided_at=timezone.now())
        audit_record(
            actor=actor,
            actor_label=label,
            action=action,
            district=run.district,
            target=f"run #{run.pk}",
            changes={"held_reason": run.held_reason, "counts": run.counts},
        )
        sync_run_log(run=run, message=f"{verb.capitalize()} by {label}.")


def sync_run_approve(
    *, run: SyncRun, actor: AbstractBaseUser | None, actor_label: str = ""
) -> SyncRun:
    """Approve a held run: it moves to ``applying`` and its stored plan is applied next.

    Audited. The caller applies it (in process or through ``provisioning.apply_run``).
    """
    _decide(
        run=run,
        actor=actor,
        actor_label=actor_label,
        allowed=(S.HELD,),
        to=S.APPLYING,
        verb="approved",
        action=AuditEvent.Action.SYNC_APPROVED,
    )
    return run


def sync_run_discard(
    *, run: SyncRun, actor: AbstractBaseUser | None, actor_label: str = ""
) -> SyncRun:
    """Discard a held (or still queued) run: nothing is sent and its plan is deleted. Audited."""
    _decide(
        run=run,
        actor=actor,
        actor_label=actor_label,
        allowed=(S.HELD, S.QUEUED),
        to=S.DISCARDED,
        verb="discarded",
        action=AuditEvent.Action.SYNC_DISCARDED,
    )
    run_cleanup(run)
    return run


def sync_run_cancel(
    *, run: SyncRun, actor: AbstractBaseUser | None, actor_label: str = ""
) -> SyncRun:
    """Cancel a queued or running run. Audited; the district is free as soon as this returns.

    Nothing is half-applied: a queued run never started, and a running one has sent nothing
    yet (sending starts in ``applying``, which cannot be cancelled). Its worker stops at its
    next heartbeat (``SyncRunLost``) and drops its own workspace; a queued run's is dropped
    here. Raises ``SyncRunNotCancellable`` for any other status.
    """
    label = actor_label or actor_label_for(actor)
    with transaction.atomic():
        current = SyncRun.objects.select_for_update().get(pk=run.pk)
        if current.status not in CANCELLABLE:
            raise SyncRunNotCancellable(
                RUN_NOT_CANCELLABLE.format(
                    run_id=run.pk,
                    status=current.status,
                    hint=RUN_CANCEL_HINTS.get(current.status, ""),
                )
            )
        was = current.status
        sync_run_transition(
            run=run,
            to=S.CANCELLED,
            error=RUN_CANCELLED.format(actor=label),
            decided_by=_account(actor),
            decided_at=timezone.now(),
        )
        audit_record(
            actor=actor,
            actor_label=label,
            action=AuditEvent.Action.RUN_CANCELLED,
            district=run.district,
            target=f"run #{run.pk}",
            changes={"kind": run.kind, "status": [was, S.CANCELLED]},
        )
        sync_run_log(run=run, message=f"Cancelled by {label}.", level=SyncRunLog.Level.WARNING)
    if was == S.QUEUED:
        run_cleanup(run)
    return run


def sync_run_worker_lost(*, run: SyncRun) -> SyncRun:
    """A worker found ``run`` live with nobody holding it: its previous worker died.

    Nothing is half-applied (the mirror commits in one transaction), so the run is failed and
    the next run plans again from the mirror.
    """
    if run.attempts >= MAX_ATTEMPTS:
        return sync_run_fail(run=run, error=RUN_TOO_MANY_ATTEMPTS.format(attempts=run.attempts))
    return sync_run_fail(run=run, error=RUN_WORKER_LOST)


# --- lost runs -------------------------------------------------------------------------------


def sync_run_lost(*, run: SyncRun, now: dt.datetime | None = None) -> SyncRun:
    """Fail a run whose lease ran out (its worker was killed or lost), audited with the
    reason, and release the district lock its dead worker still holds."""
    now = now or timezone.now()
    heartbeat = run.heartbeat_at or run.started_at or run.created_at
    reason = RUN_LEASE_EXPIRED.format(
        heartbeat=f"{heartbeat:%Y-%m-%d %H:%M:%S} UTC", lease=lease().total_seconds()
    )
    with transaction.atomic():
        sync_run_fail(run=run, error=reason)
        audit_record(
            actor=None,
            actor_label="system",
            action=AuditEvent.Action.RUN_LOST,
            district=run.district,
            target=f"run #{run.pk}",
            changes={"kind": run.kind, "heartbeat_at": heartbeat.isoformat()},
        )
    try:
        district_lock_release_for_run(run.district_id, run.pk)
    except RedisError as exc:  # the lock lapses on its own within one lease
        logger.warning("run %s: could not release its district lock: %s", run.pk, exc)
    return run


def runs_lost(
    *, district: District | None = None, now: dt.datetime | None = None
) -> QuerySet[SyncRun]:
    """Leased runs (running, applying) whose heartbeat is older than the lease. Kinds with a
    reaper of their own (``RunKind.own_reaper``: grade passback, whose courses wait in the
    queue between heartbeats) are left to it."""
    now = now or timezone.now()
    stale = SyncRun.objects.filter(
        status__in=tuple(LEASED), heartbeat_at__lt=now - lease()
    ).exclude(kind__in=kinds_with_own_reaper())
    if district is not None:
        stale = stale.filter(district=district)
    return stale.select_related("district")


def runs_fail_lost(
    *, district: District | None = None, now: dt.datetime | None = None
) -> list[int]:
    """Fail every lost run (of ``district``, or all); return their ids."""
    failed = []
    for run in runs_lost(district=district, now=now):
        try:
            sync_run_lost(run=run, now=now)
        except SyncRunTransitionError:
            continue  # it moved on meanwhile: its worker is alive after all
        failed.append(run.pk)
    return failed
