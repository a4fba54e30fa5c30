"""Canvas's SIS CSV rules: read a SIS upload, diff it, and apply it to a ``CanvasState``.

Modelled on canvas-lms ``lib/sis/csv/*`` and ``lib/sis/*_importer.rb``:

* a file's type comes from its header row (downcased, BOM allowed), the first importer in
  Canvas's order whose identifying columns are present; no match fails the file with
  "Couldn't find Canvas CSV import headers";
* every file is checked before anything is applied: invalid UTF-8 ("Invalid UTF-8") and
  malformed CSV ("Malformed CSV") fail that file, non-``.csv`` files are skipped with a
  warning, ``__MACOSX``/dot-files are ignored;
* files are applied by type in Canvas's processing order, whatever their order in the zip;
* fields are stripped, empty means nil, blank rows are skipped; row numbers are 1-based
  and count the header;
* each row is checked with Canvas's messages (missing ids, bad status, unknown references,
  claimed logins, ...); a bad row becomes a warning and the rest of the file goes on.

Deliberate simplifications are listed in docs/canvas-client.md (no custom roles, no
groups/admins/logins importers, no batch-mode cleanup).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from sandbox.canvas.state import (
    DESIGNER,
    E_ACTIVE,
    E_COMPLETED,
    E_DELETED,
    E_INACTIVE,
    OBSERVER,
    STUDENT,
    TA,
    TEACHER,
    Account,
    Course,
    Section,
    Term,
    User,
)

if TYPE_CHECKING:
    from sandbox.canvas.state import CanvasState

#: Canvas's importer order: header detection tries them in this order and files are
#: applied type by type in this order (``IMPORTERS`` in ``import_refactored.rb``).
IMPORTERS = (
    "change_sis_id",
    "account",
    "term",
    "abstract_course",
    "course",
    "section",
    "xlist",
    "user",
    "login",
    "enrollment",
    "admin",
    "group_category",
    "group",
    "group_membership",
    "differentiation_tag_set",
    "differentiation_tag",
    "differentiation_tag_membership",
    "grade_publishing_results",
    "user_observer",
)
COUNT_KEYS = {
    "change_sis_id": "change_sis_ids",
    "account": "accounts",
    "term": "terms",
    "abstract_course": "abstract_courses",
    "course": "courses",
    "section": "sections",
    "xlist": "xlists",
    "user": "users",
    "login": "logins",
    "enrollment": "enrollments",
    "admin": "admins",
    "group_category": "group_categories",
    "group": "groups",
    "group_membership": "group_memberships",
    "differentiation_tag_set": "differentiation_tag_sets",
    "differentiation_tag": "differentiation_tags",
    "differentiation_tag_membership": "differentiation_tag_memberships",
    "grade_publishing_results": "grade_publishing_results",
    "user_observer": "user_observers",
}
_LOGIN_MARKERS = frozenset(
    {"existing_user_id", "existing_integration_id", "existing_canvas_user_id"}
)


def _detects(kind: str, h: frozenset[str]) -> bool:
    if kind == "change_sis_id":
        return "old_id" in h or "old_integration_id" in h
    if kind == "account":
        return "account_id" in h and "parent_account_id" in h
    if kind == "term":
        return "term_id" in h and "name" in h
    if kind == "abstract_course":
        return "abstract_course_id" in h and "short_name" in h
    if kind == "course":
        return "course_id" in h and "short_name" in h
    if kind == "section":
        return "section_id" in h and "name" in h
    if kind == "xlist":
        return "xlist_course_id" in h and "section_id" in h
    if kind == "user":
        return "user_id" in h and "login_id" in h and not (h & _LOGIN_MARKERS)
    if kind == "login":
        return "user_id" in h and "login_id" in h and bool(h & _LOGIN_MARKERS)
    if kind == "enrollment":
        return ("section_id" in h or "course_id" in h) and (
            "user_id" in h or "user_integration_id" in h
        )
    if kind == "admin":
        return "account_id" in h and "user_id" in h
    if kind == "group_category":
        return "group_category_id" in h and "category_name" in h
    if kind == "group":
        return "group_id" in h and "name" in h
    if kind == "group_membership":
        return "group_id" in h and "user_id" in h
    if kind == "differentiation_tag_set":
        return "tag_set_id" in h and "set_name" in h
    if kind == "differentiation_tag":
        return "tag_id" in h and "tag_set_id" in h and "name" in h
    if kind == "differentiation_tag_membership":
        return "tag_id" in h and "user_id" in h
    if kind == "grade_publishing_results":
        return "enrollment_id" in h and "grade_publishing_status" in h
    return kind == "user_observer" and "observer_id" in h and "student_id" in h


def importer_for(header: Sequence[str]) -> str | None:
    """The importer type a header row selects, or None ("Couldn't find ... headers")."""
    names = frozenset(header)
    return next((kind for kind in IMPORTERS if _detects(kind, names)), None)


#: Row identity per importer, for diffing (``identifying_fields`` in each CSV importer).
IDENTIFYING_FIELDS: dict[str, tuple[str, ...]] = {
    "account": ("account_id",),
    "term": ("term_id", "date_override_enrollment_type"),
    "abstract_course": ("abstract_course_id",),
    "course": ("course_id",),
    "section": ("section_id",),
    "xlist": ("xlist_course_id", "section_id"),
    "user": ("user_id",),
    "login": ("user_id",),
    "enrollment": (
        "course_id",
        "section_id",
        "user_id",
        "user_integration_id",
        "role",
        "role_id",
        "associated_user_id",
        "temporary_enrollment_source_user_id",
    ),
    "admin": ("user_id", "account_id", "role_id", "role"),
    "group_category": ("group_category_id",),
    "group": ("group_id",),
    "group_membership": ("group_id", "user_id"),
    "user_observer": ("observer_id", "student_id"),
}

MSG_NO_HEADERS = "Couldn't find Canvas CSV import headers"
MSG_INVALID_UTF8 = "Invalid UTF-8"
MSG_MALFORMED = "Malformed CSV"
MSG_UNKNOWN_FILE = "Skipping unknown file type"
MSG_INTERNAL = "Error while importing CSV. Please contact support. (Error report {number})"
MSG_NOT_SIMULATED = "The sandbox does not simulate {kind} imports; {rows} rows were not applied"
MSG_DIFF_SIZE = "Diffing not performed because file size difference exceeded threshold"
MSG_DIFF_ROWS = "Diffing not performed because difference row count exceeded threshold"
MSG_DIFF_MISMATCH = (
    "Unable to perform diffing against mismatched previous and current {kind} imports"
)

_IGNORED_PATH = re.compile(r"__macosx|desktop\.in[if]|thumbs\.db|(^|/)\.", re.IGNORECASE)
#: Rows applied between releases of the state lock, so API reads interleave.
LOCK_CHUNK = 2_000
PROGRESS_EVERY = 10_000


@dataclass(slots=True)
class ImportMessage:
    """A warning (row problem, skipped file), or with ``failure`` an error failing the import."""

    file: str | None
    message: str
    row: int | None = None
    row_info: str | None = None
    failure: bool = False


@dataclass(slots=True)
class CsvSource:
    """One CSV of an upload: its name in the zip, type, normalised header and rows."""

    name: str
    kind: str
    header: list[str]
    row_count: int
    size: int
    _open: Callable[[], IO[bytes]] | None = None
    _rows: list[tuple[int, list[str]]] | None = None

    def rows(
        self, every: int = 0, hook: Callable[[int], None] | None = None
    ) -> Iterator[tuple[int, list[str]]]:
        """(row number counting the header as 1, raw fields) of every non-blank record.

        Streams from the upload, so a multi-million-row file never sits in memory whole.
        ``hook(rows)`` runs after every ``every`` rows and once at the end.
        """
        lineno = 1
        if self._rows is not None:
            records: Iterable[list[str]] = (raw for _, raw in self._rows)
            stream = None
        else:
            assert self._open is not None
            stream = self._open()
            records = csv.reader(_text(stream), strict=True)
            for raw in records:
                if raw:
                    break  # the header
        try:
            pending = 0
            for raw in records:
                if raw:
                    lineno += 1
                    yield lineno, raw
                    pending += 1
                    if pending == every and hook is not None:
                        hook(pending)
                        pending = 0
            if hook is not None:
                hook(pending)
        finally:
            if stream is not None:
                stream.close()


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


@dataclass(slots=True)
class ReadResult:
    sources: list[CsvSource] = field(default_factory=list)
    messages: list[ImportMessage] = field(default_factory=list)
    uncompressed_size: int = 0


# --- reading an upload ---------------------------------------------------------------------


def _text(stream: IO[bytes]) -> io.TextIOWrapper:
    # utf-8-sig drops a leading BOM; newline="" is what the csv module wants.
    return io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")


def _check_utf8(stream: IO[bytes]) -> None:
    """Raise ``UnicodeDecodeError`` unless the whole stream is UTF-8 (Canvas checks first)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    for chunk in iter(lambda: stream.read(1 << 20), b""):
        decoder.decode(chunk)
    decoder.decode(b"", final=True)


