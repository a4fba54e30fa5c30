"""The lease a worker holds on a run: how long a silent run counts as alive.

Short on purpose: a killed worker frees its district within one lease, and a live worker
renews it at every heartbeat (every third of the lease), so only a dead one lets it lapse.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings


def lease_seconds() -> float:
    return float(settings.RUN_LEASE_SECONDS)


def lease() -> dt.timedelta:
    return dt.timedelta(seconds=lease_seconds())


def heartbeat_every_seconds() -> float:
    """How often a busy run proves it is alive (and extends its lock)."""
    return lease_seconds() / 3
