"""Conversion evaluation runs: create, execute, reap.

An evaluation is a ``SyncRun`` of kind ``evaluation`` (provisioning's state machine, its
run history and its one-active-run-per-district constraint) plus an ``EvaluationReport``.
It reads the OneRoster source and the district's Canvas, changes nothing in either, and
stores the report: ``queued → running → succeeded`` (or ``failed`` with a reason).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from evaluation.classify import TYPE_KEYS, evaluation_classify
from evaluation.models import EvaluationReport, EvaluationRow
from evaluation.read import canvas_read, source_read
from evaluation.risks import HIGH, evaluation_risks
from integration.http.errors import UpstreamError
from provisioning.services.workspace import Workspace
from runs.models import SyncRun
from runs.services.lifecycle import (
    Heartbeat,
    SyncRunLost,
    SyncRunTransitionError,
    sync_run_create,
    sync_run_fail,
    sync_run_fail_if_active,
    sync_run_log,
    sync_run_phase,
    sync_run_transition,
)
from tenants.services.clients import district_canvas_client, district_oneroster_client

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from integration.canvas.client import CanvasClient
    from integration.oneroster.client import OneRosterClient
    from tenants.models import District

logger = logging.getLogger(__name__)

S = SyncRun.Status
#: A queued or running evaluation untouched this long holds its district for nothing.
STALE_AFTER = dt.timedelta(minutes=15)
EVALUATION_NOT_QUEUED = "Run #{run_id} is {status}, not a queued evaluation."
EVALUATION_STOPPED = "The evaluation stopped: no worker worked on it for {minutes} minutes."
EVALUATION_UPSTREAM = "{system} could not be read ({error}); nothing was changed anywhere."
INCOMPLETE_READ = (
    "The OneRoster read of {collections} did not add up (the SIS changed its answer while we "
    "paged through it): counts may be off by a few. Run the evaluation again at a quiet time."
)


class EvaluationReadFailed(Exception):
    """Reading one side failed; the message says which and why, for the run page."""

    def __init__(self, *, system: str, error: UpstreamError) -> None:
        # Upstream error messages name the host and path only, never a query or a body.
        super().__init__(EVALUATION_UPSTREAM.format(system=system, error=error))


def evaluation_runs_reap(
    *, district: District | None = None, now: dt.datetime | None = None
) -> list[int]:
    """Fail evaluation runs nobody works on, so they stop holding their district.

    Running with a heartbeat older than ``STALE_AFTER`` (the worker died), or queued that
    long (the message was lost). Called before a new evaluation is created.
    """
    now = now or timezone.now()
    stale = SyncRun.objects.filter(
        kind=SyncRun.Kind.EVALUATION,
        status__in=(S.QUEUED, S.RUNNING),
        created_at__lt=now - STALE_AFTER,
    ).exclude(heartbeat_at__gte=now - STALE_AFTER)
    if district is not None:
        stale = stale.filter(district=district)
    failed = []
    for run in stale:
        try:
            sync_run_fail(
                run=run, error=EVALUATION_STOPPED.format(minutes=STALE_AFTER.seconds // 60)
            )
        except SyncRunTransitionError:
            continue  # it moved on meanwhile
        failed.append(run.pk)
    return failed


def evaluation_run_create(
    *,
    district: District,
    trigger: str,
    actor: AbstractBaseUser | None = None,
    actor_label: str = "",
) -> SyncRun:
    """Queue an evaluation of the district (audited unless scheduled).

    Raises provisioning's ``SyncRunAlreadyActive`` when the district has an active run.
    """
    evaluation_runs_reap(district=district)
    return sync_run_create(
        district=district,
        kind=SyncRun.Kind.EVALUATION,
        trigger=trigger,
        actor=actor,
        actor_label=actor_label,
        full_read=True,
    )


def _summary(
    *, counts: dict[str, dict[str, int]], checks: dict[str, dict[str, int]], extra: dict[str, Any]
) -> dict[str, Any]:
    return {**counts, "checks": checks, **extra}


def _change_sis_id_counts(report: EvaluationReport) -> dict[str, int]:
    rows = report.rows.filter(
        match__in=(EvaluationRow.Match.MATCHED_LOGIN, EvaluationRow.Match.MATCHED_EMAIL)
    ).exclude(canvas_sis_id="")
    return {TYPE_KEYS[t]: rows.filter(object_type=t).count() for t in TYPE_KEYS}


def _execute(
    *,
    run: SyncRun,
    ws: Workspace,
    oneroster: OneRosterClient,
    canvas: CanvasClient,
    heartbeat: Callable[[], None],
) -> EvaluationReport:
    district = run.district
    sync_run_log(run=run, message="Reading the OneRoster users, classes, courses and schools.")
    try:
        stage = source_read(ws=ws, client=oneroster, heartbeat=heartbeat)
    except UpstreamError as exc:
        raise EvaluationReadFailed(system="The SIS", error=exc) from exc
    read = ", ".join(f"{c} {stage.counts[c]:,}" for c in ("orgs", "courses", "classes", "users"))
    sync_run_log(run=run, message=f"Read from OneRoster: {read}.")
    sync_run_log(run=run, message="Reading the Canvas account's users, courses and sections.")
    try:
        found = canvas_read(
            ws=ws, client=canvas, account_id=district.canvas_account_id, heartbeat=heartbeat
        )
    except UpstreamError as exc:
        raise EvaluationReadFailed(system="Canvas", error=exc) from exc
    sync_run_log(
        run=run,
        message=f"Read from Canvas: users {found.users:,}, courses {found.courses:,}, "
        f"sections {found.sections:,}.",
    )
    sync_run_log(run=run, message="Matching.")
    with transaction.atomic():
        report = EvaluationReport.objects.create(run=run, district=district)
        result = evaluation_classify(ws=ws, district=district, report=report)
        summary = _summary(
            counts=result.counts,
            checks=result.checks,
            extra={
                "source": {
                    "users": sum(n for m, n in result.counts["users"].items() if m != "orphan"),
                    "classes": sum(n for m, n in result.counts["courses"].items() if m != "orphan"),
                    "invalid": {c: n for c, n in stage.invalid.items() if n},
                    "incomplete": sorted(stage.incomplete),
                },
                "canvas": {
                    "users": found.users,
                    "courses": found.courses,
                    "sections": found.sections,
                },
            },
        )
        summary["change_sis_id"] = _change_sis_id_counts(report)
        risks = evaluation_risks(summary)
        if stage.incomplete:
            collections = ", ".join(sorted(stage.incomplete))
            text = INCOMPLETE_READ.format(collections=collections)
            risks.insert(0, {"level": HIGH, "text": text})
        report.summary = summary
        report.risks = risks
        report.save(update_fields=["summary", "risks"])
        counts = {key: summary[key] for key in TYPE_KEYS.values()}
        sync_run_transition(run=run, to=S.SUCCEEDED, counts=counts)
        sync_run_log(
            run=run,
            message="Report ready: "
            + "; ".join(
                f"{key} {', '.join(f'{m} {n:,}' for m, n in counts[key].items() if n) or 'none'}"
                for key in counts
            )
            + ".",
        )
    return report


def evaluation_run_execute(
    *,
    run: SyncRun,
    oneroster: OneRosterClient | None = None,
    canvas: CanvasClient | None = None,
    heartbeat: Callable[[], None] | None = None,
) -> SyncRun:
    """Take a queued evaluation to ``succeeded`` (with its report) or ``failed``.

    Reads only: nothing is sent to the SIS or to Canvas. The working schema is dropped
    whatever happens. An upstream error fails the run with a reason; any other error fails
    it and is re-raised for the logs.
    """
    if run.kind != SyncRun.Kind.EVALUATION or run.status != S.QUEUED:
        raise SyncRunTransitionError(run_id=run.pk, current=run.status, target=S.RUNNING)
    sync_run_transition(run=run, to=S.RUNNING, error="")
    sync_run_phase(run=run, phase=SyncRun.Phase.COMPARING)
    heartbeat = heartbeat or Heartbeat(run)
    ws = Workspace(run.pk)
    source = oneroster or district_oneroster_client(run.district)
    target = canvas or district_canvas_client(run.district)
    try:
        ws.create()
        _execute(run=run, ws=ws, oneroster=source, canvas=target, heartbeat=heartbeat)
    except SyncRunLost:
        raise
    except EvaluationReadFailed as exc:
        sync_run_fail_if_active(run=run, error=str(exc))
    except Exception as exc:
        sync_run_fail_if_active(run=run, error=f"{type(exc).__name__}: {exc}")
        raise
    finally:
        ws.drop()
        if oneroster is None:
            source.close()
        if canvas is None:
            target.close()
    run.refresh_from_db()
    return run
