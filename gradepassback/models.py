"""Grade passback state: what the SIS last accepted, per-run outcomes, conflicts, cursors.

A passback is one ``runs.SyncRun`` of kind ``passback`` (same history and
one-active-run rule as provisioning) with a ``PassbackRun`` beside it that holds the
passback's scope and its fan-out counter. Each Canvas course of the run has a
``PassbackCourse`` row (its outcome and counts); the items of a course that were pushed,
skipped, deleted or failed have ``PassbackItem`` rows; unchanged items are only counted.

``LineItemState`` and ``ResultState`` remember, per sourcedId, the hash of the payload the
SIS last accepted: a push is sent only when the hash differs (DESIGN §4).
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from runs.models import SyncRun
from tenants.models import District


class CategoryOverride(models.Model):
    """A district's choice of SIS category for a Canvas assignment group name.

    Wins over the automatic match (same title, ignoring case). Names match ignoring case.
    """

    district = models.ForeignKey(
        District, on_delete=models.CASCADE, related_name="passback_category_overrides"
    )
    assignment_group_name = models.CharField(max_length=255)
    category_sourced_id = models.CharField(
        max_length=255, help_text="sourcedId of the SIS category (GET /categories)."
    )
    category_title = models.CharField(
        max_length=255, blank=True, help_text="For display only: the category's title."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["district", "assignment_group_name"]
        constraints = [
            models.UniqueConstraint(
                "district",
                Lower("assignment_group_name"),
                name="categoryoverride_one_per_group_name",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.assignment_group_name} → {self.category_title or self.category_sourced_id}"


class PushState(models.Model):
    """What the SIS last accepted for one object we PUT (or failed to).

    ``accepted_hash`` is the payload hash of the last accepted PUT (blank: never accepted);
    a failed attempt leaves it alone, so a later run sends again. ``attempted_hash`` is the
    hash of the last payload sent, accepted or not: a payload the SIS refused is not
    re-sent unchanged for a while (``services.course.RETRY_REFUSED_AFTER``).
    """

    class Status(models.TextChoices):
        PUSHED = "pushed", "Accepted by the SIS"
        FAILED = "failed", "Last attempt failed (transport or server error)"
        REFUSED = "refused", "Last attempt refused by the SIS"
        HELD = "held", "Held back (hidden grade)"
        KEPT = "kept", "Kept in the SIS; no longer sent"
        DELETED = "deleted", "Deleted from the SIS"

    district = models.ForeignKey(District, on_delete=models.CASCADE, related_name="+")
    sourced_id = models.CharField(max_length=64)
    canvas_course_id = models.BigIntegerField()
    status = models.CharField(max_length=8, choices=Status.choices)
    accepted_hash = models.CharField(max_length=32, blank=True)
    attempted_hash = models.CharField(max_length=32, blank=True)
    last_attempt_at = models.DateTimeField()
    last_pushed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        abstract = True


class LineItemState(PushState):
    """A lineItem we manage: an assignment's per class, or our own course-grade one."""

    class Kind(models.TextChoices):
        ASSIGNMENT = "assignment", "Assignment"
        COURSE_GRADE = "course_grade", "Course grade"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    canvas_assignment_id = models.BigIntegerField(null=True, blank=True)
    class_sourced_id = models.CharField(max_length=255)
    period_sourced_id = models.CharField(max_length=255, blank=True)
    title = models.CharField(max_length=255, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["district", "sourced_id"], name="lineitemstate_unique_sid"
            ),
            models.CheckConstraint(
                condition=Q(kind="course_grade") | Q(canvas_assignment_id__isnull=False),
                name="lineitemstate_assignment_has_id",
            ),
        ]
        indexes = [
            models.Index(fields=["district", "canvas_course_id"], name="lineitemstate_by_course"),
        ]

    def __str__(self) -> str:
        return f"{self.title or self.sourced_id} ({self.class_sourced_id})"


class ResultState(PushState):
    """A result we manage, on one of our lineItems or on the SIS's grading-task lineItem."""

    lineitem_sourced_id = models.CharField(max_length=255)
    student_sourced_id = models.CharField(max_length=255)
    # The Canvas assignment it scores; null for course grades.
    canvas_assignment_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["district", "sourced_id"], name="resultstate_unique_sid"
            ),
        ]
        indexes = [
            models.Index(fields=["district", "canvas_course_id"], name="resultstate_by_course"),
        ]

    def __str__(self) -> str:
        return f"{self.student_sourced_id} on {self.lineitem_sourced_id}"


