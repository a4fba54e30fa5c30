from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "sandbox"
    verbose_name = "Sandbox (simulated Infinite Campus and Canvas)"
    default_auto_field = "django.db.models.BigAutoField"
