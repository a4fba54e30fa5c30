"""The reaper: runs nobody is working on stop holding their district.

Beat calls it every few minutes (``provisioning.reap_runs``), but a district never waits for
it: every start fails its district's lost runs first (``sync_run_create``). It

- fails a leased run (running, applying) whose lease ran out: its worker was killed. The
  district lock the dead worker held is released with it. A lost ``applying`` run of a kind
  that can resume (provisioning re-applies its stored plan, idempotently) is handed out
  again instead, until ``MAX_ATTEMPTS``;
- re-sends a run queued for ``QUEUED_RESEND_AFTER``: its message was probably lost (the
  broker was down at commit);
- lets each kind sweep what runs that ended uncleanly left behind.

A held run waits for a person and is never reaped. A kind with a reaper of its own
(``RunKind.own_reaper``: grade passback hands its courses out again one by one) is left to it.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.utils import timezone

from runs.lease import lease
from runs.models import SyncRun
from runs.registry import UnknownRunKind, kinds_with_own_reaper, run_kind, run_kinds
from runs.services.lifecycle import (
    MAX_ATTEMPTS,
    RUN_TOO_MANY_ATTEMPTS,
    SyncRunTransitionError,
    runs_lost,
    sync_run_fail,
    sync_run_lost,
)

logger = logging.getLogger(__name__)

S = SyncRun.Status
#: A queued run older than this has probably lost its task message; the reaper re-sends it.
QUEUED_RESEND_AFTER = dt.timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class ReapResult:
    """What the reaper did."""

    failed: list[int]
    resend_queued: list[int]  # queued runs whose task message was probably lost
    resend_applying: list[int]  # lost applies handed out again: applying is idempotent


def runs_reap(*, now: dt.datetime | None = None) -> ReapResult:
    """Reap every district's lost and forgotten runs (see the module docstring)."""
    now = now or timezone.now()
    failed, resend_applying = [], []
    for run in runs_lost(now=now):
        try:
            handler = run_kind(run.kind)
        except UnknownRunKind:
            handler = None
        try:
            if run.status == S.APPLYING and handler is not None and handler.resume is not None:
                if run.attempts < MAX_ATTEMPTS:
                    handler.resume(run)
                    resend_applying.append(run.pk)
                    continue
                sync_run_fail(run=run, error=RUN_TOO_MANY_ATTEMPTS.format(attempts=run.attempts))
            else:
                sync_run_lost(run=run, now=now)
        except SyncRunTransitionError:
            continue  # it moved on meanwhile
        failed.append(run.pk)
    resend_queued = []
    queued = SyncRun.objects.filter(
        status=S.QUEUED, created_at__lt=now - max(QUEUED_RESEND_AFTER, lease())
    ).exclude(kind__in=kinds_with_own_reaper())
    for run in queued:
        try:
            run_kind(run.kind).enqueue(run)
        except UnknownRunKind:
            continue
        resend_queued.append(run.pk)
    for handler in run_kinds():
        if handler.sweep is not None:
            handler.sweep()
    if failed or resend_queued or resend_applying:
        logger.warning(
            "reaper: failed %s, re-sent queued %s, re-sent applying %s",
            failed,
            resend_queued,
            resend_applying,
        )
    return ReapResult(failed=failed, resend_queued=resend_queued, resend_applying=resend_applying)
