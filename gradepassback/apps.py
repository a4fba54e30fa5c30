from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate

from runs.registry import run_kind_register
from tenants.signals import schedules_sync


class GradepassbackConfig(AppConfig):
    name = "gradepassback"
    verbose_name = "Grade passback"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here, not at the top: these modules import models, which may only load
        # once the app registry is ready (Django imports apps.py before that).
        from gradepassback.run_kind import PASSBACK
        from gradepassback.services.schedules import schedules_sync_receive

        # Periodic tasks are defined in code and recreated at every deploy's migrate.
        post_migrate.connect(schedules_sync_receive, sender=self)
        # The per-district schedule follows the district's settings
        # (``tenants.services.districts`` sends ``schedules_sync``).
        schedules_sync.connect(schedules_sync_receive, dispatch_uid="gradepassback.schedules")
        # The run core creates and runs passback runs through this.
        run_kind_register(PASSBACK)
