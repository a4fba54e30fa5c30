from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_periodic_tasks(sender: AppConfig, **kwargs: object) -> None:
    from gradepassback.services.schedules import passback_periodic_tasks_ensure

    passback_periodic_tasks_ensure()


class GradepassbackConfig(AppConfig):
    name = "gradepassback"
    verbose_name = "Grade passback"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Periodic tasks are defined in code and recreated at every deploy's migrate; the
        # per-district schedule follows the district's settings through
        # ``tenants.services.districts`` (it calls ``passback_schedule_sync``).
        post_migrate.connect(_ensure_periodic_tasks, sender=self)
        # The run core creates and runs passback runs through this.
        from gradepassback.run_kind import PASSBACK
        from runs.registry import run_kind_register

        run_kind_register(PASSBACK)
