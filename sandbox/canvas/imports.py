"""SIS import records and the per-account worker that runs them one at a time.

Like Canvas, an import is created in ``created``, picked up in creation order by a single
worker per root account (``importing``), and ends ``imported``, ``imported_with_messages``,
``failed_with_messages`` or ``aborted``. With a ``diffing_data_set_identifier`` the upload
is compared with the previous successful import of that data set (``sis_batch.rb``
``generate_diff``) and only the difference is applied, unless the size change exceeds
``change_threshold`` or the diff exceeds ``diff_row_count_threshold``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from sandbox.canvas.sis.context import MSG_INTERNAL, ImportOptions
from sandbox.canvas.sis.diffing import MSG_DIFF_ROWS, MSG_DIFF_SIZE, diff_sources
from sandbox.canvas.sis.run import apply_sources
from sandbox.canvas.sis.upload import COUNT_KEYS, IMPORTERS, ImportMessage, read_sis_upload
from sandbox.canvas.store import CanvasData

logger = logging.getLogger(__name__)

NOT_COMPLETED = ("initializing", "created", "importing", "cleanup_batch")
ACCEPTED = ("imported", "imported_with_messages")
#: Canvas shows this many errors and warnings on the status object; the rest via /errors.
SUMMARY_LIMIT = 24
STATISTIC_TYPES = (
    "Account",
    "EnrollmentTerm",
    "CommunicationChannel",
    "AbstractCourse",
    "Course",
    "CourseSection",
    "Enrollment",
    "GroupCategory",
    "Group",
    "GroupMembership",
    "Pseudonym",
    "UserObserver",
    "AccountUser",
)


def iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


@dataclass(slots=True)
class SisImportRecord:
    """One SIS import (Canvas's ``SisBatch``)."""

    id: int
    created_at: dt.datetime
    user_id: int
    form: dict[str, str]
    options: ImportOptions
    data: bytes | None
    extension: str
    file_name: str
    updated_at: dt.datetime | None = None
    started_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    workflow_state: str = "created"
    progress: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    supplied_batches: list[str] = field(default_factory=list)
    statistics: dict[str, dict[str, int]] = field(default_factory=dict)
    errors: list[ImportMessage] = field(default_factory=list)
    diffing_threshold_exceeded: bool = False
    diffed_against_import_id: int | None = None
    generated_diff: bool = False
    abort_requested: bool = False
    forced_failure: bool = False

    # --- options ---------------------------------------------------------------------

    @property
    def identifier(self) -> str | None:
        return self.form.get("diffing_data_set_identifier") or None

    @property
    def remaster(self) -> bool:
        return _flag(self.form.get("diffing_remaster_data_set"))

    def _int_option(self, name: str) -> int | None:
        value = self.form.get(name)
        return int(value) if value and value.strip().isdigit() else None

    @property
    def change_threshold(self) -> int | None:
        return self._int_option("change_threshold")

    @property
    def diff_row_count_threshold(self) -> int | None:
        return self._int_option("diff_row_count_threshold")

    @property
    def accepted(self) -> bool:
        return self.workflow_state in ACCEPTED

    # --- JSON ------------------------------------------------------------------------

    def as_json(self, base_url: str) -> dict[str, Any]:
        """The SisImport object as ``sis_imports_api_controller`` renders it."""
        form = self.form
        body: dict[str, Any] = {
            "id": self.id,
            "created_at": iso(self.created_at),
            "started_at": iso(self.started_at),
            "ended_at": iso(self.ended_at),
            "updated_at": iso(self.updated_at or self.created_at),
            "progress": self.progress,
            "workflow_state": self.workflow_state,
            "data": {
                "import_type": form.get("import_type") or "instructure_csv",
                "supplied_batches": list(self.supplied_batches),
                "counts": dict(self.counts),
            },
            "statistics": self.statistics_json(),
            "batch_mode": None,
            "batch_mode_term_id": None,
            "multi_term_batch_mode": None,
            "override_sis_stickiness": _flag_or_none(form.get("override_sis_stickiness")),
            "add_sis_stickiness": _flag_or_none(form.get("add_sis_stickiness")),
            "update_sis_id_if_login_claimed": _flag_or_none(
                form.get("update_sis_id_if_login_claimed")
            ),
            "clear_sis_stickiness": _flag_or_none(form.get("clear_sis_stickiness")),
            "diffing_data_set_identifier": self.identifier,
            "diffing_remaster": self.remaster if self.identifier else None,
            "diffed_against_import_id": self.diffed_against_import_id,
            "diffing_drop_status": form.get("diffing_drop_status"),
            "diffing_user_remove_status": form.get("diffing_user_remove_status"),
            "skip_deletes": _flag_or_none(form.get("skip_deletes")),
            "change_threshold": self.change_threshold,
            "diff_row_count_threshold": self.diff_row_count_threshold,
            "user": {"id": self.user_id},
        }
        failures = [e for e in self.errors if e.failure]
        warnings = [e for e in self.errors if not e.failure]
        if failures:
            body["processing_errors"] = _summary(failures, "errors")
        if warnings:
            body["processing_warnings"] = _summary(warnings, "warnings")
        if self.identifier:
            body["diffing_threshold_exceeded"] = self.diffing_threshold_exceeded
        if self.errors and self.ended_at is not None:
            body["errors_attachment"] = {
                "id": self.id,
                "display_name": f"sis_errors_attachment_{self.id}.csv",
                "filename": f"sis_errors_attachment_{self.id}.csv",
                "content-type": "text/csv",
                "url": f"{base_url}/files/sis_import_errors/{self.id}.csv",
            }
        return body

    def statistics_json(self) -> dict[str, Any]:
        stats: dict[str, Any] = {"total_state_changes": 0}
        for kind in STATISTIC_TYPES:
            entry = {"created": 0, "restored": 0, "deleted": 0}
            if kind in ("Course", "Enrollment"):
                entry["concluded"] = 0
            if kind == "Enrollment":
                entry["deactivated"] = 0
            entry.update(self.statistics.get(kind, {}))
            stats["total_state_changes"] += sum(entry.values())
            stats[kind] = entry
        return stats

    def error_json(self, message: ImportMessage) -> dict[str, Any]:
        return {
            "sis_import_id": self.id,
            "file": message.file,
            "message": message.message,
            "row": message.row,
            "row_info": message.row_info,
            "failure": message.failure,
        }


def _flag(value: str | None) -> bool:
    return str(value or "").strip().lower() in ("1", "true", "yes", "on")


def _flag_or_none(value: str | None) -> bool | None:
    return True if _flag(value) else None


def _summary(messages: list[ImportMessage], noun: str) -> list[list[str]]:
    pairs = [[m.file or "", m.message] for m in messages[:SUMMARY_LIMIT]]
    if len(messages) > SUMMARY_LIMIT:
        pairs.append(
            [
                f"and {len(messages) - SUMMARY_LIMIT} more {noun} that were not included",
                f"Download the error file to see all {noun}.",
            ]
        )
    return pairs


class ImportRunner:
    """Creates import records and runs them in a background thread, one at a time."""

    def __init__(self, state: CanvasData) -> None:
        self.state = state
        self.lock = threading.Condition()
        self.records: dict[int, SisImportRecord] = {}
        self._ids = itertools.count(1)
        self._queue: deque[int] = deque()
        self._busy = False
        self._thread: threading.Thread | None = None
        self._paused = False
        self._fail_next = 0
        self._stopped = False
        self._error_reports = itertools.count(4242)

    # --- API -----------------------------------------------------------------------------

    def create(
        self, *, data: bytes, form: dict[str, str], extension: str, file_name: str, user_id: int
    ) -> SisImportRecord:
        with self.lock:
            record = SisImportRecord(
                id=next(self._ids),
                created_at=self.state.now(),
                user_id=user_id,
                form=dict(form),
                options=ImportOptions.from_form(form),
                data=data,
                extension=extension,
                file_name=file_name,
            )
            if self._fail_next > 0:
                self._fail_next -= 1
                record.forced_failure = True
            self.records[record.id] = record
            self._queue.append(record.id)
            self._ensure_worker()
            self.lock.notify_all()
            return record

    def get(self, import_id: int) -> SisImportRecord | None:
        with self.lock:
            return self.records.get(import_id)

    def newest_first(self) -> list[SisImportRecord]:
        with self.lock:
            return sorted(self.records.values(), key=lambda r: r.id, reverse=True)

    def abort(self, import_id: int) -> SisImportRecord | None:
        """Abort an unfinished import; a finished one is returned unchanged."""
        with self.lock:
            record = self.records.get(import_id)
            if record is None:
                return None
            if record.workflow_state in NOT_COMPLETED:
                record.abort_requested = True
                if record.workflow_state != "importing":
                    self._mark_aborted(record)
            return record

    def abort_all_pending(self) -> None:
        with self.lock:
            for record in self.records.values():
                if record.workflow_state in ("initializing", "created"):
                    self._mark_aborted(record)

    def fail_next(self, count: int = 1) -> None:
        """Make the next ``count`` imports end ``failed_with_messages`` without applying."""
        with self.lock:
            self._fail_next += count

    def pause(self) -> None:
        """Hold queued imports in ``created`` (tests see the intermediate states)."""
        with self.lock:
            self._paused = True

    def resume(self) -> None:
        with self.lock:
            self._paused = False
            self.lock.notify_all()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until nothing is queued or importing (tests)."""
        with self.lock:
            return self.lock.wait_for(lambda: not self._queue and not self._busy, timeout)

    def stop(self) -> None:
        """End the worker thread (queued imports stay queued)."""
        with self.lock:
            self._stopped = True
            self.lock.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def error_report_number(self) -> int:
        return next(self._error_reports)

    # --- worker --------------------------------------------------------------------------

    def _ensure_worker(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(
                target=self._loop, name="canvas-sis-import", daemon=True
            )
            self._thread.start()

    def _loop(self) -> None:
        while True:
            with self.lock:
                self.lock.wait_for(lambda: (self._queue and not self._paused) or self._stopped)
                if self._stopped:
                    return
                record = self.records[self._queue.popleft()]
                if record.workflow_state != "created":
                    self.lock.notify_all()
                    continue
                self._busy = True
                record.workflow_state = "importing"
                record.started_at = record.updated_at = self.state.now()
                record.counts = dict.fromkeys(COUNT_KEYS.values(), 0)
            try:
                self._process(record)
            except Exception:  # the worker must survive anything one upload does
                logger.exception("Simulated Canvas SIS import %s crashed", record.id)
                record.errors.append(
                    ImportMessage(
                        None,
                        MSG_INTERNAL.format(number=self.error_report_number()),
                        failure=True,
                    )
                )
                self._finish(record, finished=False)
            finally:
                with self.lock:
                    self._busy = False
                    self.lock.notify_all()

    def _process(self, record: SisImportRecord) -> None:
        if record.forced_failure:
            record.errors.append(
                ImportMessage(
                    None, MSG_INTERNAL.format(number=self.error_report_number()), failure=True
                )
            )
            self._finish(record, finished=False)
            return
        assert record.data is not None
        read = read_sis_upload(record.data, extension=record.extension, file_name=record.file_name)
        record.errors.extend(read.messages)
        sources = read.sources
        if record.identifier and not record.remaster:
            base = self._diff_base(record)
            if base is not None and base.data is not None:
                previous = read_sis_upload(
                    base.data, extension=base.extension, file_name=base.file_name
                )
                threshold = record.change_threshold
                size_change = (
                    abs(1 - read.uncompressed_size / previous.uncompressed_size) * 100
                    if previous.uncompressed_size
                    else 100.0
                )
                if threshold is not None and size_change > threshold:
                    record.diffing_threshold_exceeded = True
                    record.errors.append(ImportMessage(None, MSG_DIFF_SIZE))
                else:
                    diff = diff_sources(
                        previous.sources,
                        sources,
                        drop_status=record.form.get("diffing_drop_status"),
                        user_remove_status=record.form.get("diffing_user_remove_status"),
                    )
                    row_limit = record.diff_row_count_threshold
                    if row_limit is not None and diff.row_count > row_limit:
                        record.diffing_threshold_exceeded = True
                        record.errors.append(ImportMessage(None, MSG_DIFF_ROWS))
                    else:
                        record.errors.extend(diff.messages)
                        record.generated_diff = True
                        record.diffed_against_import_id = base.id
                        sources = diff.sources
                        if not sources:
                            self._finish(record, finished=True)
                            return

        def progress(value: int) -> None:
            record.progress = value
            record.updated_at = self.state.now()

        result = apply_sources(
            self.state,
            sources,
            options=record.options,
            import_id=record.id,
            on_progress=progress,
            should_stop=lambda: record.abort_requested,
        )
        record.counts.update(result.counts)
        record.supplied_batches = [kind for kind in IMPORTERS if kind in result.supplied_batches]
        record.statistics = result.statistics
        record.errors.extend(result.messages)
        if result.stopped:
            with self.lock:
                self._mark_aborted(record)
            return
        self._finish(record, finished=True)

    def _diff_base(self, record: SisImportRecord) -> SisImportRecord | None:
        """Canvas's choice: the last successful diffed or remastered import of the data set,
        else the first successful one."""
        with self.lock:
            same = [
                other
                for other in self.records.values()
                if other.id < record.id and other.accepted and other.identifier == record.identifier
            ]
        chained = [other for other in same if other.generated_diff or other.remaster]
        if chained:
            return max(chained, key=lambda other: other.id)
        return min(same, key=lambda other: other.id) if same else None

    def _finish(self, record: SisImportRecord, *, finished: bool) -> None:
        with self.lock:
            if record.workflow_state == "aborted":
                return
            failed = any(message.failure for message in record.errors)
            if finished and not failed:
                record.workflow_state = "imported_with_messages" if record.errors else "imported"
                record.progress = 100
            else:
                record.workflow_state = "failed_with_messages" if record.errors else "failed"
            record.counts["error_count"] = sum(1 for m in record.errors if m.failure)
            record.counts["warning_count"] = sum(1 for m in record.errors if not m.failure)
            record.ended_at = record.updated_at = self.state.now()
            self._release_uploads(record)

    def _mark_aborted(self, record: SisImportRecord) -> None:
        record.workflow_state = "aborted"
        record.progress = 100
        record.ended_at = record.updated_at = self.state.now()
        record.data = None

    def _release_uploads(self, record: SisImportRecord) -> None:
        """Keep an upload only while it can still be a diffing base (memory)."""
        if not (record.accepted and record.identifier):
            record.data = None
            return
        same = [
            other
            for other in self.records.values()
            if other.accepted and other.identifier == record.identifier and other.data is not None
        ]
        first = min(same, key=lambda other: other.id)
        chained = [other for other in same if other.generated_diff or other.remaster]
        keep = {first.id}
        if chained:
            keep.add(max(chained, key=lambda other: other.id).id)
        for other in same:
            if other.id not in keep:
                other.data = None
