"""Districts (tenants), their encrypted credentials, intake links and the audit log."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from fernet_fields import EncryptedTextField

#: Fields whose values never appear in audit rows, logs, pages or JSON output.
SECRET_FIELDS = (
    "oneroster_client_secret",
    "oneroster_vendor_key",
    "oneroster_vendor_secret",
    "canvas_token",
)


def district_secret_paths(relation: str = "") -> list[str]:
    """What to ``defer`` so a query reaching District through ``relation`` loads no secret."""
    prefix = f"{relation}__" if relation else ""
    return [prefix + name for name in SECRET_FIELDS]


class DistrictManager(models.Manager):
    """Loads districts without their secrets: an encrypted field decrypts whenever it is
    loaded, so lists (admin, console, filters) would decrypt every district's secrets. A
    secret loads (one query) the first time code reads it, e.g. building a client."""

    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().defer(*SECRET_FIELDS)


class District(models.Model):
    """One school district: its OneRoster source, its Canvas target and its options.

    Change it only through ``tenants.services`` so every change is audited. ``objects``
    defers the secret fields (``DistrictManager``).
    """

    class Status(models.TextChoices):
        ONBOARDING = "onboarding", "Onboarding"
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"

    class AuthMethod(models.TextChoices):
        OAUTH2 = "oauth2", "OAuth 2.0 client credentials"
        OAUTH1 = "oauth1", "OAuth 1.0a (HMAC-SHA256 signing)"

    class TermMode(models.TextChoices):
        CONSOLIDATED = "consolidated", "Consolidated: one Canvas term per school year"
        AS_IS = "as_is", "As is: one Canvas term per OneRoster session per school"

    class UserIdSource(models.TextChoices):
        SOURCED_ID = "sourcedId", "OneRoster sourcedId"
        IDENTIFIER = "identifier", "OneRoster identifier"

    class LoginSource(models.TextChoices):
        USERNAME = "username", "username"
        EMAIL = "email", "email"
        IDENTIFIER = "identifier", "identifier"

    class UserDropStatus(models.TextChoices):
        SUSPENDED = "suspended", "Suspend the login"
        DELETED = "deleted", "Delete the login"

    class EnrollmentDropStatus(models.TextChoices):
        INACTIVE = "inactive", "Inactive (kept, hidden)"
        COMPLETED = "completed", "Completed (read-only)"
        DELETED = "deleted", "Deleted"
        DELETED_LAST_COMPLETED = "deleted_last_completed", "Deleted, or completed if last"

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    class CourseGradeMode(models.TextChoices):
        OFF = "off", "Off"
        OWN_LINEITEM = "own_lineitem", "A course-grade line item of our own"
        SIS_GRADING_TASK = "sis_grading_task", "The SIS grading task's line item"

    class PassbackSchedule(models.TextChoices):
        OFF = "off", "Off"
        NIGHTLY = "nightly", "Nightly"
        HOURLY = "hourly", "Hourly"

    class TitleOverflow(models.TextChoices):
        SKIP = "skip", "Skip the assignment and record a conflict"
        TRUNCATE = "truncate", "Truncate the title"

    # --- identity ---
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ONBOARDING)

    # --- OneRoster source ---
    oneroster_base_url = models.URLField(max_length=500, blank=True)
    oneroster_token_url = models.URLField(max_length=500, blank=True)
    oneroster_auth_method = models.CharField(
        max_length=8, choices=AuthMethod.choices, default=AuthMethod.OAUTH2
    )
    oneroster_client_id = models.CharField(max_length=300, blank=True)
    oneroster_client_secret = EncryptedTextField(null=True, blank=True)
    # Per-district override of the deployment-wide partner key (PartnerCredential).
    oneroster_vendor_key = EncryptedTextField(null=True, blank=True)
    oneroster_vendor_secret = EncryptedTextField(null=True, blank=True)
    oneroster_concurrency = models.PositiveSmallIntegerField(
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text="Requests in flight to the SIS (IC allows 5 off-peak; 1 = serial).",
    )

    # --- Canvas target ---
    canvas_base_url = models.URLField(max_length=500, blank=True)
    canvas_account_id = models.CharField(max_length=64, blank=True)
    canvas_token = EncryptedTextField(null=True, blank=True)
    canvas_parent_account_id = models.CharField(
        max_length=200,
        blank=True,
        help_text="SIS id of the parent of school sub-accounts; blank = root.",
    )

    # --- mapping options (DESIGN §5) ---
    term_mode = models.CharField(
        max_length=16, choices=TermMode.choices, default=TermMode.CONSOLIDATED
    )
    user_id_source = models.CharField(
        max_length=16, choices=UserIdSource.choices, default=UserIdSource.SOURCED_ID
    )
    login_source = models.CharField(
        max_length=16, choices=LoginSource.choices, default=LoginSource.USERNAME
    )
    user_drop_status = models.CharField(
        max_length=16, choices=UserDropStatus.choices, default=UserDropStatus.SUSPENDED
    )
    enrollment_drop_status = models.CharField(
        max_length=32, choices=EnrollmentDropStatus.choices, default=EnrollmentDropStatus.INACTIVE
    )
    publish_courses_on_create = models.BooleanField(default=False)
    observers_enabled = models.BooleanField(default=False)

    # --- schedule ---
    timezone = models.CharField(max_length=64, default="America/Chicago")
    # After IC's nightly cache refresh at 22:10 local time.
    delta_time = models.TimeField(default=dt.time(22, 30))
    full_sync_weekday = models.PositiveSmallIntegerField(
        choices=Weekday.choices, default=Weekday.SATURDAY
    )
    passback_schedule = models.CharField(
        max_length=8, choices=PassbackSchedule.choices, default=PassbackSchedule.NIGHTLY
    )

    # --- guards (DESIGN §9) ---
    guard_users_drop_pct = models.PositiveSmallIntegerField(
        default=10, validators=[MaxValueValidator(100)]
    )
    guard_courses_drop_pct = models.PositiveSmallIntegerField(
        default=10, validators=[MaxValueValidator(100)]
    )
    guard_sections_drop_pct = models.PositiveSmallIntegerField(
        default=10, validators=[MaxValueValidator(100)]
    )
    guard_enrollments_drop_pct = models.PositiveSmallIntegerField(
        default=5, validators=[MaxValueValidator(100)]
    )
    guard_school_drop_pct = models.PositiveSmallIntegerField(
        default=25, validators=[MaxValueValidator(100)]
    )
    guard_school_min_count = models.PositiveIntegerField(
        default=20, help_text="A school with fewer rows of a type cannot trip the per-school guard."
    )
    guard_max_user_removals = models.PositiveIntegerField(default=500)
    guard_first_write = models.BooleanField(
        default=True,
        help_text="Hold the first run that writes into this district's Canvas for approval, "
        "showing what it would create.",
    )
    guard_validation_pct = models.PositiveSmallIntegerField(
        default=2,
        validators=[MaxValueValidator(100)],
        help_text="A run is held when more than this share of a collection fails validation.",
    )
    guard_validation_min_count = models.PositiveIntegerField(
        default=20,
        help_text="Fewer invalid records than this in a collection never hold a run.",
    )

    # --- grade passback options ---
    passback_enabled = models.BooleanField("grade passback on", default=False)
    passback_all_graded = models.BooleanField(
        default=False,
        help_text="Send every graded assignment, not only those flagged for SIS sync.",
    )
    lineitem_title_limit = models.PositiveSmallIntegerField(
        default=50, validators=[MinValueValidator(1)]
    )
    title_overflow = models.CharField(
        max_length=8, choices=TitleOverflow.choices, default=TitleOverflow.SKIP
    )
    send_missing_as_not_submitted = models.BooleanField(default=True)
    only_posted_grades = models.BooleanField(default=True)
    delete_unflagged_lineitems = models.BooleanField(default=False)
    course_grade_mode = models.CharField(
        max_length=20, choices=CourseGradeMode.choices, default=CourseGradeMode.OFF
    )
    grading_task_title = models.CharField(max_length=100, default="Quarter Grade")
    # SHA-256 of the per-district token that lets Canvas-side tools trigger a course passback.
    passback_trigger_token_hash = models.CharField(max_length=64, blank=True)

    # --- people and dates ---
    notification_emails = models.TextField(blank=True, help_text="Comma-separated addresses.")
    credentials_received_on = models.DateField(null=True, blank=True)
    credentials_expire_on = models.DateField(null=True, blank=True)

    # --- last connection check ---
    last_check_at = models.DateTimeField(null=True, blank=True)
    last_check_ok = models.BooleanField("connection check passing", null=True)
    last_check_steps = models.JSONField(default=list, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Staff limited to these districts (tenants.permissions); staff with none see all.
    staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="assigned_districts",
        help_text="Staff who see only their assigned districts. Staff with no district "
        "assigned see every district.",
    )

    objects = DistrictManager()

    class Meta:
        ordering = ["name"]
        permissions = [
            ("check_district", "Can run the connection check"),
            (
                "export_student_data",
                "Can download student-level exports (run zips, evaluation detail, conflicts)",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(oneroster_concurrency__gte=1) & Q(oneroster_concurrency__lte=5),
                name="district_oneroster_concurrency_1_to_5",
            ),
            models.CheckConstraint(
                condition=Q(guard_users_drop_pct__lte=100)
                & Q(guard_courses_drop_pct__lte=100)
                & Q(guard_sections_drop_pct__lte=100)
                & Q(guard_enrollments_drop_pct__lte=100)
                & Q(guard_school_drop_pct__lte=100),
                name="district_guard_percentages_at_most_100",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def notification_recipients(self) -> list[str]:
        return [a.strip() for a in self.notification_emails.split(",") if a.strip()]

    def vendor_credentials(self) -> tuple[str, str] | None:
        """The gradebook vendor key and secret: the district's own, else the deployment's."""
        if self.oneroster_vendor_key and self.oneroster_vendor_secret:
            return self.oneroster_vendor_key, self.oneroster_vendor_secret
        partner = PartnerCredential.objects.filter(pk=PartnerCredential.SINGLETON_ID).first()
        if partner and partner.vendor_key and partner.vendor_secret:
            return partner.vendor_key, partner.vendor_secret
        return None


class PartnerCredential(models.Model):
    """The deployment-wide IC gradebook vendor key, issued to the operator as a partner."""

    SINGLETON_ID = 1

    vendor_key = EncryptedTextField(null=True, blank=True)
    vendor_secret = EncryptedTextField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # The README's name for it, in the admin too.
        verbose_name = "gradebook partner key"
        verbose_name_plural = "gradebook partner key"
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="partnercredential_singleton"),
        ]

    def __str__(self) -> str:
        return "Gradebook partner key"


class IntakeLink(models.Model):
    """A one-time link through which a district's IT contact enters OneRoster credentials.

    Only the SHA-256 of the token is stored; the token itself is shown once, at creation.
    """

    district = models.ForeignKey(District, on_delete=models.CASCADE, related_name="intake_links")
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")),
                name="intakelink_expires_after_creation",
            ),
        ]

    def __str__(self) -> str:
        return f"Intake link for {self.district} ({self.state})"

    @property
    def state(self) -> str:
        from django.utils import timezone

        if self.revoked_at:
            return "revoked"
        if self.used_at:
            return "used"
        if self.expires_at <= timezone.now():
            return "expired"
        return "open"


class StagedCredentials(models.Model):
    """OneRoster credentials submitted through an intake link for a district already in use.

    They replace the live ones only when staff approve them after a connection check has
    passed against them (``tenants.services.staging``); until then the district keeps using
    its old credentials. Secrets are encrypted like the district's and are cleared once the
    change is decided, so a rejected or superseded submission keeps no secret.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for review"
        APPROVED = "approved", "Approved (now live)"
        REJECTED = "rejected", "Rejected"
        SUPERSEDED = "superseded", "Replaced by a newer submission"

    district = models.ForeignKey(
        District, on_delete=models.CASCADE, related_name="staged_credentials"
    )
    intake_link = models.OneToOneField(
        IntakeLink, null=True, blank=True, on_delete=models.SET_NULL, related_name="staged"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    oneroster_base_url = models.URLField(max_length=500)
    oneroster_token_url = models.URLField(max_length=500)
    oneroster_client_id = models.CharField(max_length=300)
    oneroster_client_secret = EncryptedTextField(null=True, blank=True)
    oneroster_vendor_key = EncryptedTextField(null=True, blank=True)
    oneroster_vendor_secret = EncryptedTextField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    check_ok = models.BooleanField(null=True)
    check_steps = models.JSONField(default=list, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_label = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "staged credential change"
        permissions = [
            ("approve_stagedcredentials", "Can approve or reject staged credential changes"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["district"],
                condition=Q(status="pending"),
                name="stagedcredentials_one_pending_per_district",
            ),
            models.CheckConstraint(
                condition=Q(status="pending", decided_at__isnull=True)
                | (~Q(status="pending") & Q(decided_at__isnull=False)),
                name="stagedcredentials_decided_iff_not_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"Credentials for {self.district} ({self.get_status_display()})"


class AuditEvent(models.Model):
    """Append-only record of a change made by a person or by the system.

    ``actor`` is the staff user who acted, if any; ``actor_label`` says who it was in words
    ("system", "intake link", "cli"), so rows stay meaningful after a user is deleted.
    ``changes`` maps field → [before, after] for non-secret fields; secret fields appear as
    ``"(changed)"`` only. A database trigger rejects UPDATE and DELETE.
    """

    class Action(models.TextChoices):
        DISTRICT_CREATED = "district.created"
        SETTINGS_CHANGED = "district.settings_changed"
        CREDENTIALS_CHANGED = "district.credentials_changed"
        CREDENTIALS_ROTATED = "credentials.rotated"
        INTAKE_CREATED = "intake.created"
        INTAKE_SUBMITTED = "intake.submitted"
        INTAKE_REVOKED = "intake.revoked"
        INTAKE_STAGED = "intake.staged"
        STAGED_CHECK_RUN = "credentials.staged_check"
        STAGED_APPROVED = "credentials.approved"
        STAGED_REJECTED = "credentials.rejected"
        CHECK_RUN = "district.check_run"
        SYNC_REQUESTED = "sync.requested"
        SYNC_APPROVED = "sync.approved"
        SYNC_DISCARDED = "sync.discarded"
        RUN_CANCELLED = "run.cancelled"
        RUN_LOST = "run.lost"
        PASSBACK_REQUESTED = "passback.requested"
        EVALUATION_REQUESTED = "evaluation.requested"
        CONFLICT_RESOLVED = "conflict.resolved"
        STAFF_OTP_ENROLLED = "staff.otp_enrolled"
        STAFF_OTP_FAILED = "staff.otp_failed"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150)
    district = models.ForeignKey(
        District, null=True, blank=True, on_delete=models.PROTECT, related_name="audit_events"
    )
    action = models.CharField(max_length=40, choices=Action.choices)
    target = models.CharField(max_length=200, blank=True)
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["district", "-created_at"], name="auditevent_district_recent")
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise ValueError("Audit events are append-only.")
        super().save(*args, **kwargs)
