"""Stage OneRoster records into a run's workspace with COPY.

Records arrive from the client as typed dataclasses, possibly interleaved across collections
(several collections are read at once). Each becomes one CSV line in a per-collection spool
file; at the end each file goes into its ``src_*`` table with one ``COPY``. Python never
holds more than one record, and the per-record work is a tuple and a C-level CSV write: the
same order of cost as parsing the record, which is what keeps a full run near the read floor.
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

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


def _ts(value: dt.datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def _date(value: dt.date | None) -> str:
    return value.isoformat() if value is not None else ""


def _bool(value: bool | None) -> str:
    if value is None:
        return ""
    return "t" if value else "f"


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
        _ts(r.date_last_modified),
        r.name,
        r.type,
        r.identifier,
        r.parent or "",
    )


def _session(r: AcademicSession) -> tuple[str, ...]:
    return (
        r.sourced_id,
        r.status,
        _ts(r.date_last_modified),
        r.title,
        r.type,
        r.start_date.isoformat(),
        r.end_date.isoformat(),
        r.school_year,
        r.parent or "",
    )


def _course(r: Course) -> tuple[str, ...]:
    return (
        r.sourced_id,
        r.status,
        _ts(r.date_last_modified),
        r.title,
        r.course_code,
        r.org,
        r.school_year or "",
    )


def _class(r: Class) -> tuple[str, ...]:
    return (
        r.sourced_id,
        r.status,
        _ts(r.date_last_modified),
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
        _ts(r.date_last_modified),
        _bool(r.enabled_user),
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
        _ts(r.date_last_modified),
        r.user,
        r.class_,
        r.school,
        r.role,
        _bool(r.primary),
        _date(r.begin_date),
        _date(r.end_date),
    )


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
    anomalies: list[PagingAnomaly] = field(default_factory=list)

    @property
    def incomplete(self) -> frozenset[str]:
        """Collections whose read did not add up: absence there means nothing."""
        return frozenset(a.collection for a in self.anomalies)

    @property
    def duplicated(self) -> frozenset[str]:
        return frozenset(a.collection for a in self.anomalies if a.kind == "duplicate_sourced_id")


class RosterStager:
    """Collects records into spool files, then loads them into the workspace.

    Use as a context manager: ``add()`` every item a OneRoster stream yields, then
    ``load()``. Records of collections provisioning does not use are ignored.
    """

    def __init__(self, workspace: Workspace, *, spool_dir: str | None = None) -> None:
        self.workspace = workspace
        self.result = StageResult()
        self._dir = Path(tempfile.mkdtemp(prefix=f"{workspace.schema}-", dir=spool_dir))
        self._files: dict[str, IO[str]] = {}
        self._writers: dict[str, Any] = {}
        for collection in (*COLLECTIONS, "invalid"):
            handle = (self._dir / f"{collection}.csv").open(
                "w", encoding="utf-8", errors="replace", newline=""
            )
            self._files[collection] = handle
            self._writers[collection] = csv.writer(handle, lineterminator="\n")

    def __enter__(self) -> RosterStager:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def add(self, item: object) -> None:
        converter = _CONVERTERS.get(type(item))
        if converter is not None:
            collection, convert = converter
            self._writers[collection].writerow(convert(item))
            self.result.counts[collection] += 1
        elif isinstance(item, InvalidRecord):
            self._add_invalid(item)
        elif isinstance(item, PagingAnomaly):
            self.result.anomalies.append(item)

    def _add_invalid(self, item: InvalidRecord) -> None:
        if item.collection not in self.result.invalid:
            return
        self.result.invalid[item.collection] += 1
        self._writers["invalid"].writerow(
            (item.collection, item.sourced_id or "", "; ".join(item.reasons)[:2000])
        )

    def load(self) -> StageResult:
        """COPY every spool file into its table; drop duplicate sourcedIds where the read
        reported them (the last copy read wins)."""
        for handle in self._files.values():
            handle.close()
        with connection.cursor() as cursor:
            for collection in COLLECTIONS:
                names = ["sourced_id", "status", "date_last_modified"]
                names += [name for name, _ in SOURCE_COLUMNS[collection]]
                text = [n for n, kind in SOURCE_COLUMNS[collection] if kind == "text"]
                self._copy(
                    cursor,
                    self.workspace.src(collection),
                    names,
                    ["sourced_id", "status", *text],
                    self._dir / f"{collection}.csv",
                )
            self._copy(
                cursor,
                self.workspace.table("src_invalid"),
                ["collection", "sourced_id", "reasons"],
                ["collection", "sourced_id", "reasons"],
                self._dir / "invalid.csv",
            )
            for collection in self.result.duplicated:
                table = self.workspace.src(collection)
                cursor.execute(
                    f"DELETE FROM {table} a USING {table} b "  # noqa: S608 - a constant name
                    "WHERE a.sourced_id = b.sourced_id AND a.ctid < b.ctid"
                )
        return self.result

    @staticmethod
    def _copy(cursor: Any, table: str, columns: list[str], not_null: list[str], path: Path) -> None:
        statement = (
            f"COPY {table} ({', '.join(columns)}) FROM STDIN "
            f"WITH (FORMAT csv, FORCE_NOT_NULL ({', '.join(not_null)}))"
        )
        with path.open("r", encoding="utf-8") as source, cursor.copy(statement) as copy:
            while chunk := source.read(_COPY_CHUNK):
                # PostgreSQL text cannot hold NUL; it has no meaning in roster data anyway.
                copy.write(chunk.replace("\x00", ""))

    def close(self) -> None:
        for handle in self._files.values():
            if not handle.closed:
                handle.close()
        shutil.rmtree(self._dir, ignore_errors=True)
