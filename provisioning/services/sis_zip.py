"""Build the Canvas SIS CSV zip of a stored plan, and map Canvas's row numbers back to it.

Rows stream from PostgreSQL (``COPY … TO STDOUT``) straight into the zip member, so a
2-million-row enrollments file never exists in Python memory. Each file's rows come out in
a fixed order (by object key), which is what lets ``sis_zip_rows_locate`` turn Canvas's
"file, row" error references back into the objects they came from.

Two phases: ``main`` carries every create, update, keep and drop except term retirements;
``retire`` carries those, sent once the main import has moved courses off the old terms.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

from django.db import connection
from psycopg import sql

from provisioning.mapping import (
    CHANGE_SIS_ID,
    FILES,
    RETIRE_AFTER_MAIN,
    UNSENT_DROPS,
    CsvFile,
    drop_status,
)

if TYPE_CHECKING:
    from pathlib import Path

    from provisioning.services.workspace import Workspace
    from tenants.models import District

MAIN = "main"
RETIRE = "retire"
# Deflate level 1: on SIS CSVs it is about four times faster than zlib's default (6) and
# compresses about as well (measured: 11 MB of enrollments → 2.2 MB at 1, 2.1 MB at 6).
_COMPRESSLEVEL = 1
_BLOCK = 1 << 20


@dataclass(frozen=True, slots=True)
class ZipManifest:
    """What went into a zip: data rows per file name (e.g. ``{"users.csv": 120}``)."""

    rows: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.rows.values())

    def describe(self) -> str:
        """``1,283 rows: 3 in accounts.csv, 1,280 in users.csv`` (or ``no rows``)."""
        if not self.total:
            return "no rows"
        files = ", ".join(f"{n:,} in {name}" for name, n in self.rows.items() if n)
        return f"{self.total:,} row{'s' if self.total != 1 else ''}: {files}"


def _status_expr(district: District, file: CsvFile, index: int) -> sql.Composable:
    cases = [
        sql.SQL("WHEN action = 'drop' THEN {}").format(
            sql.Literal(drop_status(district, file.name))
        )
    ]
    if file.name == "courses" and district.publish_courses_on_create:
        cases.append(sql.SQL("WHEN action = 'create' THEN 'published'"))
    return sql.SQL("CASE {} ELSE row[{}] END").format(sql.SQL(" ").join(cases), sql.Literal(index))


def _rows_query(ws: Workspace, district: District, file_name: str, phase: str) -> sql.Composed:
    """``key, part, <csv columns>`` of one file in one phase, in file order."""
    plan = sql.SQL(ws.table("plan"))
    if file_name == CHANGE_SIS_ID.name:
        # A user whose Canvas user id changed (a switch of the user id source) keeps its
        # Canvas account: Canvas renames the SIS id first, then the users file updates it.
        query = sql.SQL(
            "SELECT key, 1 AS part, prev_row[1], row[1], 'user' FROM {plan} "
            "WHERE file = 'users' AND action = 'update' AND prev_row[1] <> row[1]"
        ).format(plan=plan)
    else:
        query = _data_rows_query(plan, district, file_name, phase)
    return sql.SQL("SELECT * FROM ({query}) x ORDER BY key, part").format(query=query)


def _data_rows_query(
    plan: sql.Composable, district: District, file_name: str, phase: str
) -> sql.Composed:
    file = FILES[file_name]
    columns = [
        _status_expr(district, file, i)
        if name == "status"
        else sql.SQL("row[{}]").format(sql.Literal(i))
        for i, name in enumerate(file.columns, start=1)
    ]
    if phase == RETIRE:
        where = sql.SQL("action = 'drop'") if file_name in RETIRE_AFTER_MAIN else sql.SQL("FALSE")
    elif file_name in UNSENT_DROPS | RETIRE_AFTER_MAIN:
        where = sql.SQL("action <> 'drop'")
    else:
        where = sql.SQL("TRUE")
    query = sql.SQL(
        "SELECT key, 1 AS part, {cols} FROM {plan} WHERE file = {file} AND {where}"
    ).format(cols=sql.SQL(", ").join(columns), plan=plan, file=sql.Literal(file_name), where=where)
    if file_name == "enrollments" and phase == MAIN:
        # Canvas identifies an enrollment by course, section, user and role: if the role or
        # section changed, the old enrollment is ended explicitly beside the new one. Its
        # user is named by the current id: change_sis_id (processed first) renamed the user.
        old_status = sql.Literal(drop_status(district, "enrollments"))
        query = sql.SQL(
            "{query} UNION ALL SELECT key, 0, prev_row[1], prev_row[2], row[3], "
            "prev_row[4], {old_status} FROM {plan} WHERE file = 'enrollments' "
            "AND action = 'update' AND (prev_row[1], prev_row[2], prev_row[4]) "
            "IS DISTINCT FROM (row[1], row[2], row[4])"
        ).format(query=query, old_status=old_status, plan=plan)
    return query


def _member(archive: zipfile.ZipFile, file: CsvFile) -> IO[bytes]:
    """Open a file in the zip and write its header (only once it has a row)."""
    member = archive.open(file.filename, "w", force_zip64=True)
    member.write((",".join(file.columns) + "\n").encode())
    return member


def _phase_files(phase: str) -> list[CsvFile]:
    if phase == RETIRE:
        return [FILES[name] for name in FILES if name in RETIRE_AFTER_MAIN]
    return [CHANGE_SIS_ID, *FILES.values()]


def sis_zip_build(*, ws: Workspace, district: District, phase: str, path: Path) -> ZipManifest:
    """Write the zip of ``phase`` to ``path``; files without rows are left out."""
    rows: dict[str, int] = {}
    with (
        zipfile.ZipFile(
            path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=_COMPRESSLEVEL
        ) as archive,
        connection.cursor() as cursor,
    ):
        cursor.execute("SET work_mem = '256MB'")
        for file in _phase_files(phase):
            names = [sql.Identifier(f"c{i}") for i in range(1, len(file.columns) + 1)]
            copy = sql.SQL(
                "COPY (SELECT {columns} FROM ({query}) q({names})) TO STDOUT WITH (FORMAT csv)"
            ).format(
                columns=sql.SQL(", ").join(names),
                query=_rows_query(ws, district, file.name, phase),
                names=sql.SQL(", ").join([sql.Identifier("key"), sql.Identifier("part"), *names]),
            )
            member = None
            # COPY hands over one row at a time; the zip stream is fed in large blocks.
            buffer = bytearray()
            with cursor.copy(_render(copy)) as stream:
                for block in stream:
                    buffer += block
                    if len(buffer) >= _BLOCK:
                        member = member or _member(archive, file)
                        member.write(buffer)
                        buffer.clear()
            if buffer:
                member = member or _member(archive, file)
                member.write(buffer)
            if member is not None:
                member.close()
                rows[file.filename] = cursor.rowcount
        cursor.execute("RESET work_mem")
    return ZipManifest(rows=rows)


def sis_zip_rows_locate(
    *, ws: Workspace, district: District, phase: str, filename: str, rows: list[int]
) -> dict[int, str]:
    """Canvas row numbers (1-based, the header is row 1) of ``filename`` → plan keys."""
    name = filename.rsplit("/", 1)[-1].removesuffix(".csv")
    if name != CHANGE_SIS_ID.name and name not in FILES:
        return {}
    query = _rows_query(ws, district, name, phase)
    located = sql.SQL(
        "SELECT line, key FROM (SELECT key, row_number() OVER (ORDER BY key, part) + 1 AS line "
        "FROM ({query}) q) n "
        "WHERE line = ANY({rows})"
    ).format(query=query, rows=sql.Literal(sorted(set(rows))))
    with connection.cursor() as cursor:
        cursor.execute(_render(located))
        return dict(cursor.fetchall())


def _render(query: sql.Composable) -> str:
    """Composed SQL as text (Django's cursor wrappers log and pass plain strings)."""
    connection.ensure_connection()
    return query.as_string(connection.connection)
