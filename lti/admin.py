"""The LTI registration in Django's admin: edited through ``lti_platform_save`` (audited)."""

from __future__ import annotations

from django.contrib import admin

from lti.models import LtiKey, LtiPlatform
from lti.services.platforms import PLATFORM_FIELDS, lti_platform_save


class LtiKeyInline(admin.TabularInline):
    model = LtiKey
    fields = ("kid", "created_at", "retired_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(LtiPlatform)
class LtiPlatformAdmin(admin.ModelAdmin):
    list_display = ("district", "issuer", "client_id", "deployment_id", "updated_at")
    search_fields = ("district__slug", "district__name", "issuer", "client_id")
    fields = ("district", *PLATFORM_FIELDS)
    inlines = [LtiKeyInline]

    def get_readonly_fields(self, request, obj=None):
        return ("district",) if obj is not None else ()

    def save_model(self, request, obj, form, change) -> None:
        saved = lti_platform_save(
            district=obj.district,
            actor=request.user,
            values={name: form.cleaned_data[name] for name in PLATFORM_FIELDS},
        )
        obj.pk = saved.pk
