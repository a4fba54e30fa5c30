"""Stage OneRoster records into a run's workspace with COPY, while they are read.

Records arrive from the client a page at a time. Each becomes one CSV line, written by the
C-level CSV writer for the whole page, into a small buffer that goes into an open ``COPY``
every megabyte. Python holds a megabyte of lines at most, and PostgreSQL (another process,
another core) ingests while the client is still reading.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from integration.oneroster.records import (
    AcademicSession,
    Class,
    Course,
    Enrollment,
    InvalidRecord,
    Org,
    PagingAnomaly,
    User,
)
from provisioning.services.workspace import COLLECTIONS, SOURCE_COLUMNS, Workspace

_COPY_CHUNK = 1 << 20
#: Distinct validation reasons kept per collection for the run's summary and guard.
FIRST_REASONS = 3


class _IsoText(dict):
    """``isoformat()`` per distinct value, computed once. The client shares one date or
    timestamp object among the records that carry the same value, and a full read has
    millions of records but few distinct values, so this is a dictionary hit per field.
    (Equal instants written with different offsets share one text: the columns are
    ``timestamptz``, so they store the same value either way.)"""

    LIMIT = 200_000

    def __missing__(self, value: dt.date | None) -> str:
        if len(self) >= self.LIMIT:
            self.clear()
        text = "" if value is None else value.isoformat()
        self[value] = text
        return text


_TS = _IsoText()
_DATE = _IsoText()
_BOOL = {None: "", True: "t", False: "f"}


def pg_array(values: tuple[str, ...]) -> str:
    """A PostgreSQL text-array literal with every element quoted (ids may hold commas)."""
    if not values:
        return "{}"
    quoted = (v.replace("\\", "\\\\").replace('"', '\\"') for v in values)
    return '{"' + '","'.join(quoted) + '"}'


def _org(r: Org) -> tuple[str, ...]:
    return (
        r.sourced_id,
        r.status,
        _TS[r.date_last_modified],
        r.name,
        r.type,
        r.identifier,
        r.parent or "",
    )


def _session(r: AcademicSession) -> tuple[str, ...]:
    return (
        r.sourced_id,
        r.status,
        _TS[r.date_last_modified],
        r.title,
        r.type,
        _DATE[r.start_date],
        _DATE[r.end_date],
        r.school_year,
        r.parent or "",
    )


def _course(r: Course) -> tuple[str, ...]:
    return (
        r.sourced_id,
        r.status,
        _TS[r.date_last_modified],
        r.title,
        r.course_code,
        r.org,
        r.school_year or "",
    )


def _class(r: Class) -> tuple[str, ...]:
    return (
        r.sourced_id,
        r.status,
        _TS[r.date_last_modified],
        r.title,
        r.class_code,
        r.class_type,
        r.course,
        r.school,
        pg_array(r.terms),
    )


def _user(r: User) -> tuple[str, ...]:
    return (
        r.sourced_id,
        r.status,
        _TS[r.date_last_modified],
        _BOOL[r.enabled_user],
        r.username,
        r.given_name,
        r.family_name,
        r.role,
        pg_array(r.orgs),
        r.identifier,
        r.email,
        pg_array(r.agents),
    )


def _enrollment(r: Enrollment) -> tuple[str, ...]:
    return (
        r.sourced_id,
        r.status,
        _TS[r.date_last_modified],
        r.user,
        r.class_,
        r.school,
        r.role,
        _BOOL[r.primary],
        _DATE[r.begin_date],
        _DATE[r.end_date],
    )


def _enrollment_line(r: Enrollment) -> str:
    # The same fields as ``_enrollment`` as one CSV line, without quoting: 4-5 times
    # cheaper than the csv module for millions of enrollments. Only ids can hold a
    # character that needs quoting; ``_plain_csv`` checks the page and the csv module
    # writes it instead if one does.
    return (
        f"{r.sourced_id},{r.status},{_TS[r.date_last_modified]},{r.user},{r.class_},"
        f"{r.school},{r.role},{_BOOL[r.primary]},{_DATE[r.begin_date]},{_DATE[r.end_date]}\n"
    )


def _plain_csv(text: str, rows: int, columns: int) -> bool:
    """Whether ``text`` is ``rows`` CSV lines of ``columns`` fields that needed no quoting."""
    return (
        text.count(",") == rows * (columns - 1)
        and text.count("\n") == rows
        and '"' not in text
        and "\r" not in text
    )


#: Line builders for the collections big enough to need one (see ``_enrollment_line``).
_LINES: dict[type, tuple[Callable[[Any], str], int]] = {Enrollment: (_enrollment_line, 10)}


def _plain_lines(kind: type, items: Sequence[object]) -> str | None:
    """A page as CSV lines built without the csv module, or ``None`` where there is no line
    builder for ``kind`` or a field of the page needs quoting."""
    builder = _LINES.get(kind)
    if builder is None:
        return None
    build, columns = builder
    text = "".join(map(build, items))
    return text if _plain_csv(text, len(items), columns) else None


_CONVERTERS: dict[type, tuple[str, Callable[[Any], tuple[str, ...]]]] = {
    Org: ("orgs", _org),
    AcademicSession: ("academicSessions", _session),
    Course: ("courses", _course),
    Class: ("classes", _class),
    User: ("users", _user),
    Enrollment: ("enrollments", _enrollment),
}


@dataclass
class StageResult:
    """What a read staged: records per collection, invalid records, paging anomalies."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COLLECTIONS, 0))
    invalid: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COLLECTIONS, 0))
    # The first distinct validation reasons of each collection, for a person to read.
    invalid_reasons: dict[str, list[str]] = field(default_factory=dict)
    anomalies: list[PagingAnomaly] = field(default_factory=list)

    @property
    def incomplete(self) -> frozenset[str]:
        """Collections whose read did not add up: absence there means nothing."""
        return frozenset(a.collection for a in self.anomalies)

    @property
    def duplicated(self) -> frozenset[str]:
        return frozenset(a.collection for a in self.anomalies if a.kind == "duplicate_sourced_id")