def _scan(stream: IO[bytes]) -> tuple[list[str] | None, int]:
    """(normalised header or None, number of records after it); raises ``csv.Error``."""
    header: list[str] | None = None
    rows = 0
    for raw in csv.reader(_text(stream), strict=True):
        if not raw:
            continue
        if header is None:
            header = [name.strip().lower() for name in raw]
        else:
            rows += 1
    return header, rows


def _read_csv(name: str, opener: Callable[[], IO[bytes]], size: int, result: ReadResult) -> None:
    try:
        with opener() as stream:
            _check_utf8(stream)
    except UnicodeDecodeError:
        result.messages.append(ImportMessage(name, MSG_INVALID_UTF8, failure=True))
        return
    try:
        with opener() as stream:
            header, rows = _scan(stream)
    except csv.Error:
        result.messages.append(ImportMessage(name, MSG_MALFORMED, failure=True))
        return
    if header is None:
        return
    kind = importer_for(header)
    if kind is None:
        result.messages.append(ImportMessage(name, MSG_NO_HEADERS, failure=True))
        return
    result.sources.append(CsvSource(name, kind, header, rows, size, _open=opener))


def read_sis_upload(
    data: bytes, *, extension: str = "zip", file_name: str = "upload"
) -> ReadResult:
    """Check every file of an upload and sort the good ones by importer type.

    Raises ``zipfile.BadZipFile`` when a zip upload is not a zip (Canvas fails the import).
    """
    result = ReadResult()
    if extension == "csv":
        result.uncompressed_size = len(data)
        _read_csv(file_name, lambda: io.BytesIO(data), len(data), result)
        return result
    archive = zipfile.ZipFile(io.BytesIO(data))
    for info in archive.infolist():
        if info.is_dir() or _IGNORED_PATH.search(info.filename):
            continue
        result.uncompressed_size += info.file_size
        if info.file_size == 0:
            continue
        if not info.filename.lower().endswith(".csv"):
            result.messages.append(ImportMessage(info.filename, MSG_UNKNOWN_FILE))
            continue
        _read_csv(
            info.filename,
            lambda member=info: archive.open(member),
            info.file_size,
            result,
        )
    order = {kind: index for index, kind in enumerate(IMPORTERS)}
    result.sources.sort(key=lambda source: order[source.kind])
    return result


# --- diffing -------------------------------------------------------------------------------


def _identity(header: list[str], fields: tuple[str, ...]) -> Callable[[list[str]], str]:
    positions = [header.index(name) if name in header else -1 for name in fields]

    def key(raw: list[str]) -> str:
        return "\x1f".join(raw[p].strip() if 0 <= p < len(raw) else "" for p in positions)

    return key


def _canonical(header: list[str]) -> Callable[[list[str]], int]:
    order = sorted(range(len(header)), key=lambda i: header[i])

    def digest(raw: list[str]) -> int:
        return hash(tuple(raw[i].strip() if i < len(raw) else "" for i in order))

    return digest


def _diff_pair(
    previous: CsvSource, current: CsvSource, drop_status: str
) -> list[tuple[int, list[str]]]:
    """Rows of ``current`` that are new or changed, then ``previous`` rows now missing
    (with ``status`` set to ``drop_status``), in ``current``'s column layout."""
    fields = IDENTIFYING_FIELDS[current.kind]
    old_key = _identity(previous.header, fields)
    old_digest = _canonical(previous.header)
    known: dict[str, int] = {}
    for _, raw in previous.rows():
        known[old_key(raw)] = old_digest(raw)
    new_key = _identity(current.header, fields)
    new_digest = _canonical(current.header)
    out: list[tuple[int, list[str]]] = []
    for _, raw in current.rows():
        key = new_key(raw)
        before = known.pop(key, None)
        if before is None or before != new_digest(raw):
            out.append((len(out) + 2, raw))
    if known:
        width = len(current.header)
        status_at = current.header.index("status") if "status" in current.header else -1
        positions = [
            previous.header.index(name) if name in previous.header else -1
            for name in current.header
        ]
        for _, raw in previous.rows():
            if old_key(raw) not in known:
                continue
            row = [raw[p] if 0 <= p < len(raw) else "" for p in positions][:width]
            if status_at >= 0:
                row[status_at] = drop_status
            out.append((len(out) + 2, row))
    return out


