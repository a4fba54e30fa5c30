from django.apps import AppConfig


class GradepassbackConfig(AppConfig):
    name = "gradepassback"
    verbose_name = "Grade passback"
    default_auto_field = "django.db.models.BigAutoField"