class PassbackRun(models.Model):
    """The passback side of a ``SyncRun``: scope, options and the fan-out counter.

    Course tasks increment ``courses_done`` with one ``UPDATE … RETURNING``; the task that
    brings it to ``courses_total`` closes the run. That counter is the whole fan-in: no
    chord, no result backend.
    """

    # The run's id is the passback's id: one page, one number.
    run = models.OneToOneField(
        SyncRun, on_delete=models.CASCADE, primary_key=True, related_name="passback"
    )
    # The Canvas course SIS ids asked for; empty: every provisioned course of the district.
    course_sis_ids = ArrayField(models.CharField(max_length=255), default=list, blank=True)
    full = models.BooleanField(default=False)
    courses_total = models.PositiveIntegerField(default=0)
    courses_done = models.PositiveIntegerField(default=0)
    # The SIS's categories as read when the run started: [[sourcedId, title], ...].
    categories = models.JSONField(default=list, blank=True)
    counts = models.JSONField(default=dict, blank=True)

    class Meta:
        permissions = [
            ("start_passback", "Can start a grade passback"),
            ("issue_trigger_token", "Can issue a district's passback trigger token"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(courses_done__lte=models.F("courses_total")),
                name="passbackrun_done_at_most_total",
            ),
        ]

    def __str__(self) -> str:
        return f"Passback #{self.run_id} ({self.scope})"

    @property
    def scope(self) -> str:
        if not self.course_sis_ids:
            return "district"
        if len(self.course_sis_ids) == 1:
            return f"course {self.course_sis_ids[0]}"
        return f"{len(self.course_sis_ids)} courses"


class PassbackCourse(models.Model):
    """One Canvas course of a passback run and its outcome."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled (run failed)"

    FINAL_STATUSES = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    passback_run = models.ForeignKey(PassbackRun, on_delete=models.CASCADE, related_name="courses")
    sis_course_id = models.CharField(max_length=255)
    canvas_course_id = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # host:pid of the process that took the course (fan-out is visible in the console).
    worker = models.CharField(max_length=100, blank=True)
    # Scores read were those graded since this moment (null: every score).
    graded_since = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    pushed = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    deleted = models.PositiveIntegerField(default=0)
    # Counts per object and outcome detail, e.g. {"results": {"pushed": 40, "hidden": 3}}.
    counts = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["sis_course_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["passback_run", "sis_course_id"], name="passbackcourse_one_per_run"
            ),
        ]
        indexes = [
            models.Index(fields=["passback_run", "status"], name="passbackcourse_run_status"),
        ]

    def __str__(self) -> str:
        return f"{self.sis_course_id} ({self.status})"


class PassbackItem(models.Model):
    """A lineItem or result of a course that was pushed, skipped, deleted or failed."""

    class ObjectType(models.TextChoices):
        LINE_ITEM = "lineItem", "lineItem"
        RESULT = "result", "result"

    class Outcome(models.TextChoices):
        PUSHED = "pushed", "Pushed"
        SKIPPED = "skipped", "Skipped"
        KEPT = "kept", "Kept (no longer flagged)"
        DELETED = "deleted", "Deleted"
        FAILED = "failed", "Failed"

    course = models.ForeignKey(PassbackCourse, on_delete=models.CASCADE, related_name="items")
    object_type = models.CharField(max_length=8, choices=ObjectType.choices)
    sourced_id = models.CharField(max_length=64, blank=True)
    canvas_assignment_id = models.BigIntegerField(null=True, blank=True)
    class_sourced_id = models.CharField(max_length=255, blank=True)
    student_sourced_id = models.CharField(max_length=255, blank=True)
    title = models.CharField(max_length=255, blank=True)
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    # "created" / "updated" for pushes; the reason for the rest.
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["course", "outcome"], name="passbackitem_course_outcome"),
        ]

    def __str__(self) -> str:
        return f"{self.object_type} {self.sourced_id} {self.outcome}"


class PassbackConflict(models.Model):
    """A problem a teacher must fix before an assignment (or course grade) can be sent.

    One row per (district, course, assignment, kind, class); a passback of the course that
    sees it again updates ``last_seen`` and reopens it, one that no longer sees it closes it.
    ``canvas_assignment_id`` is null for course-level problems (an unknown section).
    """

    district = models.ForeignKey(
        District, on_delete=models.CASCADE, related_name="passback_conflicts"
    )
    sis_course_id = models.CharField(max_length=255)
    canvas_course_id = models.BigIntegerField()
    canvas_assignment_id = models.BigIntegerField(null=True, blank=True)
    assignment_name = models.CharField(max_length=255, blank=True)
    class_sourced_id = models.CharField(max_length=255, blank=True)
    kind = models.CharField(max_length=24)
    message = models.TextField()
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    last_run = models.ForeignKey(
        SyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_seen", "sis_course_id"]
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "district",
                    "sis_course_id",
                    "canvas_assignment_id",
                    "kind",
                    "class_sourced_id",
                ],
                name="passbackconflict_one_per_problem",
                nulls_distinct=False,
            ),
        ]
        indexes = [
            models.Index(
                fields=["district", "sis_course_id"],
                condition=Q(closed_at__isnull=True),
                name="passbackconflict_open",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.assignment_name or self.sis_course_id}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class PassbackCursor(models.Model):
    """Per course: when its last clean passback started. The next incremental passback
    reads the scores graded since then (minus a small overlap)."""

    district = models.ForeignKey(District, on_delete=models.CASCADE, related_name="+")
    sis_course_id = models.CharField(max_length=255)
    graded_since = models.DateTimeField()
    last_run = models.ForeignKey(
        SyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["district", "sis_course_id"], name="passbackcursor_one_per_course"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sis_course_id} since {self.graded_since:%Y-%m-%d %H:%M}"
