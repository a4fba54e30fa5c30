from django.apps import AppConfig
from django.db.models.signals import post_save


class RunsConfig(AppConfig):
    name = "runs"
    verbose_name = "Runs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported once the app registry is ready: the receiver's module imports the models.
        from runs.services.notifications import run_status_saved

        post_save.connect(
            run_status_saved, sender="runs.SyncRun", dispatch_uid="runs.run_notifications"
        )
