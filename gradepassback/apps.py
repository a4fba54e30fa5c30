from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate, post_save

#: District fields that shape its passback schedule.
SCHEDULE_FIELDS = frozenset({"passback_schedule", "passback_enabled", "status", "timezone"})


def _ensure_periodic_tasks(sender: AppConfig, **kwargs: object) -> None:
    from gradepassback.services.schedules import passback_periodic_tasks_ensure

    passback_periodic_tasks_ensure()


def _district_saved(sender: Any, instance: Any, update_fields: Any = None, **kwargs: Any) -> None:
    """Keep the district's passback schedule in step with its settings.

    A receiver rather than a call in ``tenants.services`` so the tenants app needs no
    knowledge of passback; saves that touch none of ``SCHEDULE_FIELDS`` are ignored.
    """
    if update_fields is not None and not SCHEDULE_FIELDS & set(update_fields):
        return
    from gradepassback.services.schedules import passback_schedule_sync

    passback_schedule_sync(district=instance)


class GradepassbackConfig(AppConfig):
    name = "gradepassback"
    verbose_name = "Grade passback"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tenants.models import District

        # Periodic tasks are defined in code and recreated at every deploy's migrate.
        post_migrate.connect(_ensure_periodic_tasks, sender=self)
        post_save.connect(_district_saved, sender=District, dispatch_uid="gradepassback-schedule")