@dataclass(slots=True)
class DiffResult:
    sources: list[CsvSource]
    messages: list[ImportMessage]
    row_count: int
    performed: bool


def diff_sources(
    previous: list[CsvSource],
    current: list[CsvSource],
    *,
    drop_status: str | None,
    user_remove_status: str | None,
) -> DiffResult:
    """Canvas's ``DiffGenerator``: keep only what changed since the previous import.

    Files pair up per type (by file name when a type has several); a type missing on
    either side, or with unmatched names, is applied whole.
    """
    messages: list[ImportMessage] = []
    out: list[CsvSource] = []
    total = 0
    kinds = {source.kind for source in current}
    for kind in sorted(kinds, key=IMPORTERS.index):
        now = [s for s in current if s.kind == kind]
        before = [s for s in previous if s.kind == kind]
        if not before or kind not in IDENTIFYING_FIELDS:
            out.extend(now)
            total += sum(s.row_count for s in now)
            continue
        if len(now) == 1 and len(before) == 1:
            pairs = [(before[0], now[0])]
        else:
            by_name = {s.name: s for s in before}
            pairs = [(by_name.get(s.name), s) for s in now]
        for old, new in pairs:
            if old is None:
                messages.append(ImportMessage(new.name, MSG_DIFF_MISMATCH.format(kind=kind)))
                out.append(new)
                total += new.row_count
                continue
            status = "deleted"
            if kind == "enrollment" and drop_status:
                status = drop_status
            if kind == "user" and user_remove_status:
                status = user_remove_status
            rows = _diff_pair(old, new, status)
            total += len(rows)
            if rows:
                out.append(CsvSource(new.name, kind, new.header, len(rows), new.size, _rows=rows))
    return DiffResult(out, messages, total, True)


# --- applying ------------------------------------------------------------------------------


class _Stopped(Exception):
    """The import was aborted between two chunks of rows."""


def _status_is(value: str | None, *prefixes: str) -> str | None:
    """Canvas matches statuses with ``/\\Aactive|\\Adeleted/i``: a case-insensitive prefix."""
    if not value:
        return None
    lowered = value.lower()
    return next((p for p in prefixes if lowered.startswith(p)), None)


#: The enrollment statuses as written by well-behaved feeds, looked up before the
#: general prefix match (this runs for every enrollment row).
_ENROLLMENT_STATUS = {
    name: name for name in ("active", "deleted", "completed", "inactive", "deleted_last_completed")
}


def parse_sis_date(value: str) -> str:
    """A lenient ISO 8601 parse (UTC unless a zone is given) → ``YYYY-MM-DDTHH:MM:SSZ``."""
    parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _picker(header: list[str], names: tuple[str, ...]) -> Callable[[list[str]], list[str | None]]:
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


def _row_info(raw: list[str]) -> str:
    return ",".join(raw) + "\n"


def _sortable(name: str) -> str:
    """Canvas's inference of "Last, First" from a full name."""
    parts = name.rsplit(" ", 1)
    return f"{parts[1]}, {parts[0]}" if len(parts) == 2 else name


