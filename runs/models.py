"""The run core: one provisioning, passback or evaluation run of a district, and its log.

Every kind of run shares this row, its state machine (``runs.states``), the one-active-run
per district constraint, the heartbeat lease, the locks and the launcher (``runs.services``).
The kind-specific parts hang off it (``gradepassback.PassbackRun``, the evaluation report).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from tenants.models import District


class SyncRun(models.Model):
    """One provisioning, passback or evaluation run of one district.

    ``status`` changes only through ``runs.services.lifecycle.sync_run_transition``, which
    enforces ``runs.states.TRANSITIONS``; ``phase`` and ``progress`` say where a live run is
    (``sync_run_phase``), so no one has to read its log to know. The partial unique
    constraint makes "at most one active run per district" a database fact: creating a
    second active run raises ``IntegrityError``.
    """

    class Kind(models.TextChoices):
        DELTA = "delta", "Delta (changes since the last run)"
        FULL = "full", "Full (everything; what disappeared is dropped)"
        DRY_RUN = "dry_run", "Dry run (plan and zip, nothing sent)"
        PASSBACK = "passback", "Grade passback"
        EVALUATION = "evaluation", "Conversion evaluation"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        MANUAL = "manual", "Manual (console)"
        CLI = "cli", "Command line"
        API = "api", "API"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        HELD = "held", "Held for approval"
        APPLYING = "applying", "Applying"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        DISCARDED = "discarded", "Discarded"
        CANCELLED = "cancelled", "Cancelled"

    class Phase(models.TextChoices):
        NONE = "", "Not started"
        READING = "reading", "Reading the roster from OneRoster"
        PLANNING = "planning", "Planning and checking guards"
        BUILDING = "building", "Building the SIS import"
        IMPORTING = "importing", "Importing into Canvas"
        COMMITTING = "committing", "Recording what Canvas accepted"
        COURSES = "courses", "Passing grades back"
        COMPARING = "comparing", "Comparing the SIS with Canvas"

    #: Statuses that hold the district: at most one run per district may be in one of them.
    ACTIVE_STATUSES = (Status.QUEUED, Status.RUNNING, Status.HELD, Status.APPLYING)
    FINAL_STATUSES = (Status.SUCCEEDED, Status.FAILED, Status.DISCARDED, Status.CANCELLED)

    district = models.ForeignKey(District, on_delete=models.CASCADE, related_name="sync_runs")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Who asked, in words that survive the user's deletion ("schedule", "cli", a username).
    requested_label = models.CharField(max_length=150, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    # A dry run reads like a delta unless asked to read everything; delta/full imply it.
    full_read = models.BooleanField(default=False)

    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Refreshed while a worker holds the run; the reaper fails runs whose heartbeat stops.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    phase = models.CharField(max_length=16, choices=Phase.choices, blank=True, default="")
    # Counts known so far, each only where the source says it: ``pages_read``/``pages_total``
    # (X-Total-Count), ``rows_planned``, ``import_progress`` (Canvas's per cent), and
    # ``phase_started`` (phase → ISO time) for timings.
    progress = models.JSONField(default=dict, blank=True)

    # Delta window: records modified after ``since`` were read. ``source_high_water`` is the
    # newest dateLastModified seen, on the SIS's own clock: the next delta starts there.
    since = models.DateTimeField(null=True, blank=True)
    source_high_water = models.DateTimeField(null=True, blank=True)

    counts = models.JSONField(default=dict, blank=True)
    plan_summary = models.JSONField(default=dict, blank=True)
    held_reason = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    canvas_import_id = models.CharField(max_length=32, blank=True)
    canvas_import_state = models.CharField(max_length=32, blank=True)
    canvas_messages = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    dry_run_zip = models.FileField(upload_to="provisioning/dry-runs/", blank=True)

    class Meta:
        # The table kept its name when the model moved here from ``provisioning``.
        db_table = "provisioning_syncrun"
        ordering = ["-created_at", "-id"]
        permissions = [
            ("start_syncrun", "Can start a sync from the console"),
            ("approve_syncrun", "Can approve or discard a held sync"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["district"],
                condition=Q(status__in=["queued", "running", "held", "applying"]),
                name="syncrun_one_active_per_district",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["delta", "full", "dry_run", "passback", "evaluation"]),
                name="syncrun_kind_known",
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "queued",
                        "running",
                        "held",
                        "applying",
                        "succeeded",
                        "failed",
                        "discarded",
                        "cancelled",
                    ]
                ),
                name="syncrun_status_known",
            ),
        ]
        indexes = [
            models.Index(fields=["district", "-created_at"], name="syncrun_district_recent"),
            models.Index(
                fields=["status", "heartbeat_at"],
                condition=Q(status__in=["queued", "running", "applying"]),
                name="syncrun_live_by_heartbeat",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display().split(' (')[0]} run #{self.pk} of {self.district}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES


class SyncRunLog(models.Model):
    """One line of a run's log, shown on the run page. Never holds secrets or record data
    beyond sourcedIds and counts."""

    class Level(models.TextChoices):
        INFO = "info", "Info"
        WARNING = "warning", "Warning"
        ERROR = "error", "Error"

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="log_lines")
    created_at = models.DateTimeField(auto_now_add=True)
    level = models.CharField(max_length=8, choices=Level.choices, default=Level.INFO)
    message = models.TextField()

    class Meta:
        db_table = "provisioning_syncrunlog"
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.created_at:%H:%M:%S} {self.level} {self.message[:60]}"
