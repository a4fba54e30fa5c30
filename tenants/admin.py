"""The staff console for districts: options, credentials, intake links, checks, audit log.

Every change goes through ``tenants.services`` so it is validated and audited; secrets are
write-only (the pages show the last 4 characters at most).
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.views.decorators.debug import sensitive_post_parameters

from tenants import permissions
from tenants.admin_filters import AssignedDistrictFilter
from tenants.forms import (
    DistrictCreateForm,
    DistrictCredentialsForm,
    DistrictOptionsForm,
    PartnerCredentialForm,
)
from tenants.labels import DISTRICT_SETTINGS_GROUPS, district_field_label
from tenants.models import (
    SECRET_FIELDS,
    AuditEvent,
    District,
    IntakeLink,
    PartnerCredential,
    StagedCredentials,
    district_secret_paths,
)
from tenants.selectors import district_credential_warning
from tenants.services.audit import actor_label_for
from tenants.services.connection_check import STEP_TITLES
from tenants.services.districts import (
    district_create,
    district_credentials_set,
    district_update,
    mask_secret,
    partner_credentials_set,
)
from tenants.services.intake import (
    IntakeLinkClosed,
    intake_link_create,
    intake_link_revoke,
    intake_link_url,
)
from tenants.services.staging import (
    StagedCredentialsError,
    staged_credentials_approve,
    staged_credentials_reject,
)
from tenants.tasks import district_check as district_check_task
from tenants.tasks import staged_credentials_check as staged_check_task

CHECK_QUEUED = "Connection check queued for {names}. Reload this page in a minute for the result."
SECRET_POST_FIELDS = (*SECRET_FIELDS, "vendor_key", "vendor_secret", "otp_token")


def _queue_checks(request: HttpRequest, districts: list[District]) -> None:
    actor_id = request.user.pk
    for district in districts:
        transaction.on_commit(
            lambda district_id=district.pk: district_check_task.delay(district_id, actor_id)
        )


@admin.register(District)
class DistrictAdmin(admin.ModelAdmin):
    form = DistrictOptionsForm
    add_form = DistrictCreateForm
    change_form_template = "tenants/admin/district_change_form.html"
    list_display = ("name", "slug", "status", "check_status", "credential_status", "term_mode")
    list_filter = ("status", "last_check_ok", "term_mode", "passback_enabled")
    search_fields = ("name", "slug")
    readonly_fields = ("slug", "secrets_summary", "check_result")
    actions = ("run_connection_check",)
    # The settings groups are the console's (``tenants.labels``), with the read-only panels
    # after the connection settings.
    fieldsets = (
        (None, {"fields": ("slug",)}),
        *(
            (title, {"fields": names, "description": help_text})
            for title, help_text, names in DISTRICT_SETTINGS_GROUPS[:5]
        ),
        ("Secrets (write-only)", {"fields": ("secrets_summary",)}),
        ("Last connection check", {"fields": ("check_result",)}),
        *(
            (title, {"fields": names, "description": help_text})
            for title, help_text, names in DISTRICT_SETTINGS_GROUPS[5:]
        ),
    )

    # --- list columns --------------------------------------------------------------------

    @admin.display(description="Last check", ordering="last_check_at")
    def check_status(self, district: District) -> str:
        if district.last_check_at is None:
            return "never run"
        label = {True: "passed", False: "FAILED", None: "unknown"}[district.last_check_ok]
        return f"{label}, {timezone.localtime(district.last_check_at):%Y-%m-%d %H:%M}"

    @admin.display(description="OneRoster key", ordering="credentials_expire_on")
    def credential_status(self, district: District) -> str:
        warning = district_credential_warning(district=district)
        if warning:
            return format_html('<strong class="errornote-inline">⚠ {}</strong>', warning)
        if district.credentials_expire_on:
            return f"expires {district.credentials_expire_on:%Y-%m-%d}"
        return "—"

    # --- read-only panels ----------------------------------------------------------------

    @admin.display(description="Stored secrets")
    def secrets_summary(self, district: District) -> str:
        rows = format_html_join(
            "",
            "<li>{}: {}</li>",
            (
                (district_field_label(name), mask_secret(getattr(district, name)))
                for name in SECRET_FIELDS
            ),
        )
        return format_html("<ul>{}</ul>Use “Replace credentials” to change them.", rows)

    @admin.display(description="Result")
    def check_result(self, district: District) -> str:
        if district.last_check_at is None:
            return "The connection check has not run yet."
        icons = {True: "✔", False: "✘", None: "-"}
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (icons[step.get("ok")], STEP_TITLES.get(step["name"], step["name"]), step["reason"])
                for step in district.last_check_steps
            ),
        )
        return format_html(
            "<p>{} at {}</p><table>{}</table>",
            "Passed" if district.last_check_ok else "Failed",
            timezone.localtime(district.last_check_at).strftime("%Y-%m-%d %H:%M"),
            rows,
        )

    # --- forms and saving through the services --------------------------------------------

    def get_fieldsets(self, request: HttpRequest, obj: District | None = None) -> Any:
        if obj is None:
            return ((None, {"fields": DistrictCreateForm._meta.fields}),)
        return super().get_fieldsets(request, obj)

    def get_form(self, request: HttpRequest, obj: District | None = None, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = self.add_form
            kwargs["fields"] = DistrictCreateForm._meta.fields
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: District | None = None) -> Any:
        return self.readonly_fields if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: District, form: Any, change: bool) -> None:
        label = actor_label_for(request.user)
        if change:
            changes = {name: form.cleaned_data[name] for name in form.changed_data}
            if changes:
                district_update(
                    district=obj, actor=request.user, actor_label=label, changes=changes
                )
            return
        created = district_create(actor=request.user, actor_label=label, **form.cleaned_data)
        obj.pk = created.pk

    def has_delete_permission(self, request: HttpRequest, obj: District | None = None) -> bool:
        # Districts keep their audit history (PROTECT); pause them instead.
        return False

    # --- actions and extra pages -----------------------------------------------------------

    def has_check_permission(self, request: HttpRequest) -> bool:
        return permissions.can(request.user, "check_district")

    @admin.action(description="Run the connection check", permissions=["check"])
    def run_connection_check(self, request: HttpRequest, queryset) -> None:
        districts = list(queryset)
        _queue_checks(request, districts)
        names = ", ".join(d.name for d in districts)
        self.message_user(request, CHECK_QUEUED.format(names=names), messages.SUCCESS)

    def get_urls(self) -> list:
        wrap = self.admin_site.admin_view
        return [
            path(
                "<int:district_id>/credentials/",
                wrap(self.credentials_view),
                name="tenants_district_credentials",
            ),
            path(
                "<int:district_id>/intake-link/",
                wrap(self.intake_link_view),
                name="tenants_district_intake_link",
            ),
            path(
                "<int:district_id>/check/",
                wrap(self.check_view),
                name="tenants_district_check",
            ),
            *super().get_urls(),
        ]

    def get_queryset(self, request: HttpRequest):
        return permissions.scoped(request.user, super().get_queryset(request))

    def _district_for(self, request: HttpRequest, district_id: int, capability: str) -> District:
        district = get_object_or_404(self.get_queryset(request), pk=district_id)
        permissions.require(request.user, capability)
        return district

    def _district_for_change(self, request: HttpRequest, district_id: int) -> District:
        district = get_object_or_404(self.get_queryset(request), pk=district_id)
        if not self.has_change_permission(request, district):
            raise PermissionDenied
        return district

    def _change_url(self, district: District) -> str:
        return reverse(f"{self.admin_site.name}:tenants_district_change", args=[district.pk])

    @method_decorator(sensitive_post_parameters(*SECRET_POST_FIELDS))
    def credentials_view(self, request: HttpRequest, district_id: int) -> HttpResponse:
        district = self._district_for_change(request, district_id)
        form = DistrictCredentialsForm(request.POST or None, district=district, user=request.user)
        if request.method == "POST" and form.is_valid():
            values = form.credential_values()
            if values:
                district_credentials_set(
                    district=district,
                    actor=request.user,
                    actor_label=actor_label_for(request.user),
                    **values,
                )
                self.message_user(request, "Credentials replaced.", messages.SUCCESS)
            else:
                self.message_user(request, "Nothing changed.", messages.INFO)
            return HttpResponseRedirect(self._change_url(district))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Replace credentials: {district.name}",
            "district": district,
            "form": form,
            "opts": self.model._meta,
            "change_url": self._change_url(district),
        }
        return TemplateResponse(request, "tenants/admin/district_credentials.html", context)

    def intake_link_view(self, request: HttpRequest, district_id: int) -> HttpResponse:
        district = self._district_for(request, district_id, "create_intake_link")
        if request.method != "POST":
            return HttpResponseRedirect(self._change_url(district))
        link, token = intake_link_create(
            district=district, actor=request.user, actor_label=actor_label_for(request.user)
        )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Intake link for {district.name}",
            "district": district,
            "link": link,
            "url": intake_link_url(token=token),
            "opts": self.model._meta,
            "change_url": self._change_url(district),
        }
        # admin_view() marks the response never_cache: the token exists only in this page.
        return render(request, "tenants/admin/intake_link_created.html", context)

    def check_view(self, request: HttpRequest, district_id: int) -> HttpResponse:
        district = self._district_for(request, district_id, "check_district")
        if request.method == "POST":
            _queue_checks(request, [district])
            self.message_user(request, CHECK_QUEUED.format(names=district.name), messages.SUCCESS)
        return HttpResponseRedirect(self._change_url(district))


@admin.register(IntakeLink)
class IntakeLinkAdmin(admin.ModelAdmin):
    """Links are created from a district's page (the URL is shown once); here they are listed
    and can be revoked."""

    list_display = ("district", "state", "created_by", "created_at", "expires_at", "used_at")
    list_filter = (("district", AssignedDistrictFilter),)
    list_select_related = ("district", "created_by")
    fields = (
        "district",
        "state",
        "created_by",
        "created_at",
        "expires_at",
        "used_at",
        "revoked_at",
    )
    readonly_fields = fields
    actions = ("revoke",)

    def get_queryset(self, request: HttpRequest):
        queryset = super().get_queryset(request).defer(*district_secret_paths("district"))
        return permissions.scoped(request.user, queryset, via="district")

    @admin.display(description="State")
    def state(self, link: IntakeLink) -> str:
        return link.state

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: IntakeLink | None = None) -> bool:
        return False

    @admin.action(description="Revoke the selected links", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset) -> None:
        revoked = 0
        for link in queryset:
            try:
                intake_link_revoke(
                    link=link, actor=request.user, actor_label=actor_label_for(request.user)
                )
            except IntakeLinkClosed as exc:
                self.message_user(
                    request, f"Link {link.pk} was not open ({exc.state}).", messages.WARNING
                )
            else:
                revoked += 1
        if revoked:
            self.message_user(request, f"Revoked {revoked} link(s).", messages.SUCCESS)


@admin.register(StagedCredentials)
class StagedCredentialsAdmin(admin.ModelAdmin):
    """Credentials an intake link submitted for a district in use, waiting for review.

    Approving needs the ``approve_stagedcredentials`` permission and a passed check against
    the staged credentials; secrets show as set or not, never as values.
    """

    list_display = ("district", "status", "created_at", "check_ok", "checked_at", "decided_label")
    list_filter = ("status",)
    list_select_related = ("district",)
    fields = (
        "district",
        "status",
        "created_at",
        "oneroster_base_url",
        "oneroster_token_url",
        "oneroster_client_id",
        "secrets_set",
        "checked_at",
        "check_ok",
        "check_result",
        "decided_at",
        "decided_label",
    )
    readonly_fields = fields
    actions = ("approve", "reject", "run_check")

    def get_queryset(self, request: HttpRequest):
        own_secrets = [f.name for f in StagedCredentials._meta.fields if f.name in SECRET_FIELDS]
        queryset = (
            super().get_queryset(request).defer(*own_secrets, *district_secret_paths("district"))
        )
        return permissions.scoped(request.user, queryset, via="district")

    @admin.display(description="Secrets submitted")
    def secrets_set(self, staged: StagedCredentials) -> str:
        names = [
            name.replace("oneroster_", "").replace("_", " ")
            for name in (
                "oneroster_client_secret",
                "oneroster_vendor_key",
                "oneroster_vendor_secret",
            )
            if getattr(staged, name)
        ]
        return ", ".join(names) or "none (cleared once decided)"

    @admin.display(description="Check steps")
    def check_result(self, staged: StagedCredentials) -> str:
        return format_html_join(
            "\n",
            "<div>{}: {}</div>",
            (
                (STEP_TITLES.get(step["name"], step["name"]), step["reason"])
                for step in staged.check_steps
            ),
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return permissions.can(request.user, "review_credentials")

    def _decide(self, request: HttpRequest, queryset, decide, verb: str) -> None:
        done = 0
        for staged in queryset.select_related("district"):
            try:
                decide(staged=staged, actor=request.user, actor_label=actor_label_for(request.user))
            except StagedCredentialsError as exc:
                self.message_user(request, f"{staged.district}: {exc}", messages.WARNING)
            else:
                done += 1
        if done:
            self.message_user(request, f"{verb} {done} change(s).", messages.SUCCESS)

    @admin.action(
        description="Approve: make the selected credentials live", permissions=["approve"]
    )
    def approve(self, request: HttpRequest, queryset) -> None:
        self._decide(request, queryset, staged_credentials_approve, "Approved")

    @admin.action(description="Reject the selected credentials", permissions=["approve"])
    def reject(self, request: HttpRequest, queryset) -> None:
        self._decide(request, queryset, staged_credentials_reject, "Rejected")

    @admin.action(description="Run the connection check against them", permissions=["approve"])
    def run_check(self, request: HttpRequest, queryset) -> None:
        pending = list(queryset.filter(status=StagedCredentials.Status.PENDING))
        for staged in pending:
            transaction.on_commit(lambda staged_id=staged.pk: staged_check_task.delay(staged_id))
        self.message_user(request, CHECK_QUEUED.format(names=", ".join(map(str, pending))))


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only for everyone: the database refuses UPDATE and DELETE on this table too."""

    list_display = ("created_at", "actor_label", "action", "district", "target")
    list_filter = ("action", ("district", AssignedDistrictFilter))
    list_select_related = ("district",)
    search_fields = ("actor_label", "target", "district__name", "district__slug")
    date_hierarchy = "created_at"
    fields = (
        "created_at",
        "actor",
        "actor_label",
        "action",
        "district",
        "target",
        "changes_pretty",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest):
        queryset = super().get_queryset(request).defer(*district_secret_paths("district"))
        return permissions.scoped(request.user, queryset, via="district")

    @admin.display(description="Changes")
    def changes_pretty(self, event: AuditEvent) -> str:
        return format_html("<pre>{}</pre>", json.dumps(event.changes, indent=2, sort_keys=True))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False


