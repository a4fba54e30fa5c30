"""Console pages for grade passback: runs with their per-course outcomes, a course's items
(failed ones first, with reasons), teacher-facing conflicts, the category override table,
starting a passback (a district or some courses) and issuing a district's trigger token.

Runs, courses, items and conflicts are read-only here; starting runs, issuing tokens and
changing overrides go through ``gradepassback.services``, which validate and audit.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from gradepassback.models import CategoryOverride, PassbackConflict, PassbackCourse, PassbackRun
from gradepassback.selectors import (
    category_override_list,
    passback_conflict_list,
    passback_course_list,
    passback_item_list,
    passback_run_list,
)
from gradepassback.services.overrides import category_override_delete, category_override_save
from gradepassback.services.tokens import passback_trigger_token_issue
from provisioning.selectors import sync_run_log_lines
from runs.models import SyncRun
from runs.services.launch import start_run
from runs.services.lifecycle import SyncRunError
from tenants import permissions
from tenants.admin_filters import AssignedDistrictFilter
from tenants.models import District
from tenants.selectors import district_list

FAILED_ITEMS_SHOWN = 500
OTHER_ITEMS_SHOWN = 500


class StartPassbackForm(forms.Form):
    district = forms.ModelChoiceField(queryset=District.objects.none())
    courses = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text="Canvas course SIS ids (class sourcedIds), separated by spaces, commas or "
        "lines. Empty: every provisioned course.",
    )
    full = forms.BooleanField(
        required=False,
        help_text="Read every score, not only those graded since each course's last passback.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["district"].queryset = district_list().filter(passback_enabled=True)

    def clean_courses(self) -> list[str]:
        return [c for c in re.split(r"[\s,]+", self.cleaned_data.get("courses") or "") if c]


class TokenForm(forms.Form):
    district = forms.ModelChoiceField(queryset=District.objects.none())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["district"].queryset = district_list()


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PassbackRun)
class PassbackRunAdmin(ReadOnlyAdmin):
    list_display = (
        "run_id",
        "district",
        "scope",
        "trigger",
        "status",
        "created",
        "progress",
        "outcome",
    )
    list_display_links = ("run_id", "district")
    list_filter = ("run__status", "run__trigger", ("run__district", AssignedDistrictFilter))
    search_fields = ("run__district__slug", "run__district__name")
    change_list_template = "gradepassback/admin/passbackrun_change_list.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[PassbackRun]:
        return permissions.scoped(request.user, passback_run_list(), via="run__district")

    @admin.display(description="district", ordering="run__district__name")
    def district(self, passback: PassbackRun) -> District:
        return passback.run.district

    @admin.display(description="trigger")
    def trigger(self, passback: PassbackRun) -> str:
        return passback.run.get_trigger_display()

    @admin.display(description="status", ordering="run__status")
    def status(self, passback: PassbackRun) -> str:
        if passback.run.status == SyncRun.Status.FAILED:
            return format_html("<strong>failed</strong>: {}", passback.run.error[:120])
        return passback.run.get_status_display()

    @admin.display(description="created", ordering="run__created_at")
    def created(self, passback: PassbackRun) -> Any:
        return passback.run.created_at

    @admin.display(description="courses done")
    def progress(self, passback: PassbackRun) -> str:
        return f"{passback.courses_done} / {passback.courses_total}"

    @admin.display(description="results pushed / failed")
    def outcome(self, passback: PassbackRun) -> str:
        results = (passback.counts or {}).get("results", {})
        grades = (passback.counts or {}).get("courseGrades", {})
        pushed = results.get("pushed", 0) + grades.get("pushed", 0)
        failed = results.get("failed", 0) + grades.get("failed", 0)
        return f"{pushed} / {failed}"

    # --- pages -------------------------------------------------------------------------

    def get_urls(self) -> list:
        wrap = self.admin_site.admin_view
        return [
            path("start/", wrap(self.start_view), name="gradepassback_passbackrun_start"),
            path("token/", wrap(self.token_view), name="gradepassback_passbackrun_token"),
            *super().get_urls(),
        ]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict | None = None
    ) -> HttpResponse:
        extra = {
            "can_start": request.user.has_perm("gradepassback.start_passback"),
            "can_issue_token": request.user.has_perm("gradepassback.issue_trigger_token"),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        passback = get_object_or_404(passback_run_list(), pk=object_id)
        if not self.has_view_permission(request, passback):
            raise PermissionDenied
        run = passback.run
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": str(passback),
            "passback": passback,
            "run": run,
            "count_rows": [
                (name, (passback.counts or {}).get(name, {}))
                for name in ("lineItems", "results", "courseGrades")
                if (passback.counts or {}).get(name)
            ],
            # A page of courses at a time: a district-wide run has hundreds.
            "courses": Paginator(passback_course_list(passback=passback), 50).get_page(
                request.GET.get("page")
            ),
            "conflicts": passback_conflict_list(district=run.district, open_only=True).filter(
                last_run=run
            )[:500],
            "log_lines": sync_run_log_lines(run=run),
        }
        return TemplateResponse(request, "gradepassback/admin/passbackrun_detail.html", context)

    def start_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("gradepassback.start_passback"):
            raise PermissionDenied
        form = StartPassbackForm(request.POST or None, initial=request.GET or None)
        if request.method == "POST" and form.is_valid():
            try:
                run = start_run(
                    district=form.cleaned_data["district"],
                    kind=SyncRun.Kind.PASSBACK,
                    trigger=SyncRun.Trigger.MANUAL,
                    actor=request.user,
                    course_sis_ids=form.cleaned_data["courses"],
                    full=form.cleaned_data["full"],
                )
            except SyncRunError as exc:
                form.add_error(None, ValidationError(str(exc)))
            else:
                messages.success(request, f"{run.passback} queued.")
                return HttpResponseRedirect(
                    reverse("admin:gradepassback_passbackrun_change", args=[run.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Start a grade passback",
            "form": form,
        }
        return TemplateResponse(request, "gradepassback/admin/start.html", context)

    def token_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("gradepassback.issue_trigger_token"):
            raise PermissionDenied
        form = TokenForm(request.POST or None)
        token = None
        district = None
        if request.method == "POST" and form.is_valid():
            district = form.cleaned_data["district"]
            token = passback_trigger_token_issue(district=district, actor=request.user)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Passback trigger token",
            "form": form,
            "token": token,
            "district": district,
            "endpoint": reverse(
                "gradepassback:course-trigger",
                kwargs={
                    "slug": district.slug if district else "SLUG",
                    "sis_course_id": "SIS_COURSE_ID",
                },
            ),
        }
        response = TemplateResponse(request, "gradepassback/admin/token.html", context)
        response["Cache-Control"] = "no-store"
        return response


@admin.register(PassbackCourse)
class PassbackCourseAdmin(ReadOnlyAdmin):
    list_display = (
        "sis_course_id",
        "run_link",
        "status",
        "pushed",
        "unchanged",
        "skipped",
        "failed",
        "deleted",
        "worker",
        "finished_at",
    )
    list_filter = ("status", ("passback_run__run__district", AssignedDistrictFilter))
    search_fields = ("sis_course_id",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[PassbackCourse]:
        return permissions.scoped(
            request.user, passback_course_list(), via="passback_run__run__district"
        )

    @admin.display(description="run")
    def run_link(self, course: PassbackCourse) -> str:
        url = reverse("admin:gradepassback_passbackrun_change", args=[course.passback_run_id])
        return format_html('<a href="{}">{}</a>', url, course.passback_run)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        course = get_object_or_404(passback_course_list(), pk=object_id)
        if not self.has_view_permission(request, course):
            raise PermissionDenied
        district = course.passback_run.run.district
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Course {course.sis_course_id}",
            "course": course,
            "passback": course.passback_run,
            "count_rows": sorted((course.counts or {}).items()),
            "failed_items": passback_item_list(course=course, outcome="failed")[
                :FAILED_ITEMS_SHOWN
            ],
            "other_items": passback_item_list(course=course).exclude(outcome="failed")[
                :OTHER_ITEMS_SHOWN
            ],
            "conflicts": passback_conflict_list(
                district=district, sis_course_id=course.sis_course_id, open_only=True
            ),
        }
        return TemplateResponse(request, "gradepassback/admin/passbackcourse_detail.html", context)


class OpenFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("open", "Open"), ("closed", "Closed")]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[PassbackConflict]
    ) -> QuerySet[PassbackConflict]:
        if self.value() == "open":
            return queryset.filter(closed_at__isnull=True)
        if self.value() == "closed":
            return queryset.filter(closed_at__isnull=False)
        return queryset


@admin.register(PassbackConflict)
class PassbackConflictAdmin(ReadOnlyAdmin):
    list_display = (
        "sis_course_id",
        "assignment_name",
        "kind",
        "message",
        "district",
        "first_seen",
        "last_seen",
        "closed_at",
    )
    list_filter = (OpenFilter, "kind", ("district", AssignedDistrictFilter))
    search_fields = ("sis_course_id", "assignment_name", "message")

    def get_queryset(self, request: HttpRequest) -> QuerySet[PassbackConflict]:
        return permissions.scoped(request.user, passback_conflict_list(), via="district")


class CategoryOverrideForm(forms.ModelForm):
    class Meta:
        model = CategoryOverride
        fields = ("district", "assignment_group_name", "category_sourced_id", "category_title")


@admin.register(CategoryOverride)
class CategoryOverrideAdmin(admin.ModelAdmin):
    """Editable: which SIS category a Canvas assignment group's scores land in."""

    form = CategoryOverrideForm
    list_display = ("assignment_group_name", "category_title", "category_sourced_id", "district")
    list_filter = (("district", AssignedDistrictFilter),)
    search_fields = ("assignment_group_name", "category_title", "category_sourced_id")

    def get_queryset(self, request: HttpRequest) -> QuerySet[CategoryOverride]:
        return permissions.scoped(request.user, category_override_list(), via="district")

    def save_model(
        self, request: HttpRequest, obj: CategoryOverride, form: Any, change: bool
    ) -> None:
        category_override_save(override=obj, actor=request.user)

    def delete_model(self, request: HttpRequest, obj: CategoryOverride) -> None:
        category_override_delete(override=obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[CategoryOverride]) -> None:
        for override in queryset:
            category_override_delete(override=override, actor=request.user)
