"""Per-district beat schedules (django-celery-beat's database scheduler).

Each district gets two periodic tasks, both at its local ``delta_time`` (default 22:30,
after Infinite Campus's nightly 22:10 cache refresh): a delta on every day but
``full_sync_weekday``, and a full run on that day. A district that is not active has both
disabled. ``district_schedule_sync`` is idempotent; the tenants services call it after a
settings change, and the ``sync`` command calls it too. The reaper runs every five minutes.
"""

from __future__ import annotations

import json

from django.db import transaction
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from tenants.models import District

REAPER_NAME = "provisioning: reap stalled runs"
REAPER_EVERY_MINUTES = 5
#: A scheduled message not picked up within this many seconds is dropped, not piled up.
SCHEDULED_EXPIRES_SECONDS = 6 * 3600


def schedule_task_name(district: District, kind: str) -> str:
    return f"provisioning: {kind} sync of district #{district.pk}"


def cron_weekday(weekday: int) -> str:
    """District weekdays count from Monday = 0; cron counts from Sunday = 0."""
    return str((weekday + 1) % 7)


def provisioning_periodic_tasks_ensure() -> None:
    """The deployment-wide reaper (every 5 minutes: https://crontab.guru/#*/5_*_*_*_*)."""
    every, _ = IntervalSchedule.objects.get_or_create(
        every=REAPER_EVERY_MINUTES, period=IntervalSchedule.MINUTES
    )
    PeriodicTask.objects.update_or_create(
        name=REAPER_NAME,
        defaults={
            "task": "provisioning.reap_runs",
            "interval": every,
            "crontab": None,
            "enabled": True,
        },
    )


@transaction.atomic
def district_schedule_sync(district: District) -> tuple[PeriodicTask, PeriodicTask]:
    """Create or update the district's nightly delta and weekly full schedules."""
    at = district.delta_time
    full_day = cron_weekday(district.full_sync_weekday)
    other_days = ",".join(cron_weekday(d) for d in range(7) if d != district.full_sync_weekday)
    enabled = district.status == District.Status.ACTIVE
    tasks = []
    # e.g. 22:30 daily but Saturday: https://crontab.guru/#30_22_*_*_0,1,2,3,4,5
    for kind, days in (("delta", other_days), ("full", full_day)):
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=str(at.minute),
            hour=str(at.hour),
            day_of_week=days,
            day_of_month="*",
            month_of_year="*",
            timezone=district.timezone,
        )
        task, _ = PeriodicTask.objects.update_or_create(
            name=schedule_task_name(district, kind),
            defaults={
                "task": "provisioning.scheduled_sync",
                "crontab": crontab,
                "interval": None,
                "args": json.dumps([district.pk, kind]),
                "enabled": enabled,
                "expire_seconds": SCHEDULED_EXPIRES_SECONDS,
                "description": f"{kind.title()} provisioning of {district.name} ({district.slug}) "
                f"at {at:%H:%M} {district.timezone}",
            },
        )
        tasks.append(task)
    provisioning_periodic_tasks_ensure()
    return tasks[0], tasks[1]


def schedules_sync_receive(
    sender: object, *, district: District | None = None, **kwargs: object
) -> None:
    """Receiver of ``tenants.signals.schedules_sync`` and ``post_migrate``: one district's
    schedules, or (no district) the deployment-wide ones, recreated at every migrate."""
    if district is None:
        provisioning_periodic_tasks_ensure()
    else:
        district_schedule_sync(district)
