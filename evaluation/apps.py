from django.apps import AppConfig

from runs.registry import run_kind_register


class EvaluationConfig(AppConfig):
    name = "evaluation"
    verbose_name = "Conversion evaluation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here, not at the top: the run kind imports models, which may only load
        # once the app registry is ready (Django imports apps.py before that).
        from evaluation.run_kind import EVALUATION

        # The run core creates and runs evaluations through this.
        run_kind_register(EVALUATION)
