"""Console pages for provisioning: run history, a run's page, held-run decisions, conflicts.

Nothing here changes data directly: starting, approving and discarding runs and resolving
conflicts go through ``provisioning.services``, which validate and audit. Runs and conflicts
are read-only in the admin forms.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from provisioning.mapping import FILES
from provisioning.models import Conflict
from provisioning.selectors import conflict_list, sync_run_list, sync_run_log_lines
from provisioning.services.conflicts import conflict_resolve
from provisioning.tasks import apply_run
from runs.models import SyncRun
from runs.services.launch import start_run
from runs.services.lifecycle import (
    SyncRunError,
    SyncRunTransitionError,
    sync_run_approve,
    sync_run_cancel,
    sync_run_discard,
)
from tenants import permissions
from tenants.admin_filters import AssignedDistrictFilter
from tenants.models import District
from tenants.selectors import district_list

START_KINDS = {
    "delta": (SyncRun.Kind.DELTA, False),
    "full": (SyncRun.Kind.FULL, True),
    "dry_run": (SyncRun.Kind.DRY_RUN, False),
}


def _counts_text(counts: dict[str, dict[str, int]]) -> str:
    return "; ".join(
        f"{file} +{c.get('create', 0)} ~{c.get('update', 0)} -{c.get('drop', 0)}"
        for file, c in (counts or {}).items()
        if c.get("create") or c.get("update") or c.get("drop")
    )


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "district",
        "kind",
        "trigger",
        "status_label",
        "created_at",
        "finished_at",
        "changes",
        "requested_label",
    )
    list_display_links = ("id", "district")
    list_filter = ("status", "kind", "trigger", ("district", AssignedDistrictFilter))
    search_fields = ("district__slug", "district__name")
    date_hierarchy = "created_at"
    change_list_template = "provisioning/admin/syncrun_change_list.html"
    actions = ("cancel",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[SyncRun]:
        return permissions.scoped(request.user, sync_run_list(), via="district")

    @admin.action(description="Cancel the selected queued or running runs")
    def cancel(self, request: HttpRequest, queryset: QuerySet[SyncRun]) -> None:
        """The same service and permission as the console's Cancel button."""
        if not request.user.has_perm("runs.start_syncrun"):
            raise PermissionDenied
        for run in queryset:
            try:
                sync_run_cancel(run=run, actor=request.user)
            except SyncRunError as exc:
                messages.error(request, str(exc))
            else:
                messages.success(request, f"{run} cancelled; the district is free.")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="status", ordering="status")
    def status_label(self, run: SyncRun) -> str:
        if run.status == SyncRun.Status.HELD:
            return format_html("<strong>{}</strong> — awaiting approval", "held")
        return run.get_status_display()

    @admin.display(description="changes")
    def changes(self, run: SyncRun) -> str:
        return _counts_text(run.counts) or "—"

    # --- pages -------------------------------------------------------------------------

    def get_urls(self) -> list:
        wrap = self.admin_site.admin_view
        return [
            path("start/", wrap(self.start_view), name="runs_syncrun_start"),
            path(
                "<int:run_id>/approve/",
                wrap(self.approve_view),
                name="runs_syncrun_approve",
            ),
            path(
                "<int:run_id>/discard/",
                wrap(self.discard_view),
                name="runs_syncrun_discard",
            ),
            path("<int:run_id>/dry-run.zip", wrap(self.zip_view), name="runs_syncrun_zip"),
            *super().get_urls(),
        ]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict | None = None
    ) -> HttpResponse:
        extra = {
            "start_districts": district_list(status=District.Status.ACTIVE),
            "can_start": request.user.has_perm("runs.start_syncrun"),
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
        run = get_object_or_404(sync_run_list(), pk=object_id)
        if not self.has_view_permission(request, run):
            raise PermissionDenied
        summary = run.plan_summary or {}
        schools = summary.get("by_school", {})
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": str(run),
            "run": run,
            "files": list(FILES),
            "counts_rows": [(f, (run.counts or {}).get(f, {})) for f in FILES],
            "school_rows": [
                (entry.get("name", school), [entry.get("files", {}).get(f) for f in FILES])
                for school, entry in sorted(schools.items(), key=lambda i: i[1].get("name", ""))
            ],
            "guards": summary.get("guards", []),
            "source": summary.get("source", {}),
            "conflicts": conflict_list(run=run)[:500],
            "log_lines": sync_run_log_lines(run=run),
            "can_decide": run.status == SyncRun.Status.HELD
            and request.user.has_perm("runs.approve_syncrun"),
        }
        return TemplateResponse(request, "provisioning/admin/syncrun_detail.html", context)

    # --- actions (POST) ----------------------------------------------------------------

    def start_view(self, request: HttpRequest) -> HttpResponse:
        return require_POST(self._start)(request)

    def _start(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("runs.start_syncrun"):
            raise PermissionDenied
        district = get_object_or_404(District, pk=request.POST.get("district"))
        if request.POST.get("kind") not in START_KINDS:
            raise Http404("Unknown kind of run.")
        kind, full_read = START_KINDS[request.POST["kind"]]
        changelist = reverse("admin:runs_syncrun_changelist")
        try:
            run = start_run(
                district=district,
                kind=kind,
                trigger=SyncRun.Trigger.MANUAL,
                actor=request.user,
                full_read=full_read,
            )
        except SyncRunError as exc:
            messages.error(request, str(exc))
            return HttpResponseRedirect(changelist)
        messages.success(request, f"{run} queued.")
        return HttpResponseRedirect(reverse("admin:runs_syncrun_change", args=[run.pk]))

    def approve_view(self, request: HttpRequest, run_id: int) -> HttpResponse:
        return require_POST(self._decide)(request, run_id, approve=True)

    def discard_view(self, request: HttpRequest, run_id: int) -> HttpResponse:
        return require_POST(self._decide)(request, run_id, approve=False)

    def _decide(self, request: HttpRequest, run_id: int, *, approve: bool) -> HttpResponse:
        if not request.user.has_perm("runs.approve_syncrun"):
            raise PermissionDenied
        run = get_object_or_404(sync_run_list(), pk=run_id)
        try:
            with transaction.atomic():
                if approve:
                    sync_run_approve(run=run, actor=request.user)
                    apply_run.delay_on_commit(run.pk)
                else:
                    sync_run_discard(run=run, actor=request.user)
        except SyncRunTransitionError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"{run} {'approved; applying' if approve else 'discarded'}.")
        return HttpResponseRedirect(reverse("admin:runs_syncrun_change", args=[run.pk]))

    def zip_view(self, request: HttpRequest, run_id: int) -> HttpResponse:
        run = get_object_or_404(sync_run_list(), pk=run_id)
        if not self.has_view_permission(request, run):
            raise PermissionDenied
        if not run.dry_run_zip:
            raise Http404("This run kept no zip.")
        return FileResponse(
            run.dry_run_zip.open("rb"),
            as_attachment=True,
            filename=f"{run.district.slug}-dry-run-{run.pk}.zip",
            content_type="application/zip",
        )


class OpenFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("open", "Open"), ("closed", "Closed")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Conflict]) -> QuerySet[Conflict]:
        if self.value() == "open":
            return queryset.filter(closed_at__isnull=True)
        if self.value() == "closed":
            return queryset.filter(closed_at__isnull=False)
        return queryset


@admin.register(Conflict)
class ConflictAdmin(admin.ModelAdmin):
    list_display = (
        "kind",
        "severity",
        "object_type",
        "sourced_id",
        "school",
        "short_detail",
        "district",
        "first_seen",
        "last_seen",
        "closed_at",
    )
    list_filter = (
        OpenFilter,
        "severity",
        "kind",
        "object_type",
        ("district", AssignedDistrictFilter),
    )
    search_fields = ("sourced_id", "detail", "school")
    readonly_fields = [f.name for f in Conflict._meta.fields]
    actions = ("resolve",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Conflict]:
        return permissions.scoped(request.user, conflict_list(), via="district")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="detail")
    def short_detail(self, conflict: Conflict) -> str:
        return conflict.detail if len(conflict.detail) <= 120 else conflict.detail[:117] + "…"

    @admin.action(description="Mark resolved (a run that still sees it reopens it)")
    def resolve(self, request: HttpRequest, queryset: QuerySet[Conflict]) -> None:
        note = f"Marked resolved in the console by {request.user.get_username()}."
        for conflict in queryset.filter(closed_at__isnull=True):
            conflict_resolve(conflict=conflict, note=note, actor=request.user)
        messages.success(request, "Resolved.")
