"""Apply a stored plan: zip it, import it into Canvas, and commit the mirrors if accepted.

The mirrors change in one transaction that commits only after Canvas reported the import
accepted (``imported`` or ``imported_with_messages``), together with the run's final
status. The transaction opens when the import is created and the mirror writes run while
Canvas works on the import (the large district's commit costs about as long as Canvas's
import, so they overlap instead of adding up). A failed, aborted or timed-out import, or a
worker that dies while waiting, rolls it back: both mirrors stay as they were and the next
run plans and sends the same changes again. Rows Canvas reported a message for are put
back as they were before the commit, so they are sent again; their messages become
conflicts on the objects they came from.

Progress that people and the reaper must see while the transaction is open (the import's
id and state, log lines, heartbeats) goes through ``RunProgress``, on a second connection.
"""

# Table names are constants or derived from an integer run id; values are bound parameters.
# ruff: noqa: S608

from __future__ import annotations

import logging
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

from integration.canvas.errors import ImportAlreadyRunning
from integration.canvas.types import RUNNING_STATES, SisImport, SisImportError, SisImportParams
from integration.http.errors import UpstreamError
from provisioning import conf
from provisioning.mapping import CHANGE_SIS_ID, FILES
from provisioning.models import Conflict
from provisioning.services.conflicts import conflicts_record_canvas
from provisioning.services.partitions import (
    CANVAS_KEY,
    CANVAS_TABLE,
    ROSTER_KEY,
    PendingSwaps,
    partition_of,
)
from provisioning.services.plan import bulk_session
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
    content_hash_sql,
    field_names,
    row_hash_sql,
)
from runs.models import SyncRun, SyncRunLog
from runs.services.lifecycle import Heartbeat, sync_run_log, sync_run_transition
from tenants.services.clients import district_canvas_client

if TYPE_CHECKING:
    from collections.abc import Iterable

    from integration.canvas.client import CanvasClient

logger = logging.getLogger(__name__)

#: First pause between two polls of an import's status (seconds).
_POLL_INITIAL = 0.2

IMPORT_FAILED = "Canvas did not accept the SIS import {import_id}: {state}."
IMPORT_BUSY = "Canvas kept another SIS import running for {seconds:.0f} s; nothing was sent."


class ImportRejected(UpstreamError):
    """Canvas ended the import failed or aborted; nothing was committed."""


class RunProgress:
    """Writes to a run that must show, and stay, while its apply transaction is open.

    Outside a transaction (workers, commands) they use a second connection in autocommit, so
    the console and the reaper see them and a rollback keeps them. Inside an outer
    transaction (tests) there is nothing to hide them from, and they use the main one.
    """

    def __init__(self, run: SyncRun, heartbeat: Heartbeat) -> None:
        self.run = run
        self.heartbeat = heartbeat
        self.side: Any = None

    def __enter__(self) -> RunProgress:
        if not connection.in_atomic_block:
            self.side = connections.create_connection(DEFAULT_DB_ALIAS)
            # The thread that sends the import writes progress too, while this one writes
            # the mirrors (never both at once).
            self.side.inc_thread_sharing()
            self.heartbeat.side = self.side
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.heartbeat.side = None
        if self.side is not None:
            self.side.close()
            self.side.dec_thread_sharing()
            self.side = None

    def update(self, **fields: Any) -> None:
        for name, value in fields.items():
            setattr(self.run, name, value)
        if self.side is None:
            SyncRun.objects.filter(pk=self.run.pk).update(**fields)
            return
        assignments = ", ".join(f"{name} = %s" for name in fields)
        values = [Jsonb(v) if isinstance(v, list | dict) else v for v in fields.values()]
        with self.side.cursor() as cursor:
            cursor.execute(
                f"UPDATE {SyncRun._meta.db_table} SET {assignments} WHERE id = %s",
                [*values, self.run.pk],
            )

    def phase(self, phase: str, *, fields: dict[str, Any] | None = None, **counts: Any) -> None:
        """The run's stored phase and progress (``runs.services.lifecycle.sync_run_phase``),
        written in one statement with ``fields`` (other columns of the run)."""
        merged = dict(self.run.progress or {})
        if phase != self.run.phase:
            merged["phase_started"] = {
                **merged.get("phase_started", {}),
                phase: timezone.now().isoformat(),
            }
        merged.update(counts)
        changes = dict(fields or {})
        if phase != self.run.phase or merged != self.run.progress:
            changes.update(phase=phase, progress=merged)
        if changes:
            self.update(**changes)

    def log(self, message: str, level: str = SyncRunLog.Level.INFO) -> None:
        if self.side is None:
            sync_run_log(run=self.run, message=message, level=level)
            return
        with self.side.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {SyncRunLog._meta.db_table} (run_id, created_at, level, message) "
                "VALUES (%s, %s, %s, %s)",
                [self.run.pk, timezone.now(), level, message],
            )
        logger.info("run %s: %s", self.run.pk, message)


