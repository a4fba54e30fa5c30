"""Apply a stored plan: zip it, import it into Canvas, and commit the mirrors if accepted.

The mirrors change in one transaction, and only after Canvas reported the import accepted
(``imported`` or ``imported_with_messages``). A failed, aborted or timed-out import leaves
both mirrors as they were, so the next run plans — and sends — the same changes again.
Rows Canvas reported a message for are not committed either: they are re-sent next run,
and their messages become conflicts on the objects they came from.
"""

# Table names are constants or derived from an integer run id; values are bound parameters.
# ruff: noqa: S608

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from django.db import connection, transaction
from django.utils import timezone

from integration.canvas.errors import ImportAlreadyRunning
from integration.canvas.types import SisImport, SisImportError, SisImportParams
from integration.http.errors import UpstreamError
from provisioning import conf
from provisioning.mapping import CHANGE_SIS_ID, FILES
from provisioning.models import Conflict, SyncRun, SyncRunLog
from provisioning.services.conflicts import conflicts_record_canvas
from provisioning.services.runs import sync_run_log, sync_run_transition
from provisioning.services.sis_zip import (
    MAIN,
    RETIRE,
    sis_zip_build,
    sis_zip_rows_locate,
)
from provisioning.services.workspace import (
    COLLECTIONS,
    MIRROR_TABLES,
    Workspace,
    field_names,
)

if TYPE_CHECKING:
    from integration.canvas.client import CanvasClient

logger = logging.getLogger(__name__)

IMPORT_FAILED = "Canvas did not accept the SIS import {import_id}: {state}."
IMPORT_BUSY = "Canvas kept another SIS import running for {seconds:.0f} s; nothing was sent."


@dataclass
class ImportOutcome:
    """One Canvas import of one phase: its final state and the rows it complained about."""

    sis_import: SisImport
    rejected: set[tuple[str, str]] = field(default_factory=set)  # (file, key)
    found: list[tuple[str, str, str, str]] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return self.sis_import.accepted


def _wait_until_idle(client: CanvasClient, account_id: str, heartbeat: Callable[[], None]) -> None:
    """Canvas runs one import per account; wait (bounded) for someone else's to finish."""
    budget = conf.canvas_busy_wait()
    started = time.monotonic()
    while client.sis_imports_running(account_id):
        if time.monotonic() - started > budget:
            raise ImportAlreadyRunning(
                IMPORT_BUSY.format(seconds=budget),
                running=tuple(client.sis_imports_running(account_id)),
            )
        heartbeat()
        time.sleep(conf.import_poll_max())


def _canvas_import(
    *,
    run: SyncRun,
    ws: Workspace,
    client: CanvasClient,
    phase: str,
    zip_path: Path,
    heartbeat: Callable[[], None],
) -> ImportOutcome:
    district = run.district
    account_id = district.canvas_account_id
    _wait_until_idle(client, account_id, heartbeat)
    created = client.sis_import_create(account_id, zip_path=zip_path, params=SisImportParams())
    SyncRun.objects.filter(pk=run.pk).update(
        canvas_import_id=str(created.id), canvas_import_state=created.workflow_state
    )
    sync_run_log(run=run, message=f"Canvas SIS import {created.id} created ({phase}).")

    def progress(current: SisImport) -> None:
        SyncRun.objects.filter(pk=run.pk).update(canvas_import_state=current.workflow_state)
        heartbeat()

    final = client.sis_import_wait(
        account_id,
        created.id,
        timeout=conf.import_timeout(),
        poll_max=conf.import_poll_max(),
        on_progress=progress,
    )
    outcome = ImportOutcome(sis_import=final)
    if final.error_count or final.warning_count or final.workflow_state.endswith("messages"):
        _map_row_messages(
            run=run,
            ws=ws,
            phase=phase,
            outcome=outcome,
            messages=list(client.sis_import_errors(account_id, created.id)),
        )
    messages = [list(pair) for pair in (*final.processing_errors, *final.processing_warnings)]
    SyncRun.objects.filter(pk=run.pk).update(
        canvas_import_state=final.workflow_state,
        canvas_messages=[*run.canvas_messages, *messages][:200],
    )
    run.canvas_messages = [*run.canvas_messages, *messages][:200]
    sync_run_log(
        run=run,
        message=f"Canvas SIS import {final.id}: {final.workflow_state}, "
        f"{final.error_count} errors, {final.warning_count} warnings.",
        level=SyncRunLog.Level.INFO if final.accepted else SyncRunLog.Level.ERROR,
    )
    return outcome


