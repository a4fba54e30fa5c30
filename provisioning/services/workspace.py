"""A run's working tables: one PostgreSQL schema per run, dropped when the run ends.

The schema ``prov_run_<id>`` holds what one run read (``src_*``), what failed validation at
read time (``src_invalid``), the conflicts it found (``issues``), and its plan (``plan``).
A held run keeps its schema until it is approved (the plan is applied exactly as stored) or
discarded. Dropping a schema is instant however many rows it holds, so big runs leave no
bloat behind in shared tables.
"""

from __future__ import annotations

from django.db import connection

#: Columns of the ``src_*`` tables, per OneRoster collection, after ``sourced_id``,
#: ``status`` and ``date_last_modified``. The roster mirror tables use the same names.
SOURCE_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "orgs": (("name", "text"), ("type", "text"), ("identifier", "text"), ("parent", "text")),
    "academicSessions": (
        ("title", "text"),
        ("type", "text"),
        ("start_date", "date"),
        ("end_date", "date"),
        ("school_year", "text"),
        ("parent", "text"),
    ),
    "courses": (
        ("title", "text"),
        ("course_code", "text"),
        ("org", "text"),
        ("school_year", "text"),
    ),
    "classes": (
        ("title", "text"),
        ("class_code", "text"),
        ("class_type", "text"),
        ("course", "text"),
        ("school", "text"),
        ("terms", "text[]"),
    ),
    "users": (
        ("enabled_user", "boolean"),
        ("username", "text"),
        ("given_name", "text"),
        ("family_name", "text"),
        ("role", "text"),
        ("orgs", "text[]"),
        ("identifier", "text"),
        ("email", "text"),
        ("agents", "text[]"),
    ),
    "enrollments": (
        ("user_sid", "text"),
        ("class_sid", "text"),
        ("school", "text"),
        ("role", "text"),
        ("is_primary", "boolean"),
        ("begin_date", "date"),
        ("end_date", "date"),
    ),
}
COLLECTIONS = tuple(SOURCE_COLUMNS)

#: Short table names for the collections (``src_sessions`` rather than ``src_academicSessions``).
TABLE_NAMES = {
    "orgs": "orgs",
    "academicSessions": "sessions",
    "courses": "courses",
    "classes": "classes",
    "users": "users",
    "enrollments": "enrollments",
}
#: The roster mirror table of each collection.
MIRROR_TABLES = {
    "orgs": "provisioning_rosterorg",
    "academicSessions": "provisioning_rostersession",
    "courses": "provisioning_rostercourse",
    "classes": "provisioning_rosterclass",
    "users": "provisioning_rosteruser",
    "enrollments": "provisioning_rosterenrollment",
}


def field_names(collection: str) -> tuple[str, ...]:
    return tuple(name for name, _ in SOURCE_COLUMNS[collection])


# Fingerprints of rows, as 64-bit hashes of the typed values. PostgreSQL's extended hash
# functions are about six times cheaper than ``md5`` of the row's text form (2 M Canvas
# rows: 0.3 s against 1.9 s), and 64 bits make a missed change (two versions of one row with
# the same hash) a 1-in-10^19 event.


def content_hash_sql(collection: str) -> str:
    """SQL: the roster mirror's ``content_hash`` of a record's normalized fields."""
    return f"hash_record_extended(ROW({', '.join(field_names(collection))}), 0)"


def row_hash_sql(column: str) -> str:
    """SQL: the Canvas mirror's ``row_hash`` of a CSV row (a ``text[]`` column)."""
    return f"hash_array_extended({column}, 0)"


class Workspace:
    """Names and lifecycle of one run's schema. Every name is built from the run id (an
    integer) and constants, never from input, so it is safe to format into SQL."""

    def __init__(self, run_id: int) -> None:
        self.run_id = int(run_id)
        self.schema = f"prov_run_{self.run_id}"

    def src(self, collection: str) -> str:
        return f"{self.schema}.src_{TABLE_NAMES[collection]}"

    def table(self, name: str) -> str:
        return f"{self.schema}.{name}"

    def exists(self) -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [self.schema])
            return cursor.fetchone() is not None

    def create(self) -> None:
        """Create the schema and the source tables (replacing leftovers of a dead attempt).

        Every table of a run is unlogged: they take millions of rows per run and the next
        read rebuilds them anyway. PostgreSQL empties unlogged tables after a crash, so a
        held run checks ``intact`` before it is applied.
        """
        statements = [
            f"DROP SCHEMA IF EXISTS {self.schema} CASCADE",
            f"CREATE SCHEMA {self.schema}",
        ]
        for collection, columns in SOURCE_COLUMNS.items():
            cols = ", ".join(f"{name} {kind}" for name, kind in columns)
            statements.append(
                f"CREATE UNLOGGED TABLE {self.src(collection)} "
                '(sourced_id text COLLATE "C" NOT NULL, '
                f"status text NOT NULL, date_last_modified timestamptz, {cols})"
            )
        statements.append(
            f"CREATE UNLOGGED TABLE {self.table('src_invalid')} "
            "(collection text NOT NULL, sourced_id text NOT NULL, reasons text NOT NULL)"
        )
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)

    def intact(self, *, read: dict[str, int], planned: int) -> bool:
        """Whether the staged read and the plan survived: PostgreSQL empties unlogged tables
        after a crash. ``read``: records read per collection; ``planned``: plan rows."""
        with connection.cursor() as cursor:
            for collection, count in read.items():
                if not count:
                    continue
                cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {self.src(collection)})")  # noqa: S608
                if not cursor.fetchone()[0]:
                    return False
            cursor.execute(f"SELECT count(*) FROM {self.table('plan')}")  # noqa: S608
            return cursor.fetchone()[0] == planned

    def drop(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")