@dataclass
class ImportOutcome:
    """One Canvas import of one phase: its final state and the rows it complained about."""

    sis_import: SisImport
    rejected: set[tuple[str, str]] = field(default_factory=set)  # (file, key)
    found: list[tuple[str, str, str, str]] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return self.sis_import.accepted


# --- Canvas ---------------------------------------------------------------------------------


def _import_start(
    *, progress: RunProgress, client: CanvasClient, phase: str, zip_path: Path
) -> SisImport:
    """Wait (bounded) until Canvas runs no other import on the account, then create ours.

    A re-applied run (its worker died while Canvas imported) follows the import its
    interrupted attempt created, if Canvas still runs it or accepted it: the same plan's zip
    is never sent twice. A failed or aborted one is sent again.
    """
    account_id = progress.run.district.canvas_account_id
    if phase == MAIN and (earlier := _earlier_import(progress, client)) is not None:
        return earlier
    budget = conf.canvas_busy_wait()
    started = time.monotonic()
    while running := client.sis_imports_running(account_id):
        if time.monotonic() - started > budget:
            raise ImportAlreadyRunning(IMPORT_BUSY.format(seconds=budget), running=tuple(running))
        progress.heartbeat()
        time.sleep(conf.import_poll_max())
    created = client.sis_import_create(account_id, zip_path=zip_path, params=SisImportParams())
    fields = {"canvas_import_id": str(created.id), "canvas_import_state": created.workflow_state}
    if phase == MAIN:
        # One write: whoever sees the import's id on the run (the console, the reaper, a
        # re-applied attempt after this worker died) also finds ``main_import_id``, so the
        # re-applied attempt follows this import instead of sending the plan again.
        progress.phase(SyncRun.Phase.IMPORTING, fields=fields, main_import_id=created.id)
    else:
        progress.update(**fields)
    progress.log(f"Canvas SIS import {created.id} created ({phase}).")
    return created


def _earlier_import(progress: RunProgress, client: CanvasClient) -> SisImport | None:
    run = progress.run
    main_import_id = (run.progress or {}).get("main_import_id")
    if not main_import_id:
        return None
    earlier = client.sis_import_get(run.district.canvas_account_id, int(main_import_id))
    if not (earlier.accepted or earlier.workflow_state in RUNNING_STATES):
        return None
    progress.log(
        f"Canvas SIS import {earlier.id} of the interrupted attempt is "
        f"{earlier.workflow_state}: following it instead of sending the plan again."
    )
    return earlier


