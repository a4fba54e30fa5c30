"""Provisioning settings, each overridable in Django settings (and so from the environment
by the settings module). Read at call time, so tests can override them per test."""

from __future__ import annotations

from django.conf import settings

#: Most a run waits for a Canvas import to finish before failing (a large district's first
#: full import takes Canvas tens of minutes; canvas.md §3).
IMPORT_TIMEOUT_DEFAULT = 4 * 3600
#: Longest pause between two polls of an import's status.
IMPORT_POLL_MAX_DEFAULT = 5.0
#: Most a run waits for somebody else's import on the account to finish before it gives up.
CANVAS_BUSY_WAIT_DEFAULT = 1800
#: Re-read this much before the last run's newest change: a record changed while the SIS
#: cache was refreshing can carry a timestamp slightly older than the newest one we saw.
DELTA_OVERLAP_SECONDS_DEFAULT = 300


def import_timeout() -> float:
    return float(getattr(settings, "PROVISIONING_IMPORT_TIMEOUT", IMPORT_TIMEOUT_DEFAULT))


def import_poll_max() -> float:
    return float(getattr(settings, "PROVISIONING_IMPORT_POLL_MAX", IMPORT_POLL_MAX_DEFAULT))


def canvas_busy_wait() -> float:
    return float(getattr(settings, "PROVISIONING_CANVAS_BUSY_WAIT", CANVAS_BUSY_WAIT_DEFAULT))


def delta_overlap_seconds() -> int:
    return int(
        getattr(settings, "PROVISIONING_DELTA_OVERLAP_SECONDS", DELTA_OVERLAP_SECONDS_DEFAULT)
    )
