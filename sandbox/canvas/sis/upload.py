"""Reading a SIS upload as Canvas does (``lib/sis/csv/*``): which importer a CSV belongs to.

* a file's type comes from its header row (downcased, BOM allowed), the first importer in
  Canvas's order whose identifying columns are present; no match fails the file with
  "Couldn't find Canvas CSV import headers";
* every file is checked before anything is applied: invalid UTF-8 ("Invalid UTF-8") and
  malformed CSV ("Malformed CSV") fail that file, non-``.csv`` files are skipped with a
  warning, ``__MACOSX``/dot-files are ignored;
* row numbers are 1-based and count the header; blank rows are skipped.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO

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


#: The columns that identify an importer whose rule is "all of these are present".
_IDENTIFYING = {
    "account": ("account_id", "parent_account_id"),
    "term": ("term_id", "name"),
    "abstract_course": ("abstract_course_id", "short_name"),
    "course": ("course_id", "short_name"),
    "section": ("section_id", "name"),
    "xlist": ("xlist_course_id", "section_id"),
    "admin": ("account_id", "user_id"),
    "group_category": ("group_category_id", "category_name"),
    "group": ("group_id", "name"),
    "group_membership": ("group_id", "user_id"),
    "differentiation_tag_set": ("tag_set_id", "set_name"),
    "differentiation_tag": ("tag_id", "tag_set_id", "name"),
    "differentiation_tag_membership": ("tag_id", "user_id"),
    "grade_publishing_results": ("enrollment_id", "grade_publishing_status"),
    "user_observer": ("observer_id", "student_id"),
}


def _detects(kind: str, h: frozenset[str]) -> bool:
    if kind == "change_sis_id":
        return "old_id" in h or "old_integration_id" in h
    if kind in ("user", "login"):
        # One header shape; an ``existing_*`` column makes it a login file.
        is_login = bool(h & _LOGIN_MARKERS)
        return "user_id" in h and "login_id" in h and is_login == (kind == "login")
    if kind == "enrollment":
        return ("section_id" in h or "course_id" in h) and (
            "user_id" in h or "user_integration_id" in h
        )
    return h.issuperset(_IDENTIFYING[kind])


def importer_for(header: Sequence[str]) -> str | None:
    """The importer type a header row selects, or None ("Couldn't find ... headers")."""
    names = frozenset(header)
    return next((kind for kind in IMPORTERS if _detects(kind, names)), None)


MSG_NO_HEADERS = "Couldn't find Canvas CSV import headers"


MSG_INVALID_UTF8 = "Invalid UTF-8"


MSG_MALFORMED = "Malformed CSV"

MSG_UNKNOWN_FILE = "Skipping unknown file type"

MSG_NOT_SIMULATED = "The sandbox does not simulate {kind} imports; {rows} rows were not applied"

_IGNORED_PATH = re.compile(r"__macosx|desktop\.in[if]|thumbs\.db|(^|/)\.", re.IGNORECASE)


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
class ReadResult:
    sources: list[CsvSource] = field(default_factory=list)
    messages: list[ImportMessage] = field(default_factory=list)
    uncompressed_size: int = 0


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
