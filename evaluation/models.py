"""The conversion evaluation's report and its rows, one per object and match class."""

from __future__ import annotations

from django.db import models

from tenants.models import District


class EvaluationReport(models.Model):
    """What a conversion evaluation found: how the district's existing Canvas users, courses
    and sections line up with its OneRoster source before the first import.

    One per evaluation run (``SyncRun`` of kind ``evaluation``); the run's id is the
    report's id. ``summary`` holds the counts per object type and match class (the
    ``sync evaluate --json`` object); ``risks`` the notes in plain words, each
    ``{"level": "high" | "medium" | "info", "text": …}``. The detail is in ``rows``.
    """

    run = models.OneToOneField(
        "runs.SyncRun",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="evaluation",
    )
    district = models.ForeignKey(
        District, on_delete=models.CASCADE, related_name="evaluation_reports"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    summary = models.JSONField(default=dict, blank=True)
    risks = models.JSONField(default=list, blank=True)

    class Meta:
        # Created in ``tenants`` before the evaluation had an app of its own; the table kept
        # its name when the model moved (migration ``evaluation.0001``).
        db_table = "tenants_evaluationreport"
        ordering = ["-created_at"]
        permissions = [("start_evaluation", "Can start a conversion evaluation")]

    def __str__(self) -> str:
        return f"Conversion evaluation #{self.pk} of {self.district}"


class EvaluationRow(models.Model):
    """One object of an evaluation and its match class: a OneRoster user or class with the
    Canvas object it matches (if any), or a Canvas object nothing in OneRoster matches.

    Written in bulk by set-based SQL (``evaluation.classify``). For courses and sections the
    ``*_login`` columns hold course codes and ``*_email`` stay blank.
    """

    class ObjectType(models.TextChoices):
        USER = "user", "User"
        COURSE = "course", "Course"
        SECTION = "section", "Section"

    class Match(models.TextChoices):
        MATCHED_SIS_ID = "matched_sis_id", "Same SIS id"
        MATCHED_LOGIN = "matched_login", "Same login under another SIS id"
        MATCHED_EMAIL = "matched_email", "Same e-mail only"
        AMBIGUOUS = "ambiguous", "Several candidates"
        NEW = "new", "New to Canvas"
        ORPHAN = "orphan", "Only in Canvas"

    report = models.ForeignKey(
        EvaluationReport, on_delete=models.CASCADE, db_index=False, related_name="rows"
    )
    object_type = models.CharField(max_length=8, choices=ObjectType.choices)
    match = models.CharField(max_length=16, choices=Match.choices)
    source_id = models.CharField(max_length=255, blank=True)
    # The SIS id the first import gives the object in Canvas (the user id per the district's
    # user_id_source; a class's sourcedId for courses and sections).
    target_sis_id = models.TextField(blank=True)
    source_login = models.TextField(blank=True)
    source_email = models.TextField(blank=True)
    source_name = models.TextField(blank=True)
    school = models.CharField(max_length=255, blank=True)
    canvas_id = models.BigIntegerField(null=True, blank=True)
    canvas_sis_id = models.TextField(blank=True)
    canvas_login = models.TextField(blank=True)
    canvas_email = models.TextField(blank=True)
    canvas_name = models.TextField(blank=True)
    note = models.TextField(blank=True)

    class Meta:
        db_table = "tenants_evaluationrow"
        ordering = ["id"]
        indexes = [
            models.Index(fields=["report", "object_type", "match"], name="evaluationrow_by_class"),
        ]

    def __str__(self) -> str:
        return f"{self.object_type} {self.source_id or self.canvas_sis_id}: {self.match}"
