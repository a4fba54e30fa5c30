from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Districts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in
        from django.test.signals import setting_changed
        from django_otp.forms import otp_verification_failed

        from tenants import signals

        setting_changed.connect(signals.settings_changed, dispatch_uid="tenants.fernet_keys")
        otp_verification_failed.connect(signals.otp_failed, dispatch_uid="tenants.otp_failed")
        user_logged_in.connect(signals.logged_in, dispatch_uid="tenants.logged_in")
