"""Per-district passback schedules (django-celery-beat's database scheduler).

One periodic task per district: nightly at ``NIGHTLY_AT`` local time (after the nightly
provisioning delta, which starts at 22:30 by default, has had hours to finish) or hourly
at ``HOURLY_MINUTE`` past the hour, per ``District.passback_schedule``. It is enabled only
while the district is active, passback is on and the schedule is not ``off``. A run that
finds another run active is skipped (one run per district). The passback reaper runs every
five minutes. ``passback_schedule_sync`` is idempotent; the tenants services call it
after every settings change, in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import json

from django.db import transaction
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from tenants.models import District

NIGHTLY_AT = dt.time(3, 0)
HOURLY_MINUTE = 45
REAPER_NAME = "gradepassback: reap stalled passback runs"
REAPER_EVERY_MINUTES = 5
#: A scheduled message not picked up within this many seconds is dropped, not piled up.
NIGHTLY_EXPIRES_SECONDS = 6 * 3600
HOURLY_EXPIRES_SECONDS = 50 * 60


def passback_task_name(district: District) -> str:
    return f"gradepassback: passback of district #{district.pk}"


def passback_periodic_tasks_ensure() -> None:
    """The deployment-wide passback reaper (https://crontab.guru/#*/5_*_*_*_*)."""
    every, _ = IntervalSchedule.objects.get_or_create(
        every=REAPER_EVERY_MINUTES, period=IntervalSchedule.MINUTES
    )
    PeriodicTask.objects.update_or_create(
        name=REAPER_NAME,
        defaults={
            "task": "gradepassback.reap_runs",
            "interval": every,
            "crontab": None,
            "enabled": True,
        },
    )


@transaction.atomic
def passback_schedule_sync(*, district: District) -> PeriodicTask:
    """Create or update the district's passback schedule to match its settings."""
    hourly = district.passback_schedule == District.PassbackSchedule.HOURLY
    if hourly:
        # https://crontab.guru/#45_*_*_*_*
        minute, hour = str(HOURLY_MINUTE), "*"
        when = f"hourly at :{HOURLY_MINUTE:02d}"
    else:
        # https://crontab.guru/#0_3_*_*_*
        minute, hour = str(NIGHTLY_AT.minute), str(NIGHTLY_AT.hour)
        when = f"nightly at {NIGHTLY_AT:%H:%M}"
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute=minute,
        hour=hour,
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone=district.timezone,
    )
    enabled = (
        district.status == District.Status.ACTIVE
        and district.passback_enabled
        and district.passback_schedule != District.PassbackSchedule.OFF
    )
    task, _ = PeriodicTask.objects.update_or_create(
        name=passback_task_name(district),
        defaults={
            "task": "gradepassback.scheduled_passback",
            "crontab": crontab,
            "interval": None,
            "args": json.dumps([district.pk]),
            "enabled": enabled,
            "expire_seconds": HOURLY_EXPIRES_SECONDS if hourly else NIGHTLY_EXPIRES_SECONDS,
            "description": f"Grade passback of {district.name} ({district.slug}), "
            f"{when} {district.timezone}",
        },
    )
    passback_periodic_tasks_ensure()
    return task


def schedules_sync_receive(
    sender: object, *, district: District | None = None, **kwargs: object
) -> None:
    """Receiver of ``tenants.signals.schedules_sync`` and ``post_migrate``: one district's
    schedules, or (no district) the deployment-wide ones, recreated at every migrate."""
    if district is None:
        passback_periodic_tasks_ensure()
    else:
        passback_schedule_sync(district=district)