class RosterStager:
    """Streams records into the workspace's ``src_*`` tables while they are being read.

    Use as a context manager: ``add()`` every item a OneRoster stream yields, then
    ``load()``. Records become CSV lines in a small buffer that is flushed into an open
    ``COPY`` of their collection, so PostgreSQL ingests while the client is still reading.
    Streams yield collection after collection; should one come back later, a new ``COPY``
    appends to its table. Records of collections provisioning does not use are ignored.
    """

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.result = StageResult()
        self._invalid: list[tuple[str, str, str]] = []
        self._cursor: Any = None
        self._copy: Any = None
        self._copy_context: Any = None
        self._current: str | None = None
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator="\n")

    def __enter__(self) -> RosterStager:
        self._cursor = connection.cursor()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._copy_context is not None:
            # Leaving a COPY with an exception makes PostgreSQL abandon it.
            self._copy_context.__exit__(*exc_info)
            self._copy_context = self._copy = None
        self._cursor.close()

    def add(self, item: object) -> None:
        """One item of a stream: a record, an invalid record or a paging anomaly."""
        self.add_page((item,))

    def add_page(self, items: Sequence[object]) -> None:
        """A page of a stream (``OneRosterClient.stream_pages``). A page of one record type,
        the usual case, is converted in one pass without a step per record here."""
        if not items:
            return
        kind = type(items[0])
        converter = _CONVERTERS.get(kind)
        if converter is not None and set(map(type, items)) == {kind}:
            collection, convert = converter
            if collection != self._current:
                self._switch(collection)
            text = _plain_lines(kind, items)
            if text is not None:
                self._buffer.write(text)
            else:
                self._writer.writerows(map(convert, items))
            self.result.counts[collection] += len(items)
            if self._buffer.tell() > _COPY_CHUNK:
                self._flush()
            return
        for item in items:
            converter = _CONVERTERS.get(type(item))
            if converter is not None:
                self.add_page((item,))
            elif isinstance(item, InvalidRecord):
                if item.collection in self.result.invalid:
                    self.result.invalid[item.collection] += 1
                    reasons = "; ".join(item.reasons)[:2000]
                    self._invalid.append((item.collection, item.sourced_id or "", reasons))
                    self._keep_first_reasons(item)
            elif isinstance(item, PagingAnomaly):
                self.result.anomalies.append(item)

    def _keep_first_reasons(self, item: InvalidRecord) -> None:
        first = self.result.invalid_reasons.setdefault(item.collection, [])
        for reason in item.reasons:
            if len(first) >= FIRST_REASONS:
                return
            if reason not in first:
                first.append(reason)

    def _flush(self) -> None:
        # PostgreSQL text cannot hold NUL; it has no meaning in roster data anyway.
        self._copy.write(self._buffer.getvalue().replace("\x00", ""))
        self._buffer.seek(0)
        self._buffer.truncate()

    def _switch(self, collection: str | None) -> None:
        if self._copy_context is not None:
            self._flush()
            self._copy_context.__exit__(None, None, None)
            self._copy_context = self._copy = None
        self._current = collection
        if collection is None:
            return
        columns = ["sourced_id", "status", "date_last_modified"]
        columns += [name for name, _ in SOURCE_COLUMNS[collection]]
        text = [n for n, kind in SOURCE_COLUMNS[collection] if kind == "text"]
        statement = (
            f"COPY {self.workspace.src(collection)} ({', '.join(columns)}) FROM STDIN "
            f"WITH (FORMAT csv, FORCE_NOT_NULL ({', '.join(['sourced_id', 'status', *text])}))"
        )
        self._copy_context = self._cursor.copy(statement)
        self._copy = self._copy_context.__enter__()

    def checkpoint(self) -> None:
        """End the open ``COPY`` so the connection can run other statements; the next record
        starts a new one."""
        self._switch(None)

    def load(self) -> StageResult:
        """Finish the last ``COPY``, store the invalid records, and drop duplicate sourcedIds
        where the read reported them (the last copy read wins)."""
        self._switch(None)
        cursor = self._cursor
        with cursor.copy(
            f"COPY {self.workspace.table('src_invalid')} (collection, sourced_id, reasons) "
            "FROM STDIN"
        ) as copy:
            for row in self._invalid:
                copy.write_row(row)
        for collection in self.result.duplicated:
            table = self.workspace.src(collection)
            cursor.execute(
                f"DELETE FROM {table} a USING {table} b "  # noqa: S608 - a constant name
                "WHERE a.sourced_id = b.sourced_id AND a.ctid < b.ctid"
            )
        # Fresh tables have no statistics; planning millions of rows on guesses picks
        # nested loops where hash joins belong.
        for collection in COLLECTIONS:
            cursor.execute(f"ANALYZE {self.workspace.src(collection)}")
        return self.result