def _import_finish(
    *, progress: RunProgress, ws: Workspace, client: CanvasClient, phase: str, created: SisImport
) -> ImportOutcome:
    """Poll the import to a terminal state; read its row messages."""
    run = progress.run
    account_id = run.district.canvas_account_id

    def on_progress(current: SisImport) -> None:
        if current.workflow_state != run.canvas_import_state:
            progress.update(canvas_import_state=current.workflow_state)
        progress.phase(SyncRun.Phase.IMPORTING, import_progress=current.progress)
        progress.heartbeat()

    final = client.sis_import_wait(
        account_id,
        created.id,
        timeout=conf.import_timeout(),
        # Polling starts once the mirrors are written, when the import may be about done:
        # short first pauses (doubling up to the cap) notice its end within a fraction of
        # a second instead of a second or more, for a few extra status requests.
        poll_initial=min(_POLL_INITIAL, conf.import_poll_max()),
        poll_max=conf.import_poll_max(),
        on_progress=on_progress,
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
    progress.update(
        canvas_import_state=final.workflow_state,
        canvas_messages=[*run.canvas_messages, *messages][:200],
    )
    progress.log(
        f"Canvas SIS import {final.id}: {final.workflow_state}, "
        f"{final.error_count} errors, {final.warning_count} warnings.",
        SyncRunLog.Level.INFO if final.accepted else SyncRunLog.Level.ERROR,
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


# --- mirrors ----------------------------------------------------------------------------------


def mirrors_write(*, run: SyncRun, ws: Workspace) -> list[str]:
    """Write both mirrors as if Canvas takes the whole plan, in the caller's transaction.
    Returns the tables whose partition of the district was swapped in (and analyzed)."""
    swaps = PendingSwaps(run.district_id)
    mirrors_write_roster(run=run, ws=ws, swaps=swaps)
    mirrors_write_canvas(run=run, ws=ws, swaps=swaps)
    with connection.cursor() as cursor:
        swaps.swap(cursor)
    return swaps.swapped


#: A Canvas mirror rewritten whole costs about what writing half its rows in place does.
_REWRITE_SHARE = 0.5


def _canvas_rewrite(run: SyncRun) -> bool:
    """Whether the plan changes enough of the Canvas mirror to build it afresh."""
    counts = run.counts.values()
    changes = sum(c.get("create", 0) + c.get("update", 0) + c.get("drop", 0) for c in counts)
    after = sum(run.plan_summary.get("base", {}).values()) + sum(
        c.get("create", 0) - c.get("drop", 0) for c in counts
    )
    return after > 0 and changes >= _REWRITE_SHARE * after


def mirrors_write_canvas(*, run: SyncRun, ws: Workspace, swaps: PendingSwaps) -> None:
    """The Canvas mirror takes the plan's creates and updates and loses its drops.

    When the plan changes much of it (a first run), the district's next partition is built
    instead (``swaps``); ``mirrors_unsend`` and ``mirrors_keep_terms`` then correct that one.
    """
    district_id = run.district_id
    now = timezone.now()
    plan = ws.table("plan")
    with connection.cursor() as cursor:
        bulk_session(cursor)
        if _canvas_rewrite(run):
            swaps.build(
                cursor,
                table=CANVAS_TABLE,
                key=CANVAS_KEY,
                insert=(
                    "(district_id, file, key, school, row, row_hash, sent_at) "
                    f"SELECT district_id, file, key, school, row, row_hash, sent_at "
                    f"FROM {CANVAS_TABLE} c WHERE c.district_id = %s AND NOT EXISTS "
                    f"(SELECT 1 FROM {plan} p WHERE p.action <> 'keep' AND p.file = c.file "
                    "AND p.key = c.key) "
                    f"UNION ALL SELECT %s, file, key, school, row, hash, %s FROM {plan} "
                    "WHERE action IN ('create', 'update')"
                ),
                params=[district_id, district_id, now],
            )
            return
        cursor.execute(
            f"DELETE FROM {CANVAS_TABLE} c USING {plan} p "
            "WHERE c.district_id = %s AND p.action = 'drop' AND c.file = p.file AND c.key = p.key",
            [district_id],
        )
        # Planned as creates, so absent from the Canvas mirror: one active run per district.
        cursor.execute(
            f"INSERT INTO {CANVAS_TABLE} (district_id, file, key, school, row, row_hash, "
            f"sent_at) SELECT %s, file, key, school, row, hash, %s FROM {plan} "
            "WHERE action = 'create'",
            [district_id, now],
        )
        cursor.execute(
            f"UPDATE {CANVAS_TABLE} c SET school = p.school, row = p.row, "
            f"row_hash = p.hash, sent_at = %s FROM {plan} p WHERE c.district_id = %s "
            "AND p.action = 'update' AND c.file = p.file AND c.key = p.key",
            [now, district_id],
        )


def mirrors_write_roster(*, run: SyncRun, ws: Workspace, swaps: PendingSwaps) -> None:
    """The roster mirror takes the staged read: a collection read completely in full gets
    the district's next partition (``swaps``), one read otherwise is overlaid in place."""
    now = timezone.now()
    replaced = set(run.plan_summary.get("replaced", []))
    with connection.cursor() as cursor:
        bulk_session(cursor)
        for collection in COLLECTIONS:
            if collection in replaced:
                _rebuild_roster(cursor, ws, collection, swaps, now)
            else:
                _overlay_roster(cursor, ws, collection, run.district_id, now)


def _rebuild_roster(
    cursor: Any, ws: Workspace, collection: str, swaps: PendingSwaps, now: object
) -> None:
    """A complete full read: the mirror becomes what was read, except the last good version
    of records that failed validation this time."""
    table, src = MIRROR_TABLES[collection], ws.src(collection)
    fields = ", ".join(field_names(collection))
    columns = f"district_id, sourced_id, date_last_modified, content_hash, last_seen_at, {fields}"
    swaps.build(
        cursor,
        table=table,
        key=ROSTER_KEY,
        insert=(
            f"({columns}) SELECT %s, sourced_id, date_last_modified, "
            f"{content_hash_sql(collection)}, %s, {fields} FROM {src} WHERE status = 'active' "
            f"UNION ALL SELECT {columns} FROM {table} m WHERE m.district_id = %s "
            f"AND NOT EXISTS (SELECT 1 FROM {src} s WHERE s.sourced_id = m.sourced_id) "
            f"AND m.sourced_id IN (SELECT sourced_id FROM {ws.table('src_invalid')} "
            "WHERE collection = %s)"
        ),
        params=[swaps.district_id, now, swaps.district_id, collection],
    )


def _overlay_roster(
    cursor: Any, ws: Workspace, collection: str, district_id: int, now: object
) -> None:
    table, src = MIRROR_TABLES[collection], ws.src(collection)
    cursor.execute(
        f"DELETE FROM {table} m USING {src} s WHERE m.district_id = %s "
        "AND m.sourced_id = s.sourced_id",
        [district_id],
    )
    fields = ", ".join(field_names(collection))
    cursor.execute(
        f"INSERT INTO {table} (district_id, sourced_id, date_last_modified, content_hash, "
        f"last_seen_at, {fields}) SELECT %s, sourced_id, date_last_modified, "
        f"{content_hash_sql(collection)}, %s, {fields} FROM {src} WHERE status = 'active'",
        [district_id, now],
    )


def mirrors_unsend(
    *, run: SyncRun, ws: Workspace, rejected: set[tuple[str, str]], canvas: str = CANVAS_TABLE
) -> None:
    """Put rows Canvas complained about back as they were, so the next run sends them again.

    ``canvas``: the table holding the district's Canvas rows (its next partition, if built).

    A refused drop stays dropped: the object is as Canvas left it, the conflict says why,
    and sending the drop every night would not change Canvas's answer.
    """
    if not rejected:
        return
    plan, table = ws.table("plan"), ws.table("rejected")
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {table} (file text, key text)")
        cursor.executemany(f"INSERT INTO {table} VALUES (%s, %s)", sorted(rejected))
        cursor.execute(
            f"DELETE FROM {canvas} c USING {plan} p, {table} r "
            "WHERE c.district_id = %s AND p.action = 'create' AND r.file = p.file "
            "AND r.key = p.key AND c.file = p.file AND c.key = p.key",
            [run.district_id],
        )
        cursor.execute(
            f"UPDATE {canvas} c "
            f"SET row = p.prev_row, row_hash = {row_hash_sql('p.prev_row')} "
            f"FROM {plan} p, {table} r WHERE c.district_id = %s AND p.action = 'update' "
            "AND r.file = p.file AND r.key = p.key AND c.file = p.file AND c.key = p.key",
            [run.district_id],
        )


def mirrors_keep_terms(*, run: SyncRun, ws: Workspace, canvas: str = CANVAS_TABLE) -> None:
    """Canvas did not retire the old terms: keep them in the Canvas mirror, to retry."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {canvas} (district_id, file, key, school, row, row_hash, "
            f"sent_at) SELECT %s, file, key, school, row, hash, %s FROM {ws.table('plan')} "
            "WHERE file = 'terms' AND action = 'drop'",
            [run.district_id, timezone.now()],
        )


#: Refresh the planner's statistics once a run changed at least this many mirror rows.
ANALYZE_AFTER_ROWS = 10_000


def mirrors_analyze(*, run: SyncRun, fresh: Iterable[str] = ()) -> None:
    """After a large commit, refresh the statistics of the district's mirror partitions (a
    sample, not a scan): the next planning joins millions of rows and must not mistake them
    for a few hundred. Its statements name the district, so they read only its partitions.
    ``fresh``: tables whose partition was swapped in, analyzed before the commit."""
    read = sum(c.get("read", 0) for c in run.plan_summary.get("source", {}).values())
    changed = sum(
        c.get(action, 0) for c in run.counts.values() for action in ("create", "update", "drop")
    )
    if read + changed < ANALYZE_AFTER_ROWS:
        return
    with connection.cursor() as cursor:
        for table in {*MIRROR_TABLES.values(), CANVAS_TABLE} - set(fresh):
            cursor.execute(f"ANALYZE {partition_of(cursor, table, run.district_id)}")


def _has_rows(ws: Workspace, file: str, action: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM {ws.table('plan')} WHERE file = %s AND action = %s)",
            [file, action],
        )
        return bool(cursor.fetchone()[0])


# --- runs -------------------------------------------------------------------------------------


def sync_run_apply(
    *, run: SyncRun, heartbeat: Heartbeat, client: CanvasClient | None = None
) -> SyncRun:
    """Send an ``applying`` run's stored plan to Canvas and finish the run.

    Ends ``succeeded`` (mirrors committed) or raises (mirrors untouched; the caller fails
    the run). The workspace is dropped on success.
    """
    ws = Workspace(run.pk)
    owns_client = client is None
    client = client or district_canvas_client(run.district)
    try:
        with tempfile.TemporaryDirectory(prefix=f"{ws.schema}-zip-") as tmp:
            main_zip = Path(tmp) / "provisioning.zip"
            with RunProgress(run, heartbeat) as progress, transaction.atomic():
                progress.phase(SyncRun.Phase.IMPORTING, import_progress=0)
                swaps = PendingSwaps(run.district_id)
                created = _send_beside_mirror_writes(
                    progress=progress, ws=ws, client=client, swaps=swaps, path=main_zip
                )
                heartbeat()
                progress.log("Mirror written, waiting for Canvas to accept the import.")
                main = _import_finish(
                    progress=progress, ws=ws, client=client, phase=MAIN, created=created
                )
                if not main.accepted:
                    raise ImportRejected(
                        IMPORT_FAILED.format(
                            import_id=created.id, state=main.sis_import.workflow_state
                        )
                    )
                canvas = swaps.current(CANVAS_TABLE)
                mirrors_unsend(run=run, ws=ws, rejected=main.rejected, canvas=canvas)
                if not _retire_terms(progress=progress, ws=ws, client=client, tmp=Path(tmp)):
                    mirrors_keep_terms(run=run, ws=ws, canvas=canvas)
                conflicts_record_canvas(run=run, ws=ws, found=main.found)
                progress.phase(SyncRun.Phase.COMMITTING)
                with connection.cursor() as cursor:
                    swaps.swap(cursor)  # last: it locks the mirror tables until the commit
                sync_run_transition(run=run, to=SyncRun.Status.SUCCEEDED)
        sync_run_log(run=run, message="Mirror committed; run succeeded.")
        mirrors_analyze(run=run, fresh=swaps.swapped)
    finally:
        if owns_client:
            client.close()
    ws.drop()
    return run


def _send_beside_mirror_writes(
    *,
    progress: RunProgress,
    ws: Workspace,
    client: CanvasClient,
    swaps: PendingSwaps,
    path: Path,
) -> SisImport:
    """Build the main zip and create the import while both mirrors are written.

    The mirror writes need this connection (the apply transaction); the zip needs neither
    them nor this connection (the plan was committed with the planning). Outside an outer
    transaction, a thread builds the zip on a connection of its own and creates the import
    the moment the zip is done, so Canvas starts while the mirrors are still being written.
    Inside one (tests), a second connection would not see the plan: one after the other.
    """
    run = progress.run

    def send() -> SisImport:
        manifest = sis_zip_build(ws=ws, district=run.district, phase=MAIN, path=path)
        progress.log(f"Zip built with {manifest.describe()}.")
        return _import_start(progress=progress, client=client, phase=MAIN, zip_path=path)

    if progress.side is None:
        created = send()
        mirrors_write_roster(run=run, ws=ws, swaps=swaps)
        mirrors_write_canvas(run=run, ws=ws, swaps=swaps)
        return created

    def send_on_own_connection() -> SisImport:
        try:
            return send()
        finally:
            connection.close()  # this thread's own connection

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{ws.schema}-send") as pool:
        sent = pool.submit(send_on_own_connection)
        mirrors_write_roster(run=run, ws=ws, swaps=swaps)
        mirrors_write_canvas(run=run, ws=ws, swaps=swaps)
        return sent.result()


def sync_run_commit_unchanged(*, run: SyncRun) -> SyncRun:
    """An ``applying`` run with nothing to send: commit what was read without an import."""
    ws = Workspace(run.pk)
    with transaction.atomic():
        fresh = mirrors_write(run=run, ws=ws)
        sync_run_transition(run=run, to=SyncRun.Status.SUCCEEDED)
    sync_run_log(run=run, message="Nothing to send; mirror refreshed; run succeeded.")
    mirrors_analyze(run=run, fresh=fresh)
    ws.drop()
    return run


def _retire_terms(*, progress: RunProgress, ws: Workspace, client: CanvasClient, tmp: Path) -> bool:
    """Send term retirements after the main import; True if there were none or they went in."""
    if not _has_rows(ws, "terms", "drop"):
        return True
    retire_zip = tmp / "retire.zip"
    sis_zip_build(ws=ws, district=progress.run.district, phase=RETIRE, path=retire_zip)
    created = _import_start(progress=progress, client=client, phase=RETIRE, zip_path=retire_zip)
    outcome = _import_finish(progress=progress, ws=ws, client=client, phase=RETIRE, created=created)
    if not outcome.accepted or outcome.rejected:
        progress.log(
            "Canvas did not retire every old term; they are retried next run.",
            SyncRunLog.Level.WARNING,
        )
        return False
    return True
