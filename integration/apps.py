from django.apps import AppConfig


class IntegrationConfig(AppConfig):
    """The project package as an app, for its management commands (demo, periodic tasks)."""

    name = "integration"
    verbose_name = "Integration"