class _Apply:
    """One application of a set of sources to the state (one SIS import's work)."""

    def __init__(
        self,
        state: CanvasState,
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
        self._student_sections: dict[int, list[Section]] | None = None

    # --- bookkeeping -----------------------------------------------------------------

    def warn(self, file: str, message: str, lineno: int | None = None, raw: list | None = None):
        info = _row_info(raw) if raw is not None else None
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
                self._tick(rows)
            finally:
                lock.acquire()

        lock.acquire()
        try:
            yield from source.rows(LOCK_CHUNK, pause)
        finally:
            lock.release()

    def _tick(self, rows: int) -> None:
        self.state.touch()
        before = self.done_rows // PROGRESS_EVERY
        self.done_rows += rows
        if self.should_stop is not None and self.should_stop():
            raise _Stopped
        if self.on_progress is not None and self.done_rows // PROGRESS_EVERY != before:
            self.on_progress(min(99, int(self.done_rows * 100 / self.total_rows)))

    # --- entry point -----------------------------------------------------------------

    def run(self, sources: list[CsvSource]) -> ApplyResult:
        supplied: list[str] = []
        self.total_rows = max(1, sum(source.row_count for source in sources))
        stopped = False
        try:
            for kind in IMPORTERS:
                of_kind = [source for source in sources if source.kind == kind]
                if not of_kind:
                    continue
                supplied.append(kind)
                handler = getattr(self, f"_{kind}", None)
                for source in of_kind:
                    if handler is None:
                        self.warn(
                            source.name,
                            MSG_NOT_SIMULATED.format(kind=kind, rows=source.row_count),
                        )
                        self._tick(source.row_count)
                        continue
                    self.counts[COUNT_KEYS[kind]] += handler(source)
        except _Stopped:
            stopped = True
        self.state.touch()
        return ApplyResult(self.counts, self.messages, supplied, self.statistics, stopped)

    # --- change_sis_id ---------------------------------------------------------------

    def _change_sis_id(self, source: CsvSource) -> int:
        state = self.state
        pick = _picker(
            source.header, ("old_id", "new_id", "old_integration_id", "new_integration_id", "type")
        )
        tables: dict[str, tuple[dict, dict | None]] = {
            "user": (state.users_by_sis, state.users_by_integration),
            "course": (state.courses_by_sis, None),
            "section": (state.sections_by_sis, None),
            "term": (state.terms_by_sis, None),
            "account": (state.accounts_by_sis, None),
        }
        done = 0
        for lineno, raw in self.locked_rows(source):
            old_id, new_id, old_int, new_int, kind = pick(raw)
            if not any((old_id, new_id, old_int, new_int, kind)):
                continue
            problem = None
            if not kind:
                problem = "No type given for change_sis_id"
            elif not (old_id or old_int):
                problem = "No old_id or old_integration_id given for change_sis_id"
            elif not (new_id or new_int):
                problem = "No new_id or new_integration_id given for change_sis_id"
            kind = (kind or "").strip().lower()
            if problem is None and kind not in tables:
                problem = f"Invalid type '{kind}' for change_sis_id"
                if kind in ("group", "group_category"):
                    problem = MSG_NOT_SIMULATED.format(kind=kind, rows=1)
            if problem:
                self.warn(source.name, problem, lineno, raw)
                continue
            by_sis, by_integration = tables[kind]
            column = "sis_user_id" if kind == "user" else "sis_source_id"
            if new_id and new_id in by_sis:
                self.warn(
                    source.name,
                    f"A new_id, '{new_id}', referenced an existing {kind} and the {kind} with "
                    f"{column} '{old_id or ''}' was not updated",
                    lineno,
                    raw,
                )
                continue
            item = by_sis.get(old_id) if old_id else None
            if old_id and old_int:
                other = by_integration.get(old_int) if by_integration is not None else None
                if other is not item:
                    self.warn(
                        source.name,
                        f"An old_id, '{old_id}', referenced a different {kind} than the "
                        f"old_integration_id, '{old_int}'",
                        lineno,
                        raw,
                    )
                    continue
            elif old_int and not old_id:
                item = by_integration.get(old_int) if by_integration is not None else None
                if item is None:
                    self.warn(
                        source.name,
                        f"An old_integration_id, '{old_int}', referenced a non-existent {kind} "
                        "and was not changed.",
                        lineno,
                        raw,
                    )
                    continue
            if item is None:
                self.warn(
                    source.name,
                    f"An old_id, '{old_id}', referenced a non-existent {kind} and was not changed.",
                    lineno,
                    raw,
                )
                continue
            if new_id:
                del by_sis[item.sis_id]
                item.sis_id = new_id
                by_sis[new_id] = item
            if new_int:
                if by_integration is not None and item.integration_id:
                    by_integration.pop(item.integration_id, None)
                item.integration_id = None if new_int == "<delete>" else new_int
                if by_integration is not None and item.integration_id:
                    by_integration[item.integration_id] = item
            done += 1
        return done

    # --- accounts --------------------------------------------------------------------

    def _account(self, source: CsvSource) -> int:
        state = self.state
        pick = _picker(
            source.header, ("account_id", "parent_account_id", "name", "status", "integration_id")
        )
        done = 0
        for lineno, raw in self.locked_rows(source):
            account_id, parent_id, name, status, integration_id = pick(raw)
            if not any((account_id, parent_id, name, status, integration_id)):
                continue
            if not account_id:
                self.warn(source.name, "No account_id given for an account", lineno, raw)
                continue
            parent = None
            if parent_id:
                parent = state.accounts_by_sis.get(parent_id)
                if parent is None:
                    self.warn(
                        source.name, f"Parent account didn't exist for {account_id}", lineno, raw
                    )
                    continue
            account = state.accounts_by_sis.get(account_id)
            state_name = _status_is(status, "active", "deleted")
            if account is None:
                if not name:
                    self.warn(
                        source.name,
                        f"No name given for account {account_id}, skipping",
                        lineno,
                        raw,
                    )
                    continue
                if state_name is None:
                    self.warn(
                        source.name,
                        f'Improper status "{status or ""}" for account {account_id}, skipping',
                        lineno,
                        raw,
                    )
                    continue
            if state_name == "deleted" and self.options.skip_deletes:
                continue
            if account is None:
                account = Account(state.new_account_id(), account_id, name or "", None)
                state.accounts[account.id] = account
                state.accounts_by_sis[account_id] = account
                self.stat("Account", "created")
            elif name:
                account.name = name
            account.parent_id = parent.id if parent is not None else state.root.id
            if integration_id:
                account.integration_id = integration_id
            if state_name and account.workflow_state != state_name:
                if state_name == "deleted":
                    self.stat("Account", "deleted")
                account.workflow_state = state_name
            account.sis_import_id = self.import_id
            done += 1
        return done

    # --- terms -----------------------------------------------------------------------

    def _term(self, source: CsvSource) -> int:
        state = self.state
        pick = _picker(
            source.header,
            (
                "term_id",
                "name",
                "status",
                "start_date",
                "end_date",
                "integration_id",
                "date_override_enrollment_type",
            ),
        )
        done = 0
        for lineno, raw in self.locked_rows(source):
            term_id, name, status, start, end, integration_id, override_type = pick(raw)
            if not any((term_id, name, status, start, end, integration_id, override_type)):
                continue
            if not term_id:
                self.warn(source.name, "No term_id given for a term", lineno, raw)
                continue
            state_name = _status_is(status, "active", "deleted")
            if state_name is None:
                self.warn(
                    source.name, f'Improper status "{status or ""}" for term {term_id}', lineno, raw
                )
                continue
            if not name and not override_type:
                self.warn(source.name, f"No name given for term {term_id}", lineno, raw)
                continue
            try:
                start_at = parse_sis_date(start) if start else None
                end_at = parse_sis_date(end) if end else None
            except ValueError:
                self.warn(source.name, f"Bad date format for term {term_id}", lineno, raw)
                continue
            if state_name == "deleted" and self.options.skip_deletes:
                continue
            term = state.terms_by_sis.get(term_id)
            if override_type:
                if term is None:
                    self.warn(
                        source.name,
                        f"Term {term_id} does not exist for a date override",
                        lineno,
                        raw,
                    )
                    continue
                overrides = term.overrides or {}
                if state_name == "deleted":
                    overrides.pop(override_type, None)
                else:
                    overrides[override_type] = (start_at, end_at)
                term.overrides = overrides or None
                done += 1
                continue
            if term is None:
                term = Term(state.new_term_id(), term_id, name or "")
                state.terms[term.id] = term
                state.terms_by_sis[term_id] = term
                self.stat("EnrollmentTerm", "created")
            else:
                term.name = name or term.name
            if state_name == "deleted" and term.workflow_state != "deleted":
                self.stat("EnrollmentTerm", "deleted")
            term.workflow_state = state_name
            term.start_at, term.end_at = start_at, end_at
            if integration_id:
                term.integration_id = integration_id
            term.sis_import_id = self.import_id
            done += 1
        return done

    # --- courses ---------------------------------------------------------------------

    def _course(self, source: CsvSource) -> int:
        state = self.state
        options = self.options
        pick = _picker(
            source.header,
            (
                "course_id",
                "short_name",
                "long_name",
                "account_id",
                "term_id",
                "status",
                "start_date",
                "end_date",
                "integration_id",
                "course_format",
                "grade_passback_setting",
            ),
        )
        done = 0
        for lineno, raw in self.locked_rows(source):
            values = pick(raw)
            (course_id, short, long, account_id, term_id, status, start, end) = values[:8]
            integration_id, course_format, passback = values[8:]
            if not any(values) and not any(v.strip() for v in raw):
                continue
            # "<delete>" clears a date; an empty one keeps what the course has.
            dates: dict[str, str | None] = {}
            try:
                for column, value in (("start_at", start), ("end_at", end)):
                    if value == "<delete>":
                        dates[column] = None
                    elif value:
                        dates[column] = parse_sis_date(value)
            except ValueError:
                self.warn(source.name, f"Bad date format for course {course_id}", lineno, raw)
                dates = {}
            problem = None
            if not course_id:
                problem = "No course_id given for a course"
            elif not short:
                problem = f"No short_name given for course {course_id}"
            elif not long:
                problem = f"No long_name given for course {course_id}"
            elif not _status_is(
                status, "active", "deleted", "completed", "unpublished", "published"
            ):
                problem = f'Improper status "{status or ""}" for course {course_id}'
            elif course_format and not _status_is(
                course_format, "online", "on_campus", "blended", "not_set"
            ):
                problem = f'Invalid course_format "{course_format}" for course {course_id}'
            elif passback and passback.lower() not in ("nightly_sync", "disabled", "not_set"):
                problem = f'Invalid grade_passback_setting "{passback}" for course {course_id}'
            if problem:
                self.warn(source.name, problem, lineno, raw)
                continue
            assert status is not None
            assert course_id is not None
            lowered = status.lower()
            if lowered.startswith("deleted") and options.skip_deletes:
                continue
            account = state.accounts_by_sis.get(account_id) if account_id else None
            if account_id and account is None:
                self.warn(
                    source.name,
                    f'Account not found "{account_id}" for course {course_id}',
                    lineno,
                    raw,
                )
                continue
            term = state.terms_by_sis.get(term_id) if term_id else None
            if term is not None and term.workflow_state != "active":
                term = None
            course = state.courses_by_sis.get(course_id)
            created = course is None
            if course is None:
                course = state.add_course(
                    course_id,
                    short or "",
                    long or "",
                    (account or state.root).id,
                    (term or state.default_term).id,
                )
                course.workflow_state = "created"
            stuck = course.stuck if not options.override_sis_stickiness else None
            if term is not None and not (stuck and "term" in stuck):
                course.term_id = term.id
            if (
                account is not None
                and account.workflow_state == "active"
                and not (stuck and "account" in stuck)
            ):
                course.account_id = account.id
            owner = state.accounts.get(course.account_id)
            if owner is not None and owner.workflow_state == "deleted":
                self.warn(
                    source.name,
                    f"Cannot restore course {course_id} because the associated account "
                    f"{owner.sis_id} is deleted",
                    lineno,
                    raw,
                )
                continue
            if integration_id:
                course.integration_id = integration_id
            if not (stuck and "workflow_state" in stuck):
                self._course_state(course, lowered, created)
            if not (stuck and "course_code" in stuck) or not course.course_code:
                course.course_code = short or course.course_code
            if not (stuck and "name" in stuck) or not course.name:
                course.name = long or course.name
            if dates and not (stuck and "dates" in stuck):
                if "start_at" in dates:
                    course.start_at = dates["start_at"]
                if "end_at" in dates:
                    course.end_at = dates["end_at"]
                course.restrict_dates = bool(course.start_at or course.end_at)
            self._course_stickiness(course)
            course.sis_import_id = self.import_id
            if created:
                self.stat("Course", "created")
            done += 1
        return done

    def _course_state(self, course: Course, status: str, created: bool) -> None:
        active_state = "available" if status.startswith("published") else "claimed"
        before = course.workflow_state
        if status.startswith(("active", "unpublished", "published")):
            if before == "completed":
                course.workflow_state = "available"
            elif before == "deleted":
                course.workflow_state = active_state
                self.stat("Course", "restored")
            elif before in ("created", "claimed"):
                course.workflow_state = active_state
        elif status.startswith("deleted"):
            if before != "deleted" and not created:
                self.stat("Course", "deleted")
            course.workflow_state = "deleted"
        elif status.startswith("completed"):
            if before != "completed":
                self.stat("Course", "concluded")
            course.workflow_state = "completed"

    def _course_stickiness(self, course: Course) -> None:
        options = self.options
        if not options.override_sis_stickiness:
            return
        if options.clear_sis_stickiness:
            course.stuck = None
        elif options.add_sis_stickiness:
            course.stuck = {"name", "course_code", "account", "term", "workflow_state", "dates"}

    # --- sections --------------------------------------------------------------------

    def _section(self, source: CsvSource) -> int:
        state = self.state
        pick = _picker(
            source.header,
            (
                "section_id",
                "course_id",
                "name",
                "status",
                "start_date",
                "end_date",
                "integration_id",
            ),
        )
        done = 0
        deleted_sections: list[Section] = []
        for lineno, raw in self.locked_rows(source):
            section_id, course_id, name, status, start, end, integration_id = pick(raw)
            if not any((section_id, course_id, name, status, start, end, integration_id)):
                continue
            try:
                start_at = parse_sis_date(start) if start else None
                end_at = parse_sis_date(end) if end else None
            except ValueError:
                self.warn(source.name, f"Bad date format for section {section_id}", lineno, raw)
                start_at = end_at = None
            state_name = _status_is(status, "active", "deleted")
            problem = None
            if not section_id:
                problem = f"No section_id given for a section in course {course_id or ''}"
            elif not course_id:
                problem = f"No course_id given for a section {section_id}"
            elif not name and state_name == "active":
                problem = f"No name given for section {section_id} in course {course_id}"
            elif state_name is None:
                problem = (
                    f'Improper status "{status or ""}" for section {section_id} '
                    f"in course {course_id}"
                )
            if problem:
                self.warn(source.name, problem, lineno, raw)
                continue
            assert section_id is not None
            assert course_id is not None
            if state_name == "deleted" and self.options.skip_deletes:
                continue
            course = state.courses_by_sis.get(course_id)
            if course is None:
                self.warn(
                    source.name,
                    f"Section {section_id} references course {course_id} which doesn't exist",
                    lineno,
                    raw,
                )
                continue
            section = state.sections_by_sis.get(section_id)
            if section is None:
                if not name:
                    self.warn(
                        source.name,
                        f"No name given for section {section_id} in course {course_id}",
                        lineno,
                        raw,
                    )
                    continue
                section = state.add_section(section_id, course, name)
                self.stat("CourseSection", "created")
            elif name:
                section.name = name
            home = section.nonxlist_course_id or section.course_id
            if home != course.id:
                self._move_section(section, course)
                section.nonxlist_course_id = None
            if integration_id:
                section.integration_id = integration_id
            if state_name == "deleted" and section.workflow_state != "deleted":
                deleted_sections.append(section)
                self.stat("CourseSection", "deleted")
            section.workflow_state = state_name
            section.start_at, section.end_at = start_at, end_at
            section.sis_import_id = self.import_id
            done += 1
        with state.lock:
            for section in deleted_sections:
                for members in section.enrollments.values():
                    for key in members:
                        members[key] = E_DELETED
        return done

    def _move_section(self, section: Section, course: Course) -> None:
        old = self.state.courses.get(section.course_id)
        if old is not None and section.id in old.section_ids:
            old.section_ids.remove(section.id)
        section.course_id = course.id
        course.section_ids.append(section.id)

    # --- cross-listing ---------------------------------------------------------------

    def _xlist(self, source: CsvSource) -> int:
        state = self.state
        pick = _picker(source.header, ("xlist_course_id", "section_id", "status"))
        done = 0
        for lineno, raw in self.locked_rows(source):
            xlist_course_id, section_id, status = pick(raw)
            if not any((xlist_course_id, section_id, status)):
                continue
            state_name = _status_is(status, "active", "deleted")
            problem = None
            if not xlist_course_id:
                problem = "No xlist_course_id given for a cross-listing"
            elif not section_id:
                problem = "No section_id given for a cross-listing"
            elif state_name is None:
                problem = f'Improper status "{status or ""}" for a cross-listing'
            if problem:
                self.warn(source.name, problem, lineno, raw)
                continue
            assert section_id is not None
            assert xlist_course_id is not None
            section = state.sections_by_sis.get(section_id)
            if section is None:
                self.warn(
                    source.name,
                    f"A cross-listing referenced a non-existent section {section_id}",
                    lineno,
                    raw,
                )
                continue
            if state_name == "active":
                target = state.courses_by_sis.get(xlist_course_id)
                if target is None:
                    origin = state.courses[section.nonxlist_course_id or section.course_id]
                    target = state.add_course(
                        xlist_course_id,
                        origin.course_code,
                        origin.name,
                        origin.account_id,
                        origin.term_id,
                    )
                if section.course_id != target.id:
                    home = section.nonxlist_course_id or section.course_id
                    self._move_section(section, target)
                    section.nonxlist_course_id = home if home != target.id else None
            elif section.nonxlist_course_id is not None:
                home_course = state.courses[section.nonxlist_course_id]
                self._move_section(section, home_course)
                section.nonxlist_course_id = None
            done += 1
        return done

    # --- users -----------------------------------------------------------------------

    def _user(self, source: CsvSource) -> int:
        state = self.state
        options = self.options
        pick = _picker(
            source.header,
            (
                "user_id",
                "login_id",
                "status",
                "first_name",
                "last_name",
                "full_name",
                "sortable_name",
                "short_name",
                "email",
                "integration_id",
                "declared_user_type",
            ),
        )
        done = 0
        removed: set[int] = set()
        for lineno, raw in self.locked_rows(source):
            values = pick(raw)
            user_id, login_id, status, first, last, full, sortable, short, email = values[:9]
            integration_id, declared = values[9:]
            if not any(values) and not any(v.strip() for v in raw):
                continue
            problem = None
            if not user_id:
                problem = "No user_id given for a user"
            elif not login_id:
                problem = f"No login_id given for user {user_id}"
            elif not status:
                problem = f"No status given for user {user_id}"
            elif _status_is(status, "active", "suspended", "deleted") is None:
                problem = f"Improper status for user {user_id}"
            if problem:
                self.warn(source.name, problem, lineno, raw)
                continue
            assert user_id is not None
            assert login_id is not None
            assert status is not None
            lowered = status.lower()
            if lowered.startswith("deleted") and options.skip_deletes:
                continue
            status_name = lowered if lowered in ("active", "suspended", "deleted") else "active"
            user = state.users_by_sis.get(user_id)
            holder = state.logins.get(login_id.lower())
            if holder is not None and holder.login_state == "deleted":
                holder = None
            by_integration = (
                state.users_by_integration.get(integration_id) if integration_id else None
            )
            if (
                by_integration is not None
                and status_name != "deleted"
                and by_integration is not user
            ):
                self.warn(
                    source.name,
                    f"An existing Canvas user with the {_who(by_integration)} has already "
                    f"claimed {user_id}'s requested integration_id, skipping",
                    lineno,
                    raw,
                )
                continue
            if user is None:
                user = holder
            if user is not None:
                if user.sis_id and user.sis_id != user_id:
                    if options.update_sis_id_if_login_claimed:
                        state.users_by_sis.pop(user.sis_id, None)
                        user.sis_id = user_id
                        state.users_by_sis[user_id] = user
                    else:
                        self.warn(
                            source.name,
                            f"An existing Canvas user with the SIS ID {user.sis_id} has already "
                            f"claimed {user_id}'s user_id requested login information, skipping",
                            lineno,
                            raw,
                        )
                        continue
                if holder is not None and holder is not user and status_name != "deleted":
                    self.warn(
                        source.name,
                        f"An existing Canvas user with the {_who(holder)} has already claimed "
                        f"{user_id}'s user_id requested login information, skipping",
                        lineno,
                        raw,
                    )
                    continue
                if user.sis_id is None:
                    user.sis_id = user_id
                    state.users_by_sis[user_id] = user
                if full:
                    user.name = full
                elif first or last:
                    user.name = " ".join((first or "", last or ""))
                if sortable:
                    user.sortable_name = sortable
                elif first or last:
                    user.sortable_name = ", ".join((last or "", first or ""))
                elif full:
                    user.sortable_name = _sortable(full)
                if short:
                    user.short_name = short
                if user.login_state == "deleted" and status_name != "deleted":
                    self.stat("Pseudonym", "restored")
            else:
                name = full or (" ".join((first or "", last or "")) if first or last else None)
                name = name or sortable or short or login_id
                user = state.add_user(user_id, login_id, name)
                if sortable:
                    user.sortable_name = sortable
                elif first or last:
                    user.sortable_name = ", ".join((last or "", first or ""))
                else:
                    user.sortable_name = _sortable(name)
                user.short_name = short
                self.stat("Pseudonym", "created")
            if user.login_id.lower() != login_id.lower():
                state.logins.pop(user.login_id.lower(), None)
                state.logins[login_id.lower()] = user
            user.login_id = login_id
            if integration_id:
                if user.integration_id:
                    state.users_by_integration.pop(user.integration_id, None)
                user.integration_id = integration_id
                state.users_by_integration[integration_id] = user
            if email:
                user.email = email
            if declared:
                user.declared_user_type = None if declared == "<delete>" else declared
            if status_name == "deleted" and user.login_state != "deleted":
                removed.add(user.id)
                self.stat("Pseudonym", "deleted")
            user.login_state = status_name
            user.sis_import_id = self.import_id
            done += 1
        if removed:
            self._remove_enrollments_of(removed)
        return done

    def _remove_enrollments_of(self, user_ids: set[int]) -> None:
        """A user whose last login is deleted loses every enrollment (Canvas's rule)."""
        with self.state.lock:
            for section in self.state.sections.values():
                for type_code, members in section.enrollments.items():
                    for key in members:
                        user_id = key[0] if type_code == OBSERVER else key
                        if user_id in user_ids and members[key] != E_DELETED:
                            members[key] = E_DELETED
                            self.stat("Enrollment", "deleted")

    # --- enrollments -----------------------------------------------------------------

    def _enrollment(self, source: CsvSource) -> int:
        state = self.state
        skip_deletes = self.options.skip_deletes
        users_by_sis = state.users_by_sis
        users_by_integration = state.users_by_integration
        warn = self.warn
        name = source.name
        pick = _picker(
            source.header,
            (
                "course_id",
                "section_id",
                "user_id",
                "user_integration_id",
                "role",
                "role_id",
                "status",
                "associated_user_id",
                "start_date",
                "end_date",
                "root_account",
            ),
        )
        created = deleted = 0
        done = 0
        # Feeds list enrollments section by section: resolve a place once per run of rows.
        last_course_id: str | None = ""
        last_section_id: str | None = ""
        course: Course | None = None
        section: Section | None = None
        problem: str | None = None
        role_types = _ROLE_TYPES
        for lineno, raw in self.locked_rows(source):
            (
                course_id,
                section_id,
                user_id,
                user_int,
                role,
                _role_id,
                status,
                associated,
                start,
                end,
                root_account,
            ) = pick(raw)
            if not (course_id or section_id or user_id) and not any(v.strip() for v in raw):
                continue
            if start or end:
                try:
                    if start:
                        parse_sis_date(start)
                    if end:
                        parse_sis_date(end)
                except ValueError:
                    where = f"course {course_id}" if course_id else f"section {section_id}"
                    warn(name, f"Bad date format for user {user_id or ''} in {where}", lineno, raw)
            if not course_id and not section_id:
                warn(name, "No course_id or section_id given for an enrollment", lineno, raw)
                continue
            if not user_id and not user_int:
                warn(name, "No user_id given for an enrollment", lineno, raw)
                continue
            status_name = _ENROLLMENT_STATUS.get(status or "") or _status_is(
                status, "active", "deleted_last_completed", "deleted", "completed", "inactive"
            )
            if status_name is None:
                warn(name, f'Improper status "{status or ""}" for an enrollment', lineno, raw)
                continue
            if skip_deletes and status_name.startswith("deleted"):
                continue
            if root_account:
                # Canvas only resolves trusted root accounts; the sandbox trusts none.
                continue
            user = users_by_integration.get(user_int) if user_int else users_by_sis.get(user_id)
            if user is None:
                warn(
                    name,
                    f"User not found for enrollment (User ID: {user_id or ''}, "
                    f"Course ID: {course_id or ''}, Section ID: {section_id or ''})",
                    lineno,
                    raw,
                )
                continue
            if course_id != last_course_id or section_id != last_section_id:
                last_course_id, last_section_id = course_id, section_id
                course, section, problem = self._enrollment_place(course_id, section_id)
            if problem is not None:
                warn(name, _place_message(problem, course_id, section_id, user_id), lineno, raw)
                continue
            assert course is not None
            assert section is not None
            type_code = role_types.get(role or "")
            if type_code is None:
                type_code = _enrollment_type(role)
            if type_code is None:
                warn(name, f'Improper role "{role or ""}" for an enrollment', lineno, raw)
                continue
            key: Any = user.id
            if type_code == OBSERVER and associated:
                observed = users_by_sis.get(associated)
                if observed is None:
                    warn(
                        name,
                        f"An enrollment referenced a non-existent associated user {associated}",
                        lineno,
                        raw,
                    )
                    continue
                key = (user.id, observed.id)
            members = section.enrollments.get(type_code)
            if members is None:
                members = section.enrollments[type_code] = {}
            before = members.get(key)
            if status_name == "active":
                if user.login_state != "deleted" and user.workflow_state != "deleted":
                    after = E_ACTIVE
                else:
                    after = E_DELETED
                    warn(
                        name,
                        f"Attempted enrolling of deleted user {user_id or ''} in course "
                        f"{course_id or ''}",
                        lineno,
                        raw,
                    )
            elif status_name == "completed":
                after = E_COMPLETED
            elif status_name == "inactive":
                after = E_INACTIVE
            elif status_name == "deleted_last_completed":
                after = (
                    E_DELETED
                    if _other_active(state, course, section, type_code, key)
                    else E_COMPLETED
                )
            else:
                after = E_DELETED
            if before is None:
                created += 1
            elif after == E_DELETED and before != E_DELETED:
                deleted += 1
            members[key] = after
            done += 1
        if created:
            self.statistics.setdefault("Enrollment", {})["created"] = (
                self.statistics.get("Enrollment", {}).get("created", 0) + created
            )
        if deleted:
            self.statistics.setdefault("Enrollment", {})["deleted"] = (
                self.statistics.get("Enrollment", {}).get("deleted", 0) + deleted
            )
        return done

    def _enrollment_place(
        self, course_id: str | None, section_id: str | None
    ) -> tuple[Course | None, Section | None, str | None]:
        """(course, section, problem) of an enrollment row, by Canvas's rules: a missing
        section means the course's default section, a section cross-listed away from the
        named course still counts as that course's."""
        state = self.state
        course = state.courses_by_sis.get(course_id) if course_id else None
        section = state.sections_by_sis.get(section_id) if section_id else None
        if course is None and section is None:
            return None, None, "neither"
        if section_id and section is None:
            return None, None, "no_section"
        if course_id and course is None:
            return None, None, "no_course"
        if section is None:
            assert course is not None
            section = state.default_section(course)
        if course is None or (
            course.id != section.course_id and section.nonxlist_course_id == course.id
        ):
            course = state.courses[section.course_id]
        if course.id != section.course_id:
            return None, None, "unrelated"
        return course, section, None

    # --- user observers --------------------------------------------------------------

    def _user_observer(self, source: CsvSource) -> int:
        state = self.state
        pick = _picker(source.header, ("observer_id", "student_id", "status"))
        done = 0
        for lineno, raw in self.locked_rows(source):
            observer_id, student_id, status = pick(raw)
            if not any((observer_id, student_id, status)):
                continue
            problem = None
            if not observer_id:
                problem = "No observer_id given for a user observer"
            elif not student_id:
                problem = "No user_id given for a user observer"
            elif student_id == observer_id:
                problem = f"Can't observe yourself user {student_id}"
            elif not status or status.lower() not in ("active", "deleted"):
                problem = f'Improper status "{status or ""}" for a user_observer'
            if problem:
                self.warn(source.name, problem, lineno, raw)
                continue
            assert observer_id is not None
            assert student_id is not None
            assert status is not None
            observer = state.users_by_sis.get(observer_id)
            if observer is None or observer.login_state != "active":
                self.warn(
                    source.name,
                    f"An observer referenced a non-existent user {observer_id}",
                    lineno,
                    raw,
                )
                continue
            student = state.users_by_sis.get(student_id)
            if student is None or student.login_state != "active":
                self.warn(
                    source.name,
                    f"A student referenced a non-existent user {student_id}",
                    lineno,
                    raw,
                )
                continue
            observed = state.observees.setdefault(observer.id, set())
            if status.lower() == "active":
                observed.add(student.id)
                for section in self._sections_of_student(student.id):
                    members = section.enrollments.setdefault(OBSERVER, {})
                    members[(observer.id, student.id)] = E_ACTIVE
                self.stat("UserObserver", "created")
            else:
                if student.id not in observed:
                    self.warn(
                        source.name,
                        f"Can't delete a non-existent observer for observer: {observer_id}, "
                        f"student: {student_id}",
                        lineno,
                        raw,
                    )
                    continue
                observed.discard(student.id)
                for section in self._sections_of_student(student.id):
                    members = section.enrollments.get(OBSERVER, {})
                    if (observer.id, student.id) in members:
                        members[(observer.id, student.id)] = E_DELETED
                self.stat("UserObserver", "deleted")
            done += 1
        return done

    def _sections_of_student(self, user_id: int) -> list[Section]:
        if self._student_sections is None:
            index: dict[int, list[Section]] = {}
            for section in self.state.sections.values():
                for student_id, state_code in section.enrollments.get(STUDENT, {}).items():
                    if state_code == E_ACTIVE:
                        index.setdefault(student_id, []).append(section)
            self._student_sections = index
        return self._student_sections.get(user_id, [])


def _place_message(
    problem: str, course_id: str | None, section_id: str | None, user_id: str | None
) -> str:
    course, section, user = course_id or "", section_id or "", user_id or ""
    if problem == "neither":
        return (
            "Neither course nor section existed for user enrollment "
            f"(Course ID: {course}, Section ID: {section}, User ID: {user})"
        )
    if problem == "no_section":
        return f"An enrollment referenced a non-existent section {section}"
    if problem == "no_course":
        return f"An enrollment referenced a non-existent course {course}"
    return (
        f"An enrollment listed a section ({section}) and a course ({course}) "
        f"that are unrelated for user ({user})"
    )


def _who(user: User) -> str:
    return f"SIS ID {user.sis_id}" if user.sis_id else f"Canvas ID {user.id}"


_ROLE_TYPES = {"student": STUDENT, "teacher": TEACHER, "ta": TA, "observer": OBSERVER}


def _enrollment_type(role: str | None) -> int | None:
    """Canvas's built-in role matching: ``teacher``/``ta``/``observer``/``designer`` exactly
    (any case), anything starting with ``student``."""
    if not role:
        return None
    known = _ROLE_TYPES.get(role)
    if known is not None:
        return known
    lowered = role.lower()
    if lowered == "teacher":
        return TEACHER
    if lowered.startswith("student"):
        return STUDENT
    if lowered == "ta":
        return TA
    if lowered == "observer":
        return OBSERVER
    if lowered == "designer":
        return DESIGNER
    return None


def _other_active(
    state: CanvasState, course: Course, section: Section, type_code: int, key: Any
) -> bool:
    for section_id in course.section_ids:
        other = state.sections[section_id]
        if other is section:
            continue
        if other.enrollments.get(type_code, {}).get(key) == E_ACTIVE:
            return True
    return False


def apply_sources(
    state: CanvasState,
    sources: list[CsvSource],
    *,
    options: ImportOptions | None = None,
    import_id: int | None = None,
    on_progress: Callable[[int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> ApplyResult:
    """Apply the sources to the state in Canvas's processing order."""
    run = _Apply(
        state,
        options or ImportOptions(),
        import_id=import_id,
        on_progress=on_progress,
        should_stop=should_stop,
    )
    return run.run(sources)


def sis_zip_apply(
    state: CanvasState,
    data: bytes,
    *,
    options: ImportOptions | None = None,
    extension: str = "zip",
    file_name: str = "upload",
) -> tuple[list[ImportMessage], ApplyResult]:
    """Read and apply an upload in the calling thread (no import record, no diffing).

    Returns the read-stage messages (file-level failures and warnings) and the result.
    """
    read = read_sis_upload(data, extension=extension, file_name=file_name)
    return read.messages, apply_sources(state, read.sources, options=options)


def messages_by_row(messages: Iterable[ImportMessage]) -> list[tuple[str | None, str, int | None]]:
    """(file, message, row) triples, handy in tests and the read-back control."""
    return [(m.file, m.message, m.row) for m in messages]


__all__ = [
    "IMPORTERS",
    "ApplyResult",
    "CsvSource",
    "ImportMessage",
    "ImportOptions",
    "apply_sources",
    "diff_sources",
    "importer_for",
    "parse_sis_date",
    "read_sis_upload",
    "sis_zip_apply",
]