def _map_row_messages(
    *,
    run: SyncRun,
    ws: Workspace,
    phase: str,
    outcome: ImportOutcome,
    messages: list[SisImportError],
) -> None:
    """Turn Canvas's (file, row) messages into (file, key) rejections and conflicts."""
    by_file: dict[str, list[SisImportError]] = {}
    for message in messages:
        if message.row is not None and message.file:
            by_file.setdefault(message.file, []).append(message)
    for filename, items in by_file.items():
        located = sis_zip_rows_locate(
            ws=ws,
            district=run.district,
            phase=phase,
            filename=filename,
            rows=[m.row for m in items if m.row is not None],
        )
        name = filename.rsplit("/", 1)[-1].removesuffix(".csv")
        csv_file = FILES.get(name, CHANGE_SIS_ID)
        data_file = "users" if name == CHANGE_SIS_ID.name else name
        for message in items:
            key = located.get(message.row or 0)
            if key is None:
                continue
            outcome.rejected.add((data_file, key))
            kind = Conflict.Kind.CANVAS_ERROR if message.failure else Conflict.Kind.CANVAS_WARNING
            outcome.found.append(
                (
                    kind,
                    csv_file.object_type,
                    key,
                    f"{filename} row {message.row}: {message.message}",
                )
            )


def mirrors_commit(
    *, run: SyncRun, ws: Workspace, rejected: set[tuple[str, str]], retired: bool
) -> None:
    """Write both mirrors from the plan and the staged read, in the caller's transaction.

    ``rejected`` (file, key) rows Canvas complained about stay as they were, so the next
    run sends them again; term drops leave the Canvas mirror only if ``retired``.
    """
    district_id = run.district_id
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '256MB'")
        rejected_table = ws.table("rejected")
        cursor.execute(f"CREATE TABLE {rejected_table} (file text, key text)")
        cursor.executemany(f"INSERT INTO {rejected_table} VALUES (%s, %s)", sorted(rejected))
        plan = ws.table("plan")
        # Drops leave the Canvas mirror (term retirements only if their import went through).
        cursor.execute(
            f"DELETE FROM provisioning_canvasrow c USING {plan} p "
            "WHERE c.district_id = %s AND p.action = 'drop' AND c.file = p.file "
            "AND c.key = p.key AND (p.file <> 'terms' OR %s)",
            [district_id, retired],
        )
        cursor.execute(
            "INSERT INTO provisioning_canvasrow (district_id, file, key, school, row, row_hash, "
            f"sent_at) SELECT %s, p.file, p.key, p.school, p.row, p.hash, %s FROM {plan} p "
            "WHERE p.action IN ('create', 'update') AND NOT EXISTS "
            f"(SELECT 1 FROM {rejected_table} r WHERE r.file = p.file AND r.key = p.key) "
            "ON CONFLICT ON CONSTRAINT canvasrow_one_per_object DO UPDATE SET "
            "school = EXCLUDED.school, row = EXCLUDED.row, row_hash = EXCLUDED.row_hash, "
            "sent_at = EXCLUDED.sent_at",
            [district_id, now],
        )
        replaced = set(run.plan_summary.get("replaced", []))
        for collection in COLLECTIONS:
            _commit_roster(
                cursor, ws, collection, district_id, now, replaced=collection in replaced
            )


