"""Provisioning state: conflicts, the roster mirror and what Canvas holds (runs: ``runs``).

Two mirrors, both per district and both written only when Canvas accepted an import:

- the *roster mirror* (``Roster*``): the OneRoster records as last read, normalized, one table
  per OneRoster type. A nightly delta reads only what changed and overlays it on this mirror.
- the *Canvas mirror* (``CanvasRow``): every SIS CSV row we have sent and Canvas accepted,
  keyed by the OneRoster object it came from. Planning diffs the projection of the roster
  onto Canvas rows against it, so a settings change (term mode, login source) is a planned
  change even when no OneRoster record changed.

The bulk tables are written by set-based SQL (``provisioning.services``), never row by row
through the ORM; the models exist for the schema, the admin and small reads.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from runs.models import SyncRun
from tenants.models import District


class Conflict(models.Model):
    """A data problem found by a run, kept until a run no longer sees it.

    One row per (district, kind, object type, sourcedId): a run that sees it again updates
    ``last_seen`` (and reopens it if it was closed); a run that looked at the whole scope and
    did not see it closes it. An error holds its object back (neither sent nor dropped); a
    warning is recorded and the object is sent anyway.
    """

    class Kind(models.TextChoices):
        INVALID_RECORD = "invalid_record", "Record fails OneRoster validation"
        INCOMPLETE_READ = "incomplete_read", "Paging did not add up; no drops inferred"
        DUPLICATE_LOGIN = "duplicate_login", "Duplicate login"
        DUPLICATE_USER_ID = "duplicate_user_id", "Duplicate Canvas user id"
        DUPLICATE_EMAIL = "duplicate_email", "Duplicate e-mail"
        MISSING_LOGIN = "missing_login", "User without a login (username)"
        MISSING_USER_ID = "missing_user_id", "User without a Canvas user id"
        USER_WITHOUT_SCHOOL = "user_without_school", "User with no school"
        OBSERVER_UNKNOWN_STUDENT = (
            "observer_unknown_student",
            "Observer of a student not in the roster",
        )
        ENROLLMENT_UNKNOWN_USER = "enrollment_unknown_user", "Enrollment to an unknown user"
        ENROLLMENT_UNKNOWN_CLASS = "enrollment_unknown_class", "Enrollment to an unknown class"
        CLASS_UNKNOWN_SCHOOL = "class_unknown_school", "Class in an unknown school"
        CLASS_UNKNOWN_TERM = "class_unknown_term", "Class in an unknown term"
        CLASS_WITHOUT_TEACHER = "class_without_teacher", "Class without a teacher"
        DATES_INVERTED = "dates_inverted", "End date before begin date"
        CANVAS_ERROR = "canvas_error", "Canvas rejected the row"
        CANVAS_WARNING = "canvas_warning", "Canvas warned about the row"

    class Severity(models.TextChoices):
        ERROR = "error", "Error"
        WARNING = "warning", "Warning"

    district = models.ForeignKey(District, on_delete=models.CASCADE, related_name="conflicts")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    severity = models.CharField(max_length=8, choices=Severity.choices)
    object_type = models.CharField(max_length=32)
    sourced_id = models.CharField(max_length=255, blank=True)
    school = models.CharField(max_length=255, blank=True)
    detail = models.TextField()
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    last_run = models.ForeignKey(
        SyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-last_seen", "kind", "sourced_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["district", "kind", "object_type", "sourced_id"],
                name="conflict_one_per_object_and_kind",
            ),
        ]
        indexes = [
            models.Index(
                fields=["district", "kind"],
                condition=Q(closed_at__isnull=True),
                name="conflict_open_by_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.object_type} {self.sourced_id}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


# --- roster mirror ---------------------------------------------------------------------------


class RosterRecord(models.Model):
    """Common columns of the roster mirror: one row per OneRoster record per district.

    ``content_hash`` is a 64-bit hash of the normalized fields (``content_hash_sql`` in
    ``provisioning.services.workspace``: PostgreSQL's extended record hash, a sixth of the
    cost of an MD5 of the row's text), ``date_last_modified`` the SIS's own timestamp,
    ``last_seen_at`` when a run last read the record.
    """

    # Bulk table: millions of rows written by set-based SQL with the district's own id, so no
    # database-level foreign key (its per-row check dominated the commit of a large district).
    # Deleting a district still deletes these rows (Django's cascade, one DELETE per table).
    # The (district, sourced_id) primary key serves district lookups; no second index.
    district = models.ForeignKey(
        District,
        on_delete=models.CASCADE,
        db_index=False,
        db_constraint=False,
        related_name="+",
    )
    # Byte-order collation: ids are compared, never sorted for people, and "C" makes the
    # unique index about three times cheaper to build and maintain than a locale's rules.
    sourced_id = models.CharField(max_length=255, db_collation="C")
    date_last_modified = models.DateTimeField(null=True, blank=True)
    content_hash = models.BigIntegerField()
    last_seen_at = models.DateTimeField()
    # Each table is partitioned by district (migration 0005): a complete full read swaps in
    # a freshly built partition (``provisioning.services.partitions``). A partitioned
    # table's primary key must hold the partition key, so it is the natural key.
    pk = models.CompositePrimaryKey("district", "sourced_id")

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.sourced_id


class RosterOrg(RosterRecord):
    name = models.TextField()
    type = models.CharField(max_length=32)
    identifier = models.TextField(blank=True)
    parent = models.CharField(max_length=255, blank=True)


class RosterSession(RosterRecord):
    title = models.TextField()
    type = models.CharField(max_length=32)
    start_date = models.DateField()
    end_date = models.DateField()
    school_year = models.CharField(max_length=16)
    parent = models.CharField(max_length=255, blank=True)


class RosterCourse(RosterRecord):
    title = models.TextField()
    course_code = models.TextField(blank=True)
    org = models.CharField(max_length=255, blank=True)
    school_year = models.CharField(max_length=16, blank=True)


class RosterClass(RosterRecord):
    title = models.TextField()
    class_code = models.TextField(blank=True)
    class_type = models.CharField(max_length=32, blank=True)
    course = models.CharField(max_length=255, blank=True)
    school = models.CharField(max_length=255)
    terms = ArrayField(models.CharField(max_length=255), default=list)


class RosterUser(RosterRecord):
    enabled_user = models.BooleanField(default=True)
    username = models.TextField(blank=True)
    given_name = models.TextField(blank=True)
    family_name = models.TextField(blank=True)
    role = models.CharField(max_length=32)
    orgs = ArrayField(models.CharField(max_length=255), default=list)
    identifier = models.TextField(blank=True)
    email = models.TextField(blank=True)
    agents = ArrayField(models.CharField(max_length=255), default=list)


class RosterEnrollment(RosterRecord):
    user_sid = models.CharField(max_length=255)
    class_sid = models.CharField(max_length=255)
    school = models.CharField(max_length=255, blank=True)
    role = models.CharField(max_length=32)
    is_primary = models.BooleanField(null=True)
    begin_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)


# --- Canvas mirror ---------------------------------------------------------------------------


class CanvasRow(models.Model):
    """A SIS CSV row Canvas accepted, as last sent.

    ``file`` is the CSV type (``users``, ``enrollments`` …), ``key`` the OneRoster object it
    came from (a sourcedId; a school year in consolidated term mode; ``observer:student`` for
    observer links). ``row`` holds the CSV columns in ``provisioning.mapping.FILES`` order
    and ``row_hash`` their 64-bit hash (``row_hash_sql``), which planning compares with the
    projection.
    """

    # A bulk table like the roster mirror: no database-level foreign key (see RosterRecord).
    district = models.ForeignKey(
        District,
        on_delete=models.CASCADE,
        db_index=False,
        db_constraint=False,
        related_name="+",
    )
    file = models.CharField(max_length=16, db_collation="C")
    key = models.CharField(max_length=511, db_collation="C")  # see RosterRecord.sourced_id
    school = models.CharField(max_length=255, blank=True)
    row = ArrayField(models.TextField())
    row_hash = models.BigIntegerField()
    sent_at = models.DateTimeField()
    # Partitioned by district like the roster mirror (see RosterRecord).
    pk = models.CompositePrimaryKey("district", "file", "key")

    def __str__(self) -> str:
        return f"{self.file}:{self.key}"