@admin.register(PartnerCredential)
class PartnerCredentialAdmin(admin.ModelAdmin):
    """The deployment-wide gradebook vendor key: one write-only form instead of a list."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: PartnerCredential | None = None
    ) -> bool:
        return False

    @method_decorator(sensitive_post_parameters(*SECRET_POST_FIELDS))
    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> Any:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        partner = PartnerCredential.objects.filter(pk=PartnerCredential.SINGLETON_ID).first()
        can_change = self.has_change_permission(request)
        form = PartnerCredentialForm(
            request.POST if request.method == "POST" and can_change else None,
            current_key=partner.vendor_key if partner else None,
            user=request.user,
        )
        if request.method == "POST" and can_change and form.is_valid():
            partner_credentials_set(
                actor=request.user,
                actor_label=actor_label_for(request.user),
                vendor_key=form.cleaned_data["vendor_key"],
                vendor_secret=form.cleaned_data["vendor_secret"],
            )
            self.message_user(request, "Gradebook partner key replaced.", messages.SUCCESS)
            return HttpResponseRedirect(request.path)
        context = {
            **self.admin_site.each_context(request),
            "title": "Gradebook partner key",
            "form": form,
            "can_change": can_change,
            "opts": self.model._meta,
            "updated_at": partner.updated_at if partner else None,
        }
        return TemplateResponse(request, "tenants/admin/partner_credential.html", context)

    def change_view(self, request: HttpRequest, object_id: str, *args: Any, **kwargs: Any) -> Any:
        return HttpResponseRedirect(
            reverse(f"{self.admin_site.name}:tenants_partnercredential_changelist")
        )
