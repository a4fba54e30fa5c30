"""How times, durations, statuses and counts read on console pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.utils import timezone

from provisioning.mapping import FILES
from runs.models import SyncRun
from tenants.labels import district_field_label
from tenants.models import District

S = SyncRun.Status
#: The colour family of each run status (CSS classes ``tone-<tone>``).
STATUS_TONES = {
    S.QUEUED: "neutral",
    S.RUNNING: "info",
    S.APPLYING: "info",
    S.HELD: "warning",
    S.SUCCEEDED: "success",
    S.FAILED: "danger",
    S.DISCARDED: "neutral",
    S.CANCELLED: "neutral",
}
KIND_SHORT = {
    SyncRun.Kind.DELTA: "Delta",
    SyncRun.Kind.FULL: "Full",
    SyncRun.Kind.DRY_RUN: "Dry run",
    SyncRun.Kind.PASSBACK: "Passback",
    SyncRun.Kind.EVALUATION: "Evaluation",
}


#: The Canvas SIS import files, as people call what is in them.
FILE_LABELS = {
    "accounts": "Sub-accounts",
    "terms": "Terms",
    "users": "Users",
    "courses": "Courses",
    "sections": "Sections",
    "enrollments": "Enrollments",
    "user_observers": "Observer links",
}
#: What a grade passback counts, and each outcome, in words.
PASSBACK_OBJECTS = {
    "lineItems": "Assignments",
    "results": "Scores",
    "courseGrades": "Course grades",
    "courses": "Courses",
}
PASSBACK_OUTCOMES = {
    "pushed": "sent",
    "created": "created",
    "updated": "updated",
    "unchanged": "unchanged",
    "skipped": "skipped",
    "kept": "kept (no longer flagged)",
    "deleted": "deleted",
    "failed": "failed",
    "hidden": "hidden from students, not sent",
    "ungraded": "not graded yet",
    "missing_skipped": "missing, not sent",
    "no_score": "without a score",
    "unknown_student": "student not in the roster",
    "lineitem_not_sent": "assignment not sent",
    "no_grading_period": "outside every grading period",
    "refused_earlier": "refused earlier",
    "pending": "waiting",
    "running": "running",
    "succeeded": "done",
    "cancelled": "cancelled",
}
#: Keys of other run counts and audit rows that are not district settings.
OTHER_KEYS = {
    "full_read": "Read everything",
    "kind": "Kind",
    "trigger": "Asked from",
    "note": "Note",
    "since": "Changes since",
    "held_reason": "Why it was held",
    "counts": "Plan",
    "ok": "Check passing",
    "expires_at": "Expires",
    "heartbeat_at": "Last sign of life",
    "rows": "Rows",
    "values": "Values",
}


def number(value: Any) -> str:
    """``1,280``: every count on every page is written this one way."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"


def words(key: str) -> str:
    """A stored key as words: ``user_observers`` → ``User observers``, ``lineItems`` →
    ``Line items``."""
    spaced = "".join(f" {c.lower()}" if c.isupper() else c for c in key).replace("_", " ")
    return spaced.strip().capitalize()


def sentence(label: str) -> str:
    """``Settings Changed`` → ``Settings changed``: labels in sentence case."""
    text = str(label)
    return text[:1].upper() + text[1:].lower()


def file_label(name: str) -> str:
    return FILE_LABELS.get(name, words(name))


def passback_counts_text(bucket: dict[str, int]) -> str:
    """``1,774 sent, 404 hidden from students, not sent``: non-zero outcomes, largest first."""
    parts = sorted(((v, k) for k, v in bucket.items() if v), reverse=True)
    return ", ".join(f"{number(v)} {PASSBACK_OUTCOMES.get(k, words(k).lower())}" for v, k in parts)


def age(value: dt.datetime | None, *, now: dt.datetime | None = None) -> str:
    """``"3 h ago"``: how long ago, in the largest unit that is at least one."""
    if value is None:
        return ""
    seconds = int(((now or timezone.now()) - value).total_seconds())
    if seconds < 0:
        return "just now"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return "just now"


def duration(seconds: float | None) -> str:
    """``"4 min 12 s"``, ``"1 h 3 min"``, ``"9 s"``."""
    if seconds is None:
        return ""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


