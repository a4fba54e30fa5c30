from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_periodic_tasks(sender: AppConfig, **kwargs: object) -> None:
    from provisioning.services.schedules import provisioning_periodic_tasks_ensure

    provisioning_periodic_tasks_ensure()


class ProvisioningConfig(AppConfig):
    name = "provisioning"
    verbose_name = "Provisioning"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Periodic tasks are defined in code and recreated at every deploy's migrate.
        post_migrate.connect(_ensure_periodic_tasks, sender=self)
        # The run core creates, runs and cleans up provisioning runs through this.
        from provisioning.run_kind import PROVISIONING
        from runs.registry import run_kind_register

        run_kind_register(PROVISIONING)
