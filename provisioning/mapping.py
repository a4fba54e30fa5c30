"""OneRoster → Canvas SIS CSV mapping (DESIGN §5): the files, their columns, and the
per-district choices that shape them.

The projection itself is set-based SQL in ``provisioning.services.plan``; this module holds
what that SQL and the zip builder share: column orders, which OneRoster roles become which
Canvas roles, which user roles are provisioned at all, and how a drop is written per file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tenants.models import District


@dataclass(frozen=True, slots=True)
class CsvFile:
    """One Canvas SIS CSV file: its fixed name, columns, and the position of ``status``."""

    name: str
    columns: tuple[str, ...]
    object_type: str  # the OneRoster object a row comes from (conflicts name it)

    @property
    def filename(self) -> str:
        return f"{self.name}.csv"

    @property
    def status_index(self) -> int:
        """1-based, as PostgreSQL arrays count."""
        return self.columns.index("status") + 1


# Processing order in Canvas is fixed by type (canvas.md §1.3); this order is the zip's and
# the plan summary's. Columns never include one that would make Canvas pick another
# importer (e.g. no ``name`` in enrollments, no ``short_name`` in sections).
FILES: dict[str, CsvFile] = {
    f.name: f
    for f in (
        CsvFile("accounts", ("account_id", "parent_account_id", "name", "status"), "org"),
        CsvFile("terms", ("term_id", "name", "status", "start_date", "end_date"), "session"),
        CsvFile(
            "users",
            ("user_id", "login_id", "first_name", "last_name", "email", "status"),
            "user",
        ),
        CsvFile(
            "courses",
            (
                "course_id",
                "short_name",
                "long_name",
                "account_id",
                "term_id",
                "status",
                "start_date",
                "end_date",
            ),
            "class",
        ),
        CsvFile("sections", ("section_id", "course_id", "name", "status"), "class"),
        CsvFile(
            "enrollments", ("course_id", "section_id", "user_id", "role", "status"), "enrollment"
        ),
        CsvFile("user_observers", ("observer_id", "student_id", "status"), "user"),
    )
}
CHANGE_SIS_ID = CsvFile("change_sis_id", ("old_id", "new_id", "type"), "user")

#: OneRoster user roles that become Canvas users, and those that only do with observers on.
STAFF_AND_STUDENT_ROLES = ("administrator", "aide", "proctor", "student", "teacher")
OBSERVER_ROLES = ("guardian", "parent", "relative")

#: OneRoster enrollment role → Canvas enrollment role (DESIGN §5). Administrators enrolled
#: in a class are section staff, and the field notes ask for all section staff as teachers.
ENROLLMENT_ROLES = {
    "student": "student",
    "teacher": "teacher",
    "administrator": "teacher",
    "aide": "ta",
    "proctor": "ta",
}

#: A dropped class concludes its Canvas course (content and grades kept, read-only).
COURSE_DROP_STATUS = "completed"
#: Drops Canvas must not be sent: deleting a section deletes its enrollments, and deleting
#: a sub-account that still holds courses fails. Such drops leave the Canvas object as is.
UNSENT_DROPS = frozenset({"sections", "accounts"})
#: Drops sent in a second import after the main one: Canvas processes terms before courses
#: and refuses to delete a term that still has courses, so a term is retired only once the
#: main import has moved its courses away.
RETIRE_AFTER_MAIN = frozenset({"terms"})


def provisioned_roles(district: District) -> tuple[str, ...]:
    if district.observers_enabled:
        return STAFF_AND_STUDENT_ROLES + OBSERVER_ROLES
    return STAFF_AND_STUDENT_ROLES


def drop_status(district: District, file: str) -> str:
    """The status a drop row of ``file`` carries in the CSV (per the district's settings)."""
    if file == "users":
        return district.user_drop_status
    if file == "enrollments":
        return district.enrollment_drop_status
    if file == "courses":
        return COURSE_DROP_STATUS
    return "deleted"


def consolidated_term_prefix(district: District) -> str:
    """A school year's Canvas term id in consolidated mode is this prefix and the year
    (``springfield-sy2026``): stable, and unique per district on a shared Canvas."""
    return f"{district.slug}-sy"
