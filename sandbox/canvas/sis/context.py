"""What every SIS importer shares: the import's options and bookkeeping, the row loop, and
Canvas's field rules (fields stripped, empty means nil, statuses matched by prefix)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sandbox.canvas.records import Section
from sandbox.canvas.sis.upload import COUNT_KEYS, CsvSource, ImportMessage
from sandbox.canvas.store import CanvasData

MSG_INTERNAL = "Error while importing CSV. Please contact support. (Error report {number})"

#: Rows applied between releases of the state lock, so API reads interleave.
LOCK_CHUNK = 2_000

PROGRESS_EVERY = 10_000


@dataclass(slots=True)
class ImportOptions:
    override_sis_stickiness: bool = False
    add_sis_stickiness: bool = False
    clear_sis_stickiness: bool = False
    skip_deletes: bool = False
    update_sis_id_if_login_claimed: bool = False

    @classmethod
    def from_form(cls, form: dict[str, str]) -> ImportOptions:
        def flag(name: str) -> bool:
            return str(form.get(name, "")).strip().lower() in ("1", "true", "yes", "on")

        return cls(
            override_sis_stickiness=flag("override_sis_stickiness"),
            add_sis_stickiness=flag("add_sis_stickiness"),
            clear_sis_stickiness=flag("clear_sis_stickiness"),
            skip_deletes=flag("skip_deletes"),
            update_sis_id_if_login_claimed=flag("update_sis_id_if_login_claimed"),
        )


@dataclass(slots=True)
class ApplyResult:
    counts: dict[str, int]
    messages: list[ImportMessage]
    supplied_batches: list[str]
    statistics: dict[str, dict[str, int]]
    stopped: bool = False


class Stopped(Exception):
    """The import was aborted between two chunks of rows."""


def status_is(value: str | None, *prefixes: str) -> str | None:
    """Canvas matches statuses with ``/\\Aactive|\\Adeleted/i``: a case-insensitive prefix."""
    if not value:
        return None
    lowered = value.lower()
    return next((p for p in prefixes if lowered.startswith(p)), None)


def parse_sis_date(value: str) -> str:
    """A lenient ISO 8601 parse (UTC unless a zone is given) → ``YYYY-MM-DDTHH:MM:SSZ``."""
    parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def picker(header: list[str], names: tuple[str, ...]) -> Callable[[list[str]], list[str | None]]:
    """A function returning the stripped values (None when empty or absent) of ``names``.

    It is generated, like ``collections.namedtuple`` does, because this runs once per row
    of multi-million-row files and a generated list display is several times faster than
    a loop. Only integer column positions go into the source, never header text.
    """
    width = len(header)
    cells = ", ".join(
        f"(raw[{header.index(name)}].strip() or None)" if name in header else "None"
        for name in names
    )
    source = (
        "def pick(raw):\n"
        f"    if len(raw) < {width}:\n"
        f"        raw = raw + [''] * ({width} - len(raw))\n"
        f"    return [{cells}]\n"
    )
    namespace: dict[str, Any] = {}
    exec(source, namespace)  # noqa: S102 - generated from column positions only (see above)
    return namespace["pick"]


def row_info(raw: list[str]) -> str:
    return ",".join(raw) + "\n"


class ImportContext:
    """One application of a set of sources to the data (one SIS import's work): the
    options, the messages and statistics the importers add to, and the row loop that
    releases the lock every ``LOCK_CHUNK`` rows."""

    def __init__(
        self,
        state: CanvasData,
        options: ImportOptions,
        *,
        import_id: int | None,
        on_progress: Callable[[int], None] | None,
        should_stop: Callable[[], bool] | None,
    ) -> None:
        self.state = state
        self.options = options
        self.import_id = import_id
        self.on_progress = on_progress
        self.should_stop = should_stop
        self.messages: list[ImportMessage] = []
        self.counts = dict.fromkeys(COUNT_KEYS.values(), 0)
        self.statistics: dict[str, dict[str, int]] = {}
        self.total_rows = 1
        self.done_rows = 0
        #: user id → sections the student is enrolled in (built once, for user_observers).
        self.student_sections: dict[int, list[Section]] | None = None

    # --- bookkeeping -----------------------------------------------------------------

    def warn(self, file: str, message: str, lineno: int | None = None, raw: list | None = None):
        info = row_info(raw) if raw is not None else None
        self.messages.append(ImportMessage(file, message, lineno, info))

    def stat(self, kind: str, change: str) -> None:
        bucket = self.statistics.setdefault(kind, {})
        bucket[change] = bucket.get(change, 0) + 1

    def locked_rows(self, source: CsvSource) -> Iterator[tuple[int, list[str]]]:
        """The source's rows with the state lock held, released every ``LOCK_CHUNK`` rows."""
        lock = self.state.lock

        def pause(rows: int) -> None:
            lock.release()
            try:
                self.tick(rows)
            finally:
                lock.acquire()

        lock.acquire()
        try:
            yield from source.rows(LOCK_CHUNK, pause)
        finally:
            lock.release()

    def tick(self, rows: int) -> None:
        self.state.touch()
        before = self.done_rows // PROGRESS_EVERY
        self.done_rows += rows
        if self.should_stop is not None and self.should_stop():
            raise Stopped
        if self.on_progress is not None and self.done_rows // PROGRESS_EVERY != before:
            self.on_progress(min(99, int(self.done_rows * 100 / self.total_rows)))
