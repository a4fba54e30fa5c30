from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate

from runs.registry import run_kind_register
from tenants.signals import schedules_sync


class ProvisioningConfig(AppConfig):
    name = "provisioning"
    verbose_name = "Provisioning"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here, not at the top: these modules import models, which may only load
        # once the app registry is ready (Django imports apps.py before that).
        from provisioning.run_kind import PROVISIONING
        from provisioning.services.schedules import schedules_sync_receive

        # Periodic tasks are defined in code and recreated at every deploy's migrate.
        post_migrate.connect(schedules_sync_receive, sender=self)
        # A district's schedules follow its settings (``tenants.services.districts``).
        schedules_sync.connect(schedules_sync_receive, dispatch_uid="provisioning.schedules")
        # The run core creates, runs and cleans up provisioning runs through this.
        run_kind_register(PROVISIONING)
