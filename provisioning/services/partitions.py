"""Per-district partitions of the mirrors: build a district's next partition, swap it in.

The mirror tables are partitioned by district (migration 0005). Writing millions of rows one
at a time into a primary key index costs about twice what loading a fresh table and building
its index with one sort does (large district, 2.65 M Canvas rows: 19.8 s against 5.7 s of
load and 5.7 s of index build). So a run that rewrites a district's mirror, or most of it,
builds the district's next partition inside the apply transaction (while Canvas imports)
and swaps it in just before that transaction commits:

- ``PendingSwaps.build``: ``<table>_d<district>_next``, loaded by one ``INSERT … SELECT``,
  its primary key built, and a CHECK on the district so that attaching it skips the scan;
- ``PendingSwaps.swap``: the district's current partition is dropped (a district still in
  the default partition has its rows deleted there), the next one takes its name and is
  attached.

Dropping a partition locks the whole mirror table (every district) until the commit, so the
swap is the last step of an accepted import: the lock lasts milliseconds. A rollback at any
point leaves the current partition as it was, and the next one never existed.
"""

# Table names are constants of ``MIRROR_TABLES``/``CANVAS_TABLE`` plus an integer district
# id; values are bound parameters.
# ruff: noqa: S608

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CANVAS_TABLE = "provisioning_canvasrow"
#: Primary key columns after ``district_id``.
CANVAS_KEY = ("file", "key")
ROSTER_KEY = ("sourced_id",)
# The primary key of a next partition is built in memory (a large district's Canvas mirror
# sorts about 400 MB of keys).
_MAINTENANCE_WORK_MEM = "512MB"


def partition_name(table: str, district_id: int) -> str:
    return f"{table}_d{int(district_id)}"


def partition_of(cursor: Any, table: str, district_id: int) -> str:
    """The partition that holds a district's rows: its own, or the default one."""
    own = partition_name(table, district_id)
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [own])
    return own if cursor.fetchone()[0] else f"{table}_default"


@dataclass
class PendingSwaps:
    """The next partitions one apply transaction built, swapped in at its end."""

    district_id: int
    tables: list[str] = field(default_factory=list)
    #: Tables whose partition of the district was swapped in (and analyzed) already.
    swapped: list[str] = field(default_factory=list)

    def next_name(self, table: str) -> str:
        return f"{partition_name(table, self.district_id)}_next"

    def current(self, table: str) -> str:
        """Where ``table``'s rows of the district are until the swap (corrections go there)."""
        return self.next_name(table) if table in self.tables else table

    def build(self, cursor: Any, *, table: str, key: tuple[str, ...], insert: str, params: Any):
        """Create and load the next partition: ``insert`` is ``(columns) SELECT …``."""
        target = self.next_name(table)
        cursor.execute(f"SET LOCAL maintenance_work_mem = '{_MAINTENANCE_WORK_MEM}'")
        cursor.execute(f"CREATE TABLE {target} (LIKE {table} INCLUDING DEFAULTS)")
        # The CHECK before the rows: added to an empty table it costs nothing, while added
        # after them it scans them all (large district: 1.5 s over the three mirrors).
        cursor.execute(
            f"ALTER TABLE {target} ADD CONSTRAINT {target}_district "
            f"CHECK (district_id = {int(self.district_id)})"
        )
        cursor.execute(f"INSERT INTO {target} {insert}", params)
        columns = ", ".join(("district_id", *key))
        cursor.execute(f"ALTER TABLE {target} ADD CONSTRAINT {target}_pk PRIMARY KEY ({columns})")
        # Statistics for the next planning, gathered while Canvas still imports (they stay
        # with the table through the swap) instead of after the commit: row counts and the
        # key, which its joins use; every column's (arrays among them) costs three times more.
        cursor.execute(f"ANALYZE {target} ({columns})")
        self.tables.append(table)

    def swap(self, cursor: Any) -> None:
        for table in self.tables:
            target, own = self.next_name(table), partition_name(table, self.district_id)
            if partition_of(cursor, table, self.district_id) == own:
                cursor.execute(f"DROP TABLE {own}")
            else:
                cursor.execute(
                    f"DELETE FROM {table}_default WHERE district_id = %s", [self.district_id]
                )
            cursor.execute(f"ALTER TABLE {target} RENAME TO {own}")
            cursor.execute(f"ALTER TABLE {own} RENAME CONSTRAINT {target}_pk TO {own}_pk")
            cursor.execute(
                f"ALTER TABLE {own} RENAME CONSTRAINT {target}_district TO {own}_district"
            )
            cursor.execute(
                f"ALTER TABLE {table} ATTACH PARTITION {own} "
                f"FOR VALUES IN ({int(self.district_id)})"
            )
        self.swapped += self.tables
        self.tables.clear()
