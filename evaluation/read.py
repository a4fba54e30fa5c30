"""Read both sides of an evaluation into the run's working schema.

The OneRoster side goes through provisioning's ``RosterStager`` (spool file, one ``COPY``
per collection), so 320,000 users never sit in Python at once. The Canvas side is spooled
the same way: one CSV line per user, course and section as the pages arrive.
"""

from __future__ import annotations

import csv
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from django.db import connection

from provisioning.services.stage import RosterStager, StageResult

if TYPE_CHECKING:
    from integration.canvas.client import CanvasClient
    from integration.oneroster.client import OneRosterClient
    from provisioning.services.workspace import Workspace

#: OneRoster collections an evaluation needs: schools for names, classes and courses for
#: Canvas courses and sections, users.
SOURCE_COLLECTIONS = ("orgs", "courses", "classes", "users")
#: Canvas tables in the workspace and their columns (all text but the ids).
CANVAS_TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "cv_users": (
        ("canvas_id", "bigint"),
        ("sis_id", "text"),
        ("login", "text"),
        ("email", "text"),
        ("name", "text"),
    ),
    "cv_courses": (
        ("canvas_id", "bigint"),
        ("sis_id", "text"),
        ("login", "text"),
        ("email", "text"),
        ("name", "text"),
    ),
    "cv_sections": (
        ("canvas_id", "bigint"),
        ("sis_id", "text"),
        ("course_canvas_id", "bigint"),
        ("name", "text"),
    ),
}
#: Courses whose sections are listed per batch (Canvas has no account-wide section list).
SECTION_BATCH = 300
#: Section lists in flight at once; the Canvas client paces itself within this.
SECTION_WORKERS = 3
_HEARTBEAT_STRIDE = 5_000
_COPY_CHUNK = 1 << 20


@dataclass
class CanvasCounts:
    users: int = 0
    courses: int = 0
    sections: int = 0
    courses_with_sis_id: list[int] = field(default_factory=list)


def source_read(
    *, ws: Workspace, client: OneRosterClient, heartbeat: Callable[[], None]
) -> StageResult:
    """Stream the OneRoster collections an evaluation needs into ``ws.src_*``."""
    requests = [(collection, None) for collection in SOURCE_COLLECTIONS]
    # No heartbeat inside: the stager may hold a COPY open on this connection. A read of
    # the largest district takes minutes, well within the reaper's patience.
    with RosterStager(ws) as stager:
        for _, items in client.stream_pages(requests):
            stager.add_page(items)
        result = stager.load()
    heartbeat()
    return result


def _text(value: Any) -> str:
    # Empty means NULL in the COPY below: an absent SIS id must not match another absent one.
    return "" if value is None else str(value).replace("\x00", "")


class _Spool:
    """CSV spool files for the Canvas tables, loaded with one ``COPY`` each."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.dir = Path(tempfile.mkdtemp(prefix=f"{ws.schema}-canvas-"))
        self.handles: dict[str, IO[str]] = {}
        self.writers: dict[str, Any] = {}
        for name in CANVAS_TABLES:
            handle = (self.dir / f"{name}.csv").open("w", encoding="utf-8", newline="")
            self.handles[name] = handle
            self.writers[name] = csv.writer(handle, lineterminator="\n")

    def write(self, name: str, row: Iterable[Any]) -> None:
        self.writers[name].writerow([_text(v) for v in row])

    def load(self) -> None:
        for handle in self.handles.values():
            handle.close()
        with connection.cursor() as cursor:
            for name, columns in CANVAS_TABLES.items():
                table = self.ws.table(name)
                cols = ", ".join(f"{column} {kind}" for column, kind in columns)
                cursor.execute(f"CREATE TABLE {table} ({cols})")
                statement = (
                    f"COPY {table} ({', '.join(c for c, _ in columns)}) FROM STDIN "
                    "WITH (FORMAT csv)"
                )
                path = self.dir / f"{name}.csv"
                with path.open(encoding="utf-8") as source, cursor.copy(statement) as copy:
                    while chunk := source.read(_COPY_CHUNK):
                        copy.write(chunk)
                cursor.execute(f"ANALYZE {table}")

    def close(self) -> None:
        for handle in self.handles.values():
            if not handle.closed:
                handle.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def _batches(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def canvas_read(
    *, ws: Workspace, client: CanvasClient, account_id: str, heartbeat: Callable[[], None]
) -> CanvasCounts:
    """Users, courses and (for courses with an SIS id) sections of the Canvas account into
    ``ws.cv_*``. Sections of courses without an SIS id are not SIS data and are skipped."""
    counts = CanvasCounts()
    spool = _Spool(ws)
    try:
        for user in client.list_account_users(account_id):
            spool.write(
                "cv_users",
                (
                    user.get("id"),
                    user.get("sis_user_id"),
                    user.get("login_id"),
                    user.get("email"),
                    user.get("name"),
                ),
            )
            counts.users += 1
            if counts.users % _HEARTBEAT_STRIDE == 0:
                heartbeat()
        heartbeat()
        for course in client.list_account_courses(account_id):
            spool.write(
                "cv_courses",
                (
                    course.get("id"),
                    course.get("sis_course_id"),
                    course.get("course_code"),
                    None,
                    course.get("name"),
                ),
            )
            counts.courses += 1
            if course.get("sis_course_id"):
                counts.courses_with_sis_id.append(int(course["id"]))
        heartbeat()
        with ThreadPoolExecutor(max_workers=SECTION_WORKERS) as pool:
            for batch in _batches(counts.courses_with_sis_id, SECTION_BATCH):
                for sections in pool.map(lambda cid: list(client.list_sections(cid)), batch):
                    for section in sections:
                        spool.write(
                            "cv_sections",
                            (
                                section.get("id"),
                                section.get("sis_section_id"),
                                section.get("course_id"),
                                section.get("name"),
                            ),
                        )
                        counts.sections += 1
                heartbeat()
        spool.load()
    finally:
        spool.close()
    return counts
