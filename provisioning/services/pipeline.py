"""A provisioning run end to end: read → stage → plan → guards → (zip | hold | apply).

``sync_run_execute`` takes a queued run to its next resting state: ``succeeded`` (dry run,
nothing to send, or applied), ``held`` (a guard tripped; the plan waits for a person) or
``failed``. ``sync_run_resume`` applies an approved held run. Both are what the Celery
tasks and the ``sync`` command call; neither holds the district lock itself.
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from django.core.files import File
from django.db.models import F
from django.utils import timezone

from integration.http.errors import UpstreamError, is_transient, upstream_error_reason
from integration.oneroster.errors import OneRosterRejected
from integration.oneroster.filters import delta_filter
from provisioning import conf
from provisioning.first_write import first_write_trips
from provisioning.guards import guards_evaluate
from provisioning.services.apply import sync_run_apply, sync_run_commit_unchanged
from provisioning.services.conflicts import conflicts_record_plan, conflicts_record_reads
from provisioning.services.plan import PlanResult, sync_plan_build
from provisioning.services.sis_zip import MAIN, sis_zip_build
from provisioning.services.stage import RosterStager, StageResult
from provisioning.services.workspace import COLLECTIONS, Workspace
from runs.lease import heartbeat_every_seconds
from runs.models import SyncRun, SyncRunLog
from runs.services.lifecycle import (
    MAX_ATTEMPTS,
    RUN_TOO_MANY_ATTEMPTS,
    Heartbeat,
    SyncRunLost,
    db_connection_fresh,
    sync_run_fail,
    sync_run_fail_if_active,
    sync_run_log,
    sync_run_phase,
    sync_run_transition,
)
from tenants.services.clients import district_oneroster_client

if TYPE_CHECKING:
    from integration.canvas.client import CanvasClient
    from integration.oneroster.client import OneRosterClient

logger = logging.getLogger(__name__)

S = SyncRun.Status
P = SyncRun.Phase

RUN_PLAN_LOST = (
    "The run's stored plan or read is gone (a database restore or crash); start a new sync."
)


class TransientUpstreamError(Exception):
    """Reading the SIS failed in a way worth retrying; the run went back to ``queued``."""


def delta_since(district_id: int) -> dt.datetime | None:
    """Where a delta read starts: the newest change the last applied run saw (on the SIS's
    clock), minus a small overlap. ``None`` if nothing was applied yet: read everything."""
    last = (
        SyncRun.objects.filter(
            district_id=district_id,
            kind__in=(SyncRun.Kind.DELTA, SyncRun.Kind.FULL),
            status=S.SUCCEEDED,
        )
        .order_by("-finished_at")
        .first()
    )
    if last is None:
        return None
    anchor = last.source_high_water or last.started_at
    if anchor is None:
        return None
    return anchor - dt.timedelta(seconds=conf.delta_overlap_seconds())


def roster_read(
    *, run: SyncRun, ws: Workspace, client: OneRosterClient, heartbeat: Callable[[], None]
) -> StageResult:
    """Stream every collection (delta-filtered unless a full read) into the workspace.

    The connection is busy with a ``COPY`` while records stream in, so the heartbeat (a
    query) and the progress (pages and records read) are written between two ``COPY``
    blocks: ``checkpoint`` ends the current one.
    """
    record_filter = None if run.full_read or run.since is None else delta_filter(run.since)
    requests = [(collection, record_filter) for collection in COLLECTIONS]
    last_beat = time.monotonic()
    pages = records = 0
    sync_run_phase(run=run, phase=P.READING, pages_read=0, records_read=0)

    def totals() -> dict[str, int]:
        """What X-Total-Count promised so far: pages and records (a collection counts once
        its first page has arrived)."""
        known = client.read_totals.values()
        size = client.config.page_size
        return {
            "pages_total": sum(max(1, -(-total // size)) for total in known),
            "records_total": sum(known),
        }

    with RosterStager(ws) as stager:
        for _, items in client.stream_pages(requests):
            stager.add_page(items)
            pages, records = pages + 1, records + len(items)
            if time.monotonic() - last_beat > heartbeat_every_seconds():
                stager.checkpoint()
                heartbeat()
                sync_run_phase(
                    run=run, phase=P.READING, pages_read=pages, records_read=records, **totals()
                )
                last_beat = time.monotonic()
        result = stager.load()
    sync_run_phase(run=run, phase=P.READING, pages_read=pages, records_read=records, **totals())
    heartbeat()
    return result


def roster_read_or_everything(
    *, run: SyncRun, ws: Workspace, client: OneRosterClient, heartbeat: Callable[[], None]
) -> StageResult:
    """``roster_read``; when the SIS refuses a delta's change filter (a 4xx: it filters on no
    field, or not on ``dateLastModified``), the run reads everything instead. Such a SIS is
    then synced in full each night, with the refusal in the log, instead of failing each
    night. A full read that is refused fails as before."""
    try:
        return roster_read(run=run, ws=ws, client=client, heartbeat=heartbeat)
    except OneRosterRejected as exc:
        if run.full_read or run.since is None:
            raise
        refusal = upstream_error_reason(exc)
    sync_run_log(
        run=run,
        message=f"The SIS refused the filter for changes since the last run ({refusal}); "
        "reading everything instead.",
        level=SyncRunLog.Level.WARNING,
    )
    SyncRun.objects.filter(pk=run.pk).update(full_read=True)
    run.full_read = True
    ws.create()  # what the refused read staged is dropped with the schema
    return roster_read(run=run, ws=ws, client=client, heartbeat=heartbeat)


def _summary(run: SyncRun, plan: PlanResult, stage: StageResult) -> dict[str, object]:
    return {
        "by_type": plan.by_file,
        "by_school": {
            school: {
                "name": plan.school_names.get(school, school or "(district-wide)"),
                "files": files,
            }
            for school, files in sorted(plan.by_school.items())
        },
        "base": plan.base_by_file,
        "source": {
            c: {
                "read": stage.counts.get(c, 0),
                "invalid": stage.invalid.get(c, 0),
                "reasons": stage.invalid_reasons.get(c, []),
            }
            for c in COLLECTIONS
        },
        "incomplete": sorted(stage.incomplete),
        "replaced": sorted(plan.replaced),
        "full_read": run.full_read,
        "since": run.since.isoformat() if run.since else None,
        "high_water": plan.high_water.isoformat() if plan.high_water else None,
        "conflicts": plan.conflicts,
        "guards": [],
    }


def sync_run_execute(
    *,
    run: SyncRun,
    heartbeat: Heartbeat | None = None,
    retry_transient: bool = False,
    oneroster: OneRosterClient | None = None,
    canvas: CanvasClient | None = None,
) -> SyncRun:
    """Take a queued provisioning run to ``succeeded``, ``held`` or ``failed``.

    With ``retry_transient`` (Celery), a transient SIS error before anything was sent puts
    the run back to ``queued`` and raises ``TransientUpstreamError`` for the task to retry;
    otherwise it fails the run. Any other error fails the run and is re-raised for logging,
    except upstream errors, which the run's error field explains.
    """
    heartbeat = heartbeat or Heartbeat(run)
    since = None if run.full_read else delta_since(run.district_id)
    fields: dict[str, object] = {"since": since, "error": ""}
    if since is None and not run.full_read:
        fields["full_read"] = True
    sync_run_transition(run=run, to=S.RUNNING, **fields)
    if fields.get("full_read"):
        sync_run_log(run=run, message="No earlier applied run: reading everything.")
    ws = Workspace(run.pk)
    owns_client = oneroster is None
    try:
        ws.create()
        client = oneroster or district_oneroster_client(run.district)
        try:
            sync_run_log(
                run=run,
                message="Reading the roster"
                + (
                    f" changed since {since:%Y-%m-%d %H:%M:%S} UTC."
                    if since and not run.full_read
                    else " (everything)."
                ),
            )
            stage = roster_read_or_everything(run=run, ws=ws, client=client, heartbeat=heartbeat)
        finally:
            if owns_client:
                client.close()
        _log_read(run, stage)
        return _plan_and_continue(run=run, ws=ws, stage=stage, heartbeat=heartbeat, canvas=canvas)
    except SyncRunLost:
        ws.drop()  # cancelled or failed as lost: its workspace is this worker's to drop
        raise
    except UpstreamError as exc:
        db_connection_fresh()
        run.refresh_from_db()
        if run.status == S.RUNNING and retry_transient and is_transient(exc):
            ws.drop()
            sync_run_log(
                run=run,
                message=f"Transient error, will retry: {exc}",
                level=SyncRunLog.Level.WARNING,
            )
            sync_run_transition(run=run, to=S.QUEUED)
            raise TransientUpstreamError(str(exc)) from exc
        return sync_run_fail_if_active(run=run, error=upstream_error_reason(exc))
    except Exception as exc:
        sync_run_fail_if_active(run=run, error=f"{type(exc).__name__}: {exc}")
        raise


def _log_read(run: SyncRun, stage: StageResult) -> None:
    read = ", ".join(f"{n:,} {c}" for c, n in stage.counts.items())
    sync_run_log(run=run, message=f"Read from OneRoster: {read}.")
    invalid = ", ".join(f"{n:,} {c}" for c, n in stage.invalid.items() if n)
    if invalid:
        sync_run_log(
            run=run,
            message=f"Records failing OneRoster validation, kept as conflicts: {invalid}.",
            level=SyncRunLog.Level.WARNING,
        )
    for anomaly in stage.anomalies:
        sync_run_log(
            run=run,
            message=f"Incomplete read of {anomaly.collection} ({anomaly.kind}: {anomaly.detail}); "
            "nothing is dropped from it this run.",
            level=SyncRunLog.Level.WARNING,
        )


def _plan_and_continue(
    *,
    run: SyncRun,
    ws: Workspace,
    stage: StageResult,
    heartbeat: Heartbeat,
    canvas: CanvasClient | None,
) -> SyncRun:
    district = run.district
    sync_run_phase(run=run, phase=P.PLANNING)
    plan = sync_plan_build(
        ws=ws,
        district=district,
        stage=stage,
        full_read=run.full_read,
        send_all=run.kind == SyncRun.Kind.FULL,
    )
    heartbeat()
    conflicts_record_reads(
        run=run,
        anomalies=stage.anomalies,
        read=frozenset(COLLECTIONS) if run.full_read else frozenset(),
    )
    conflicts_record_plan(run=run, ws=ws, replaced=plan.replaced)
    summary = _summary(run, plan, stage)
    trips = guards_evaluate(district=district, plan=plan)
    if run.kind != SyncRun.Kind.DRY_RUN:
        trips += first_write_trips(district=district, plan=plan)
    summary["guards"] = [t.as_dict() for t in trips]
    high_water = plan.high_water or (
        run.since + dt.timedelta(seconds=conf.delta_overlap_seconds()) if run.since else None
    )
    SyncRun.objects.filter(pk=run.pk).update(
        counts=plan.by_file, plan_summary=summary, source_high_water=high_water
    )
    run.counts, run.plan_summary, run.source_high_water = plan.by_file, summary, high_water
    sync_run_phase(
        run=run,
        phase=P.PLANNING,
        rows_planned=sum(sum(actions.values()) for actions in plan.by_file.values()),
    )
    changes = "; ".join(
        f"{f}: {c['create']:,} to create, {c['update']:,} to update, {c['drop']:,} to drop"
        for f, c in plan.by_file.items()
        if c["create"] or c["update"] or c["drop"]
    )
    sync_run_log(run=run, message=f"Plan: {changes}." if changes else "Plan: nothing changes.")

    if run.kind == SyncRun.Kind.DRY_RUN:
        return _finish_dry_run(run=run, ws=ws, trips=[t.message for t in trips])
    if trips:
        reason = " ".join(t.message for t in trips)
        # When the wait for a person starts: the run page shows work and wait apart.
        held_at = {**(run.progress or {}), "held_at": timezone.now().isoformat()}
        sync_run_transition(run=run, to=S.HELD, held_reason=reason, progress=held_at)
        sync_run_log(
            run=run, message=f"Held for approval: {reason}", level=SyncRunLog.Level.WARNING
        )
        return run
    sync_run_transition(run=run, to=S.APPLYING)
    if not plan.rows_to_send(send_all=run.kind == SyncRun.Kind.FULL):
        return sync_run_commit_unchanged(run=run)
    return sync_run_apply(run=run, heartbeat=heartbeat, client=canvas)


def _finish_dry_run(*, run: SyncRun, ws: Workspace, trips: list[str]) -> SyncRun:
    sync_run_phase(run=run, phase=P.BUILDING)
    with tempfile.TemporaryDirectory(prefix=f"{ws.schema}-dry-") as tmp:
        path = Path(tmp) / f"dry-run-{run.pk}.zip"
        manifest = sis_zip_build(ws=ws, district=run.district, phase=MAIN, path=path)
        with path.open("rb") as handle:
            run.dry_run_zip.save(f"{run.district.slug}-run-{run.pk}.zip", File(handle), save=False)
    SyncRun.objects.filter(pk=run.pk).update(dry_run_zip=run.dry_run_zip.name)
    if trips:
        sync_run_log(
            run=run,
            message="A real run would be held: " + " ".join(trips),
            level=SyncRunLog.Level.WARNING,
        )
    sync_run_transition(run=run, to=S.SUCCEEDED)
    sync_run_log(run=run, message=f"Dry run: zip kept ({manifest.total:,} rows); nothing sent.")
    ws.drop()
    return run


def sync_run_resume(
    *, run: SyncRun, heartbeat: Heartbeat | None = None, canvas: CanvasClient | None = None
) -> SyncRun:
    """Apply an ``applying`` run's stored plan (approved, or interrupted mid-apply); fail it if
    its plan is gone. Re-applying is safe: the same rows go to Canvas again and the mirrors
    commit in one transaction with the final status."""
    heartbeat = heartbeat or Heartbeat(run)
    if run.attempts >= MAX_ATTEMPTS:
        return sync_run_fail(run=run, error=RUN_TOO_MANY_ATTEMPTS.format(attempts=run.attempts))
    SyncRun.objects.filter(pk=run.pk).update(
        attempts=F("attempts") + 1, heartbeat_at=timezone.now()
    )
    run.refresh_from_db(fields=["attempts", "heartbeat_at"])
    ws = Workspace(run.pk)
    read = {c: n["read"] for c, n in (run.plan_summary or {}).get("source", {}).items()}
    planned = sum(sum(actions.values()) for actions in (run.counts or {}).values())
    if not ws.exists() or not ws.intact(read=read, planned=planned):
        return sync_run_fail(run=run, error=RUN_PLAN_LOST)
    try:
        return sync_run_apply(run=run, heartbeat=heartbeat, client=canvas)
    except SyncRunLost:
        raise
    except UpstreamError as exc:
        return sync_run_fail_if_active(run=run, error=upstream_error_reason(exc))
    except Exception as exc:
        sync_run_fail_if_active(run=run, error=f"{type(exc).__name__}: {exc}")
        raise