def _commit_roster(
    cursor: object, ws: Workspace, collection: str, district_id: int, now: object, *, replaced: bool
) -> None:
    table, src = MIRROR_TABLES[collection], ws.src(collection)
    if replaced:
        # A complete full read: the mirror becomes what was read, except the last good
        # version of records that failed validation this time.
        cursor.execute(
            f"DELETE FROM {table} WHERE district_id = %s AND (sourced_id IN "
            f"(SELECT sourced_id FROM {src}) OR sourced_id NOT IN (SELECT sourced_id FROM "
            f"{ws.table('src_invalid')} WHERE collection = %s))",
            [district_id, collection],
        )
    else:
        cursor.execute(
            f"DELETE FROM {table} m USING {src} s WHERE m.district_id = %s "
            "AND m.sourced_id = s.sourced_id",
            [district_id],
        )
    fields = ", ".join(field_names(collection))
    cursor.execute(
        f"INSERT INTO {table} (district_id, sourced_id, date_last_modified, content_hash, "
        f"last_seen_at, {fields}) SELECT %s, sourced_id, date_last_modified, "
        f"md5(ROW({fields})::text), %s, {fields} FROM {src} WHERE status = 'active'",
        [district_id, now],
    )


def _has_rows(ws: Workspace, file: str, action: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM {ws.table('plan')} WHERE file = %s AND action = %s)",
            [file, action],
        )
        return bool(cursor.fetchone()[0])


def sync_run_apply(
    *, run: SyncRun, heartbeat: Callable[[], None], client: CanvasClient | None = None
) -> SyncRun:
    """Send an ``applying`` run's stored plan to Canvas and finish the run.

    Ends ``succeeded`` (mirrors committed) or ``failed`` (mirrors untouched). Upstream errors
    propagate after the run is failed; the workspace is dropped either way.
    """
    from integration.canvas.client import CanvasClient

    ws = Workspace(run.pk)
    owns_client = client is None
    client = client or CanvasClient.for_district(run.district)
    try:
        with tempfile.TemporaryDirectory(prefix=f"{ws.schema}-zip-") as tmp:
            main_zip = Path(tmp) / "provisioning.zip"
            manifest = sis_zip_build(ws=ws, district=run.district, phase=MAIN, path=main_zip)
            sync_run_log(run=run, message=f"Zip built: {manifest.rows or 'no rows'}.")
            heartbeat()
            main = _canvas_import(
                run=run, ws=ws, client=client, phase=MAIN, zip_path=main_zip, heartbeat=heartbeat
            )
            if not main.accepted:
                raise ImportRejected(
                    IMPORT_FAILED.format(
                        import_id=main.sis_import.id, state=main.sis_import.workflow_state
                    )
                )
            retired = _retire_terms(
                run=run, ws=ws, client=client, tmp=Path(tmp), heartbeat=heartbeat
            )
        with transaction.atomic():
            mirrors_commit(run=run, ws=ws, rejected=main.rejected, retired=retired)
            conflicts_record_canvas(run=run, ws=ws, found=main.found)
            sync_run_transition(run=run, to=SyncRun.Status.SUCCEEDED)
        sync_run_log(run=run, message="Mirror committed; run succeeded.")
    finally:
        if owns_client:
            client.close()
    ws.drop()
    return run


def sync_run_commit_unchanged(*, run: SyncRun) -> SyncRun:
    """An ``applying`` run with nothing to send: commit what was read without an import."""
    ws = Workspace(run.pk)
    with transaction.atomic():
        mirrors_commit(run=run, ws=ws, rejected=set(), retired=True)
        sync_run_transition(run=run, to=SyncRun.Status.SUCCEEDED)
    sync_run_log(run=run, message="Nothing to send; mirror refreshed; run succeeded.")
    ws.drop()
    return run


def _retire_terms(
    *, run: SyncRun, ws: Workspace, client: CanvasClient, tmp: Path, heartbeat: Callable[[], None]
) -> bool:
    """Send term retirements after the main import; True if there were none or they went in."""
    if not _has_rows(ws, "terms", "drop"):
        return True
    retire_zip = tmp / "retire.zip"
    sis_zip_build(ws=ws, district=run.district, phase=RETIRE, path=retire_zip)
    outcome = _canvas_import(
        run=run, ws=ws, client=client, phase=RETIRE, zip_path=retire_zip, heartbeat=heartbeat
    )
    if not outcome.accepted or outcome.rejected:
        sync_run_log(
            run=run,
            message="Canvas did not retire every old term; they are retried next run.",
            level=SyncRunLog.Level.WARNING,
        )
        return False
    return True


class ImportRejected(UpstreamError):
    """Canvas ended the import failed or aborted; nothing was committed."""
