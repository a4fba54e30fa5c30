from django.apps import AppConfig


class LtiConfig(AppConfig):
    name = "lti"
    verbose_name = "LTI grade sync"
    default_auto_field = "django.db.models.BigAutoField"
