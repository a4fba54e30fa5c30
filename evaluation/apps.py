from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    name = "evaluation"
    verbose_name = "Conversion evaluation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The run core creates and runs evaluations through this.
        from evaluation.run_kind import EVALUATION
        from runs.registry import run_kind_register

        run_kind_register(EVALUATION)
