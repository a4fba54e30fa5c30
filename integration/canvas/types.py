"""Typed Canvas data: what ``CanvasClient`` returns and what provisioning and passback consume.

Plain frozen dataclasses built from Canvas's JSON by ``from_api`` class methods. Unknown
fields are ignored; missing optional fields get neutral defaults, so a Canvas that omits a
field (e.g. ``post_to_sis`` when SIS grade export is off) does not break a run. Timestamps
are aware ``datetime`` objects in UTC.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

#: SIS import states Canvas never leaves by itself. ``restored`` and ``partially_restored``
#: are where an import ends when someone restores (undoes) it in Canvas while we wait: over,
#: and not accepted, since its changes were undone.
TERMINAL_STATES = frozenset(
    {
        "imported",
        "imported_with_messages",
        "aborted",
        "failed",
        "failed_with_messages",
        "restored",
        "partially_restored",
    }
)
#: States in which Canvas holds the account's import queue (one import at a time).
RUNNING_STATES = ("created", "importing", "cleanup_batch", "restoring")
ACCEPTED_STATES = frozenset({"imported", "imported_with_messages"})

ENROLLMENT_DROP_STATUSES = frozenset({"deleted", "completed", "inactive", "deleted_last_completed"})
USER_REMOVE_STATUSES = frozenset({"deleted", "suspended"})
BATCH_DROP_STATUSES = frozenset({"deleted", "completed", "inactive"})

AssignmentKind = Literal["assignment", "classic_quiz", "new_quiz", "discussion"]


def parse_timestamp(value: Any) -> dt.datetime | None:
    """Canvas ISO 8601 timestamp (``2024-09-01T05:00:00Z``) → aware UTC datetime."""
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def format_timestamp(value: dt.datetime) -> str:
    """Aware datetime → the ``YYYY-MM-DDTHH:MM:SSZ`` form Canvas documents."""
    if value.tzinfo is None:
        raise ValueError("Canvas timestamps must be timezone-aware.")
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _float(value: Any) -> float | None:
    """A number sent as a number or a numeric string; ``None`` for anything else, ``NaN``
    and infinities included (a score must never reach the SIS as one)."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _int(value: Any) -> int | None:
    """An integer sent as a number or a numeric string (``7``, ``7.0``, ``"7"``, ``"7.5"``)."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        number = _float(value)
        return int(number) if number is not None and math.isfinite(number) else None


# --- SIS imports ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SisImportParams:
    """The options of one ``POST /api/v1/accounts/:id/sis_imports``.

    Validated on construction with Canvas's own rules, so a bad combination fails here
    instead of as a 400 from Canvas. Only options that are set go on the wire.
    """

    import_type: str = "instructure_csv"
    extension: str = "zip"
    override_sis_stickiness: bool = False
    add_sis_stickiness: bool = False
    clear_sis_stickiness: bool = False
    skip_deletes: bool = False
    change_threshold: int | None = None
    diff_row_count_threshold: int | None = None
    diffing_data_set_identifier: str | None = None
    diffing_remaster_data_set: bool = False
    diffing_drop_status: str | None = None
    diffing_user_remove_status: str | None = None
    batch_mode: bool = False
    batch_mode_term_id: str | None = None
    multi_term_batch_mode: bool = False
    batch_mode_enrollment_drop_status: str | None = None
    update_sis_id_if_login_claimed: bool = False

    def __post_init__(self) -> None:
        problems = []
        if self.import_type != "instructure_csv":
            problems.append("import_type must be instructure_csv")
        if self.extension not in ("zip", "csv"):
            problems.append("extension must be zip or csv")
        if (self.add_sis_stickiness or self.clear_sis_stickiness) and not (
            self.override_sis_stickiness
        ):
            problems.append("add/clear_sis_stickiness only work with override_sis_stickiness")
        if self.change_threshold is not None and not 1 <= self.change_threshold <= 100:
            problems.append("change_threshold must be between 1 and 100")
        if self.diff_row_count_threshold is not None and self.diff_row_count_threshold < 1:
            problems.append("diff_row_count_threshold must be positive")
        identifier = self.diffing_data_set_identifier
        if identifier is not None and not 0 < len(identifier.encode()) <= 128:
            problems.append("diffing_data_set_identifier must be 1-128 bytes of UTF-8")
        if (
            self.diffing_drop_status is not None
            and self.diffing_drop_status not in ENROLLMENT_DROP_STATUSES
        ):
            problems.append(
                "diffing_drop_status must be deleted, completed, inactive or deleted_last_completed"
            )
        if (
            self.diffing_user_remove_status is not None
            and self.diffing_user_remove_status not in USER_REMOVE_STATUSES
        ):
            problems.append("diffing_user_remove_status must be deleted or suspended")
        if self.batch_mode and identifier:
            problems.append("batch_mode cannot be combined with diffing")
        if self.batch_mode and not (self.batch_mode_term_id or self.multi_term_batch_mode):
            problems.append("batch_mode needs batch_mode_term_id (or multi_term_batch_mode)")
        if self.multi_term_batch_mode and self.change_threshold is None:
            problems.append("multi_term_batch_mode requires change_threshold")
        if (
            self.batch_mode_enrollment_drop_status is not None
            and self.batch_mode_enrollment_drop_status not in BATCH_DROP_STATUSES
        ):
            problems.append("batch_mode_enrollment_drop_status must be deleted/completed/inactive")
        if problems:
            raise ValueError("Invalid SIS import parameters: " + "; ".join(problems))

    def to_form(self) -> dict[str, str]:
        """Form fields for the multipart POST (booleans as ``true``; unset options left out)."""
        form: dict[str, str] = {"import_type": self.import_type, "extension": self.extension}
        for name in (
            "override_sis_stickiness",
            "add_sis_stickiness",
            "clear_sis_stickiness",
            "skip_deletes",
            "diffing_remaster_data_set",
            "batch_mode",
            "multi_term_batch_mode",
            "update_sis_id_if_login_claimed",
        ):
            if getattr(self, name):
                form[name] = "true"
        for name in (
            "change_threshold",
            "diff_row_count_threshold",
            "diffing_data_set_identifier",
            "diffing_drop_status",
            "diffing_user_remove_status",
            "batch_mode_term_id",
            "batch_mode_enrollment_drop_status",
        ):
            value = getattr(self, name)
            if value is not None:
                form[name] = str(value)
        return form


@dataclass(frozen=True, slots=True)
class SisImport:
    """One Canvas SIS import (``SisBatch``) as the status endpoint reports it."""

    id: int
    workflow_state: str
    progress: int = 0
    created_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    counts: Mapping[str, int] = field(default_factory=dict)
    processing_warnings: tuple[tuple[str, str], ...] = ()
    processing_errors: tuple[tuple[str, str], ...] = ()
    errors_attachment: Mapping[str, Any] | None = None
    supplied_batches: tuple[str, ...] = ()
    diffing_data_set_identifier: str | None = None
    diffing_remaster: bool = False
    diffing_threshold_exceeded: bool = False
    diffed_against_import_id: int | None = None
    change_threshold: int | None = None
    skip_deletes: bool = False
    batch_mode: bool = False
    override_sis_stickiness: bool = False

    @property
    def is_terminal(self) -> bool:
        return self.workflow_state in TERMINAL_STATES

    @property
    def accepted(self) -> bool:
        """Canvas finished the import without a failure-level error."""
        return self.workflow_state in ACCEPTED_STATES

    @property
    def error_count(self) -> int:
        return int(self.counts.get("error_count", 0))

    @property
    def warning_count(self) -> int:
        return int(self.counts.get("warning_count", 0))

    @classmethod
    def from_api(cls, payload: Mapping[str, Any]) -> SisImport:
        data = payload.get("data") or {}
        counts = {
            str(key): number
            for key, number in ((k, _int(v)) for k, v in (data.get("counts") or {}).items())
            if number is not None
        }
        return cls(
            id=int(payload["id"]),
            workflow_state=str(payload.get("workflow_state") or ""),
            progress=_int(payload.get("progress")) or 0,
            created_at=parse_timestamp(payload.get("created_at")),
            ended_at=parse_timestamp(payload.get("ended_at")),
            counts=counts,
            processing_warnings=_pairs(payload.get("processing_warnings")),
            processing_errors=_pairs(payload.get("processing_errors")),
            errors_attachment=payload.get("errors_attachment") or None,
            supplied_batches=tuple(str(b) for b in data.get("supplied_batches") or ()),
            diffing_data_set_identifier=payload.get("diffing_data_set_identifier"),
            diffing_remaster=bool(payload.get("diffing_remaster")),
            diffing_threshold_exceeded=bool(payload.get("diffing_threshold_exceeded")),
            diffed_against_import_id=_int(payload.get("diffed_against_import_id")),
            change_threshold=_int(payload.get("change_threshold")),
            skip_deletes=bool(payload.get("skip_deletes")),
            batch_mode=bool(payload.get("batch_mode")),
            override_sis_stickiness=bool(payload.get("override_sis_stickiness")),
        )


def _pairs(value: Any) -> tuple[tuple[str, str], ...]:
    """``processing_warnings``/``processing_errors`` as (file, message) pairs. Canvas
    documents ``[file, message]`` lists; a bare message, a one-element list or a
    ``{"file", "message"}`` object keeps its message (no file), so nothing is dropped."""
    if isinstance(value, str | dict):
        value = [value]
    pairs = []
    for item in value or ():
        if isinstance(item, list | tuple):
            if len(item) >= 2:
                pairs.append((str(item[0] or ""), str(item[1] or "")))
            elif item:
                pairs.append(("", str(item[0] or "")))
        elif isinstance(item, dict):
            pairs.append((str(item.get("file") or ""), str(item.get("message") or "")))
        elif item:
            pairs.append(("", str(item)))
    return tuple(pairs)


@dataclass(frozen=True, slots=True)
class SisImportError:
    """One row of ``GET sis_imports/:id/errors``; ``row`` is 1-based and counts the header."""

    sis_import_id: int
    file: str
    message: str
    row: int | None = None
    row_info: str | None = None
    failure: bool = False

    @classmethod
    def from_api(cls, payload: Mapping[str, Any]) -> SisImportError:
        return cls(
            sis_import_id=int(payload.get("sis_import_id") or 0),
            file=str(payload.get("file") or ""),
            message=str(payload.get("message") or ""),
            row=_int(payload.get("row")),
            row_info=payload.get("row_info"),
            failure=bool(payload.get("failure")),
        )


# --- passback reads ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AssignmentOverride:
    """A differentiated date: for a section, a group of students or a group."""

    id: int
    title: str = ""
    course_section_id: int | None = None
    student_ids: tuple[int, ...] = ()
    due_at: dt.datetime | None = None
    unlock_at: dt.datetime | None = None
    lock_at: dt.datetime | None = None

    @classmethod
    def from_api(cls, payload: Mapping[str, Any]) -> AssignmentOverride:
        return cls(
            id=int(payload.get("id") or 0),
            title=str(payload.get("title") or ""),
            course_section_id=_int(payload.get("course_section_id")),
            student_ids=tuple(int(s) for s in payload.get("student_ids") or ()),
            due_at=parse_timestamp(payload.get("due_at")),
            unlock_at=parse_timestamp(payload.get("unlock_at")),
            lock_at=parse_timestamp(payload.get("lock_at")),
        )


@dataclass(frozen=True, slots=True)
class CanvasAssignment:
    """An assignment, a graded classic quiz, a New Quiz or a graded discussion."""

    id: int
    course_id: int
    name: str
    published: bool
    points_possible: float | None
    grading_type: str
    due_at: dt.datetime | None
    post_to_sis: bool | None
    assignment_group_id: int | None
    kind: AssignmentKind
    submission_types: tuple[str, ...] = ()
    unlock_at: dt.datetime | None = None
    lock_at: dt.datetime | None = None
    omit_from_final_grade: bool = False
    only_visible_to_overrides: bool = False
    has_overrides: bool = False
    overrides: tuple[AssignmentOverride, ...] = ()
    workflow_state: str = ""
    sis_assignment_id: str | None = None
    integration_id: str | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None

    @property
    def graded(self) -> bool:
        return self.grading_type != "not_graded"

    @classmethod
    def from_api(cls, payload: Mapping[str, Any]) -> CanvasAssignment:
        submission_types = tuple(str(t) for t in payload.get("submission_types") or ())
        return cls(
            id=int(payload["id"]),
            course_id=int(payload.get("course_id") or 0),
            name=str(payload.get("name") or ""),
            published=bool(payload.get("published", True)),
            points_possible=_float(payload.get("points_possible")),
            grading_type=str(payload.get("grading_type") or "points"),
            due_at=parse_timestamp(payload.get("due_at")),
            post_to_sis=payload.get("post_to_sis"),
            assignment_group_id=_int(payload.get("assignment_group_id")),
            kind=assignment_kind(payload, submission_types),
            submission_types=submission_types,
            unlock_at=parse_timestamp(payload.get("unlock_at")),
            lock_at=parse_timestamp(payload.get("lock_at")),
            omit_from_final_grade=bool(payload.get("omit_from_final_grade")),
            only_visible_to_overrides=bool(payload.get("only_visible_to_overrides")),
            has_overrides=bool(payload.get("has_overrides")),
            overrides=tuple(AssignmentOverride.from_api(o) for o in payload.get("overrides") or ()),
            workflow_state=str(payload.get("workflow_state") or ""),
            sis_assignment_id=payload.get("sis_assignment_id"),
            integration_id=payload.get("integration_id"),
            created_at=parse_timestamp(payload.get("created_at")),
            updated_at=parse_timestamp(payload.get("updated_at")),
        )


def assignment_kind(
    payload: Mapping[str, Any], submission_types: tuple[str, ...]
) -> AssignmentKind:
    """Tell the kinds apart the way Canvas's own JSON allows.

    ``is_quiz_lti_assignment`` marks New Quizzes; ``is_quiz_assignment`` (or an
    ``online_quiz`` submission type with a ``quiz_id``) marks a classic graded quiz; a
    ``discussion_topic`` submission type marks a graded discussion.
    """
    if payload.get("is_quiz_lti_assignment"):
        return "new_quiz"
    if payload.get("is_quiz_assignment") or (
        "online_quiz" in submission_types and payload.get("quiz_id")
    ):
        return "classic_quiz"
    if "discussion_topic" in submission_types or payload.get("discussion_topic"):
        return "discussion"
    return "assignment"


@dataclass(frozen=True, slots=True)
class CanvasSubmission:
    """A student's submission to one assignment, as a grader (or admin) token sees it.

    ``sis_user_id`` is filled only when the payload carries it; the flat submissions list
    does not, so callers resolve it from the course's enrollments (``user_id`` → SIS id).
    ``posted_at`` None means the grade is hidden from the student by the post policy.
    """

    id: int
    assignment_id: int
    user_id: int
    score: float | None
    grade: str | None
    excused: bool
    missing: bool
    late: bool
    workflow_state: str
    graded_at: dt.datetime | None
    posted_at: dt.datetime | None
    submitted_at: dt.datetime | None = None
    late_policy_status: str | None = None
    grading_period_id: int | None = None
    assignment_visible: bool | None = None
    sis_user_id: str | None = None

    @property
    def posted(self) -> bool:
        return self.posted_at is not None

    @property
    def graded(self) -> bool:
        return self.workflow_state == "graded" and (self.score is not None or self.excused)

    @classmethod
    def from_api(cls, payload: Mapping[str, Any]) -> CanvasSubmission:
        user = payload.get("user") if isinstance(payload.get("user"), Mapping) else None
        return cls(
            id=int(payload.get("id") or 0),
            assignment_id=int(payload["assignment_id"]),
            user_id=int(payload["user_id"]),
            score=_float(payload.get("score")),
            grade=None if payload.get("grade") is None else str(payload.get("grade")),
            excused=bool(payload.get("excused")),
            missing=bool(payload.get("missing")),
            late=bool(payload.get("late")),
            workflow_state=str(payload.get("workflow_state") or ""),
            graded_at=parse_timestamp(payload.get("graded_at")),
            posted_at=parse_timestamp(payload.get("posted_at")),
            submitted_at=parse_timestamp(payload.get("submitted_at")),
            late_policy_status=payload.get("late_policy_status"),
            grading_period_id=_int(payload.get("grading_period_id")),
            assignment_visible=payload.get("assignment_visible"),
            sis_user_id=(user or {}).get("sis_user_id") or payload.get("sis_user_id"),
        )
