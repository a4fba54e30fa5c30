"""How times, durations, statuses and counts read on console pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from runs.models import SyncRun

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
}
KIND_SHORT = {
    SyncRun.Kind.DELTA: "Delta",
    SyncRun.Kind.FULL: "Full",
    SyncRun.Kind.DRY_RUN: "Dry run",
    SyncRun.Kind.PASSBACK: "Passback",
    SyncRun.Kind.EVALUATION: "Evaluation",
}


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
    """How long the run took (or has taken so far)."""
    if run.started_at is None:
        return None
    end = run.finished_at or now or timezone.now()
    return (end - run.started_at).total_seconds()


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
        return f"users: {matched:,} matched, {new:,} new, {orphan:,} only in Canvas"
    if run.kind == SyncRun.Kind.PASSBACK:
        results = counts.get("results") or {}
        shown = ", ".join(f"{k} {v:,}" for k, v in results.items() if v)
        return f"results: {shown}" if shown else ""
    from provisioning.mapping import FILES

    order = [*FILES, *(name for name in counts if name not in FILES)]
    parts = []
    for file in order:
        c = counts.get(file)
        if not isinstance(c, dict):
            continue
        changed = [
            f"{sign}{c[action]:,}"
            for sign, action in (("+", "create"), ("~", "update"), ("-", "drop"))
            if c.get(action)
        ]
        if changed:
            parts.append(f"{file} {' '.join(changed)}")
    return "; ".join(parts)


def audit_lines(changes: dict[str, Any] | None) -> list[tuple[str, str]]:
    """An audit row's changes as (field, "before → after") lines; secrets read "(changed)"."""
    lines = []
    for name, value in (changes or {}).items():
        if isinstance(value, list) and len(value) == 2:
            before, after = ("—" if v in (None, "") else str(v) for v in value)
            text = f"{before} → {after}"
        else:
            text = str(value)
        lines.append((name, text if len(text) <= 160 else text[:157] + "…"))
    return lines