def run_seconds(run: SyncRun, *, now: dt.datetime | None = None) -> float | None:
    """How long the run took (or has taken so far), from start to end, waits included."""
    if run.started_at is None:
        return None
    end = run.finished_at or now or timezone.now()
    return (end - run.started_at).total_seconds()


def run_waited_seconds(run: SyncRun, *, now: dt.datetime | None = None) -> float:
    """How long the run was held, waiting for a person: from the hold (stored as
    ``progress["held_at"]``; before that was stored, the start of planning) to the decision,
    or until now while it is still held. Zero for a run never held."""
    if run.status != S.HELD and run.decided_at is None:
        return 0.0
    progress = run.progress or {}
    stamp = progress.get("held_at") or (progress.get("phase_started") or {}).get("planning")
    held_since = dt.datetime.fromisoformat(stamp) if stamp else run.started_at
    end = run.decided_at or (now or timezone.now())
    if held_since is None or end < held_since:
        return 0.0
    return (end - held_since).total_seconds()


def run_worked_seconds(run: SyncRun, *, now: dt.datetime | None = None) -> float | None:
    """The time the run spent working: start to end, less the time it waited to be approved."""
    total = run_seconds(run, now=now)
    if total is None:
        return None
    return max(total - run_waited_seconds(run, now=now), 0.0)


def changed_rows(counts: dict[str, Any] | None) -> int:
    """Created, updated and dropped rows over every file of a provisioning run's counts."""
    total = 0
    for value in (counts or {}).values():
        if isinstance(value, dict):
            total += sum(int(value.get(action, 0) or 0) for action in ("create", "update", "drop"))
    return total


def changes_text(run: SyncRun) -> str:
    """One line of what a run changed, in its own kind's words."""
    counts = run.counts or {}
    if run.kind == SyncRun.Kind.EVALUATION:
        users = counts.get("users") or {}
        if not users:
            return ""
        matched = sum(users.get(k, 0) for k in ("matched_sis_id", "matched_login", "matched_email"))
        new, orphan = users.get("new", 0), users.get("orphan", 0)
        return f"Users: {matched:,} matched, {new:,} new, {orphan:,} only in Canvas"
    if run.kind == SyncRun.Kind.PASSBACK:
        shown = passback_counts_text(counts.get("results") or {})
        return f"Scores: {shown}" if shown else ""
    return plan_text(counts)


def plan_text(counts: dict[str, Any]) -> str:
    """``Users: 1,280 new, 14 updated; Courses: 96 new``: a plan's or run's changes."""
    order = [*FILES, *(name for name in counts if name not in FILES)]
    parts = []
    for file in order:
        c = counts.get(file)
        if not isinstance(c, dict):
            continue
        changed = [
            f"{c[action]:,} {verb}"
            for verb, action in (("new", "create"), ("updated", "update"), ("dropped", "drop"))
            if c.get(action)
        ]
        if changed:
            parts.append(f"{file_label(file)}: {', '.join(changed)}")
    return "; ".join(parts)


def value_words(name: str, value: Any) -> str:
    """A stored value as words: yes/no, a choice's label, a count with separators."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return number(value)
    if isinstance(value, dict):
        return ", ".join(f"{words(k)}: {value_words(k, v)}" for k, v in value.items()) or "—"
    if isinstance(value, list | tuple):
        return ", ".join(value_words(name, v) for v in value) or "—"
    try:
        field = District._meta.get_field(name)
    except FieldDoesNotExist:  # not a district setting: shown as it is
        field = None
    choices = dict(field.flatchoices) if field is not None and field.choices else {}
    return str(choices.get(value, value))


def audit_lines(changes: dict[str, Any] | None) -> list[tuple[str, str]]:
    """An audit row's changes as ("Setting", "before → after") lines, in words; secrets read
    "(changed)"."""
    lines = []
    for name, value in (changes or {}).items():
        label = OTHER_KEYS.get(name) or district_field_label(name)
        if name == "counts" and isinstance(value, dict):
            text = plan_text(value) or "no changes"
        elif isinstance(value, list) and len(value) == 2:
            before, after = (value_words(name, v) for v in value)
            text = f"{before} → {after}"
        else:
            text = value_words(name, value)
        lines.append((label, text if len(text) <= 160 else text[:157] + "…"))
    return lines
