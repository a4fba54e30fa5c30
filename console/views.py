"""Console pages. Thin: read through selectors, change through services, render.

Every view is ``console_view`` (staff, second factor verified, never cached); every POST is
CSRF-protected by the middleware, checks a permission and goes through an audited service.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from console.access import abilities, can, console_view, require
from console.charts import run_chart
from console.display import (
    KIND_SHORT,
    PASSBACK_OBJECTS,
    STATUS_TONES,
    age,
    audit_lines,
    changed_rows,
    duration,
    file_label,
    number,
    passback_counts_text,
    run_waited_seconds,
    run_worked_seconds,
    sentence,
    words,
)
from console.exports import csv_response
from console.forms import (
    ConflictResolveForm,
    DistrictCreateForm,
    DistrictCredentialsForm,
    DistrictOptionsForm,
    settings_groups,
)
from console.selectors import (
    CONFLICT_AGES,
    OVERVIEW_SORTS,
    ConflictFilters,
    DateRange,
    audit_browse,
    conflict_browse,
    conflict_open_counts,
    conflict_schools,
    district_overview,
    run_chart_points,
    run_list,
    run_row,
    school_names,
    term_mode_preview,
)
from console.services import (
    RUN_KINDS,
    console_check_pending,
    console_check_request,
    console_run_approve,
    console_run_cancel,
    console_run_start,
    console_start_blockers,
)
from evaluation.classify import MATCH_LABELS, MATCHES, TYPE_KEYS
from evaluation.exports import evaluation_change_sis_id_rows, evaluation_detail_rows
from evaluation.models import EvaluationReport, EvaluationRow
from evaluation.selectors import evaluation_report_list, evaluation_row_list
from gradepassback.models import PassbackCourse
from gradepassback.selectors import passback_conflict_list, passback_course_list
from provisioning.mapping import FILES
from provisioning.models import Conflict
from provisioning.selectors import conflict_list, sync_run_active, sync_run_log_lines
from provisioning.services.conflicts import conflict_resolve as resolve
from runs.models import SyncRun
from runs.services.lifecycle import SyncRunError, SyncRunTransitionError, sync_run_discard
from tenants import permissions
from tenants.labels import district_field_label
from tenants.models import SECRET_FIELDS, AuditEvent, District
from tenants.selectors import audit_event_list, district_credential_warning, district_list
from tenants.services.audit import actor_label_for
from tenants.services.connection_check import STEP_TITLES
from tenants.services.districts import (
    district_create,
    district_credentials_set,
    district_update,
    mask_secret,
)
from tenants.services.intake import intake_link_create, intake_link_url

PAGE_SIZE = 100
LOG_LEVELS = ("info", "warning", "error")
RUN_LABELS = {
    "delta": ("Delta sync", "Changes since the last run"),
    "full": ("Full sync", "Read everything; drop what is gone"),
    "dry_run": ("Dry run", "Plan and zip; send nothing"),
    "passback": ("Grade passback", "Send grades from Canvas to the SIS"),
    "evaluation": ("Conversion evaluation", "Compare Canvas with the SIS; change nothing"),
}
SECRET_POST_FIELDS = (*SECRET_FIELDS, "otp_token")


#: The top navigation entry each page belongs to.
SECTIONS = {
    "runs": "runs",
    "run": "runs",
    "conflicts": "conflicts",
    "audit": "audit",
}


def _context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    name = request.resolver_match.url_name if request.resolver_match else ""
    return {
        "can": abilities(request),
        "now": timezone.now(),
        "section": SECTIONS.get(name or "", "districts"),
        **extra,
    }


def _query_string(**values: str) -> str:
    """The non-empty filters as a query string prefix for pagination links."""
    query = urlencode({k: v for k, v in values.items() if v})
    return f"{query}&" if query else ""


def _district(slug: str) -> District:
    return get_object_or_404(District, slug=slug)


def _run(run_id: int) -> SyncRun:
    return get_object_or_404(SyncRun.objects.select_related("district"), pk=run_id)


# --- districts -----------------------------------------------------------------------------


@console_view
@require_GET
def districts(request: HttpRequest) -> HttpResponse:
    sort = request.GET.get("sort", "name")
    if sort.lstrip("-") not in OVERVIEW_SORTS:
        sort = "name"
    filters = {
        "q": request.GET.get("q", "").strip(),
        "status": request.GET.get("status", ""),
        "attention": request.GET.get("attention", "") == "1",
    }
    rows = district_overview(
        search=filters["q"],
        status=filters["status"] if filters["status"] in District.Status.values else "",
        attention=filters["attention"],
        sort=sort,
    )
    rows = [row for row in rows if permissions.district_visible(request.user, row.district)]
    return render(
        request,
        "console/districts.html",
        _context(
            request,
            rows=rows,
            sort=sort,
            filters=filters,
            statuses=District.Status.choices,
            total=District.objects.count(),
        ),
    )


@console_view
@require_http_methods(["GET", "POST"])
def district_new(request: HttpRequest) -> HttpResponse:
    require(request, "add_district")
    form = DistrictCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            district = district_create(
                actor=request.user, actor_label=actor_label_for(request.user), **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request,
                f"{district.name} created. Next: send the district an intake link for its "
                "OneRoster credentials, and enter the Canvas token.",
            )
            return redirect("console:district", slug=district.slug)
    return render(request, "console/district_new.html", _context(request, form=form))


def _check_steps(district: District) -> list[dict[str, Any]]:
    return [
        {**step, "title": STEP_TITLES.get(step.get("name", ""), step.get("name", ""))}
        for step in district.last_check_steps or []
    ]


def _check_context(request: HttpRequest, district: District) -> dict[str, Any]:
    proved = (
        run_list(district=district, status=SyncRun.Status.SUCCEEDED)
        .order_by("-finished_at", "-id")
        .first()
    )
    return {
        "district": district,
        # A successful run proves the connection as well as a check does.
        "proved_by": run_row(proved) if proved else None,
        "check_steps": _check_steps(district),
        "check_age": age(district.last_check_at),
        "check_pending": console_check_pending(district=district),
        "can": abilities(request),
    }


def _secrets(district: District) -> list[tuple[str, str]]:
    labels = {
        "oneroster_client_secret": "OneRoster client secret",
        "oneroster_vendor_key": "Gradebook vendor key (override)",
        "oneroster_vendor_secret": "Gradebook vendor secret (override)",
        "canvas_token": "Canvas API token",
    }
    return [(labels[name], mask_secret(getattr(district, name))) for name in SECRET_FIELDS]


def _run_buttons(
    request: HttpRequest, district: District, active: SyncRun | None
) -> list[dict[str, Any]]:
    blocked = ""
    if active is not None:
        blocked = f"Run #{active.pk} is {active.get_status_display().lower()}."
    buttons = []
    missing = console_start_blockers(district=district)
    for kind, permission in RUN_KINDS.items():
        title, help_text = RUN_LABELS[kind]
        reason = blocked
        if not reason and missing[kind]:
            reason = "Cannot start: " + "; ".join(missing[kind]) + "."
        if not reason and not can(request, permission):
            reason = "You may not start this kind of run."
        buttons.append(
            {
                "kind": kind,
                "title": title,
                "help": help_text,
                "permission": permission,
                "blocked": reason,
            }
        )
    return buttons


def _users_matched(report: EvaluationReport) -> dict[str, int]:
    """A report's user counts for the district page, whatever keys its summary has."""
    users = (report.summary or {}).get("users") or {}
    matched = ("matched_sis_id", "matched_login", "matched_email")
    return {
        "matched": sum(users.get(key, 0) for key in matched),
        **{key: users.get(key, 0) for key in ("new", "orphan", "ambiguous")},
    }


def _district_page(
    request: HttpRequest, district: District, *, settings_form: DistrictOptionsForm | None = None
) -> HttpResponse:
    active = sync_run_active(district=district)
    runs = [run_row(r) for r in run_list(district=district)[:15]]
    form = settings_form or DistrictOptionsForm(instance=district)
    open_conflicts = conflict_open_counts(district=district)
    context = _context(
        request,
        **_check_context(request, district),
        runs=runs,
        active=run_row(active) if active else None,
        run_buttons=_run_buttons(request, district, active),
        chart=run_chart(run_chart_points(district=district)),
        settings_groups=settings_groups(form),
        settings_form=form,
        secrets=_secrets(district),
        credential_warning=district_credential_warning(district=district),
        audit=[(e, audit_lines(e.changes)) for e in audit_event_list(district=district)[:30]],
        intake_links=district.intake_links.all()[:3],
        passback_schedule=district.get_passback_schedule_display()
        if district.passback_enabled
        else "off",
        reports=[(r, _users_matched(r)) for r in evaluation_report_list(district=district)[:5]],
        open_errors=open_conflicts.get(Conflict.Severity.ERROR, 0),
        open_warnings=open_conflicts.get(Conflict.Severity.WARNING, 0),
        status_tone={"active": "success", "paused": "neutral"}.get(district.status, "info"),
    )
    return render(request, "console/district.html", context)


@console_view
@require_GET
def district_detail(request: HttpRequest, slug: str) -> HttpResponse:
    return _district_page(request, _district(slug))


@console_view
@require_POST
def district_settings(request: HttpRequest, slug: str) -> HttpResponse:
    """Save settings; a term mode change first shows what it would do, then needs a
    confirmation (the same values posted again with ``confirm_term_mode``)."""
    require(request, "change_district")
    district = _district(slug)
    form = DistrictOptionsForm(request.POST, instance=District.objects.get(pk=district.pk))
    if not form.is_valid():
        messages.error(request, "Some settings are not valid; see the marked fields.")
        return _district_page(request, district, settings_form=form)
    changes = {name: form.cleaned_data[name] for name in form.changed_data}
    if "term_mode" in changes and not request.POST.get("confirm_term_mode"):
        preview = term_mode_preview(district=district, term_mode=changes["term_mode"])
        posted = [(k, v) for k, values in request.POST.lists() for v in values]
        return render(
            request,
            "console/term_mode_preview.html",
            _context(
                request,
                district=district,
                preview=preview,
                posted=[(k, v) for k, v in posted if k != "csrfmiddlewaretoken"],
                other_changes=sorted(
                    district_field_label(name) for name in set(changes) - {"term_mode"}
                ),
                from_label=District.TermMode(district.term_mode).label,
                to_label=District.TermMode(changes["term_mode"]).label,
                to_short=District.TermMode(changes["term_mode"]).label.split(":")[0],
            ),
        )
    if not changes:
        messages.info(request, "Nothing changed.")
        return redirect("console:district", slug=district.slug)
    try:
        district_update(
            district=district,
            actor=request.user,
            actor_label=actor_label_for(request.user),
            changes=changes,
        )
    except ValidationError as exc:
        form.add_error(None, exc)
        return _district_page(request, district, settings_form=form)
    saved = "; ".join(sorted(district_field_label(name) for name in changes))
    messages.success(request, f"Saved: {saved}.")
    return redirect(reverse("console:district", args=[district.slug]) + "#settings")


@sensitive_post_parameters(*SECRET_POST_FIELDS)
@console_view
@require_http_methods(["GET", "POST"])
def district_credentials(request: HttpRequest, slug: str) -> HttpResponse:
    require(request, "change_district")
    district = _district(slug)
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
            messages.success(request, "Credentials replaced. Run the connection check to try them.")
        else:
            messages.info(request, "Nothing changed.")
        return redirect("console:district", slug=district.slug)
    return render(
        request,
        "console/district_credentials.html",
        _context(request, district=district, form=form),
    )


@console_view
@require_POST
def district_check(request: HttpRequest, slug: str) -> HttpResponse:
    require(request, "change_district")
    district = _district(slug)
    console_check_request(district=district, actor=request.user)
    messages.success(request, "Connection check queued; the result appears here when it is done.")
    return redirect(reverse("console:district", args=[district.slug]) + "#check")


@console_view
@require_GET
def district_check_status(request: HttpRequest, slug: str) -> JsonResponse:
    district = _district(slug)
    context = _check_context(request, district)
    return JsonResponse(
        {
            "pending": context["check_pending"],
            "checked_at": district.last_check_at.isoformat() if district.last_check_at else None,
            "html": render_to_string("console/_check.html", context, request=request),
        }
    )


@console_view
@require_POST
def district_intake(request: HttpRequest, slug: str) -> HttpResponse:
    """Create an intake link and show it once: only its hash is stored, and this response
    is never cached."""
    require(request, "change_district")
    district = _district(slug)
    link, token = intake_link_create(
        district=district, actor=request.user, actor_label=actor_label_for(request.user)
    )
    response = render(
        request,
        "console/intake_created.html",
        _context(request, district=district, link=link, url=intake_link_url(token=token)),
    )
    response["Referrer-Policy"] = "no-referrer"
    return response


@console_view
@require_POST
def district_run_start(request: HttpRequest, slug: str) -> HttpResponse:
    district = _district(slug)
    kind = request.POST.get("kind", "")
    if kind not in RUN_KINDS:
        raise Http404("Unknown kind of run.")
    require(request, RUN_KINDS[kind])
    try:
        run = console_run_start(district=district, kind=kind, actor=request.user)
    except SyncRunError as exc:
        messages.error(request, str(exc))
        return redirect("console:district", slug=district.slug)
    messages.success(request, f"{RUN_LABELS[kind][0]} #{run.pk} queued.")
    return redirect("console:run", run_id=run.pk)


# --- runs ----------------------------------------------------------------------------------


def _stamp() -> str:
    return timezone.now().strftime("%Y%m%d-%H%M")


@console_view
@require_GET
def runs(request: HttpRequest) -> HttpResponse:
    slug = request.GET.get("district", "")
    district = District.objects.filter(slug=slug).first() if slug else None
    kind = request.GET.get("kind", "")
    status = request.GET.get("status", "")
    dates = DateRange.from_query(request.GET)
    selected = permissions.scoped(
        request.user,
        run_list(
            district=district,
            kind=kind if kind in SyncRun.Kind.values else "",
            status=status if status in SyncRun.Status.values else "",
            dates=dates,
        ),
        via="district",
    )
    if request.GET.get("format") == "csv":
        # Run metadata only (no student data): whoever may see the runs may download them.
        header = ("run", "district", "kind", "status", "queued", "started", "finished",
                  "worked_seconds", "waited_seconds", "asked_by", "changes", "error")  # fmt: skip
        rows = (
            (
                r.pk,
                r.district.slug,
                r.get_kind_display(),
                r.get_status_display(),
                r.created_at.isoformat(),
                r.started_at.isoformat() if r.started_at else "",
                r.finished_at.isoformat() if r.finished_at else "",
                round(run_worked_seconds(r) or 0),
                round(run_waited_seconds(r)),
                r.requested_label or r.get_trigger_display(),
                run_row(r).changes,
                r.error,
            )
            for r in selected.iterator(chunk_size=2000)
        )
        return csv_response([header, *rows], filename=f"runs-{_stamp()}.csv")
    page = Paginator(selected, PAGE_SIZE).get_page(request.GET.get("page"))
    query = {"district": slug, "kind": kind, "status": status, **dates.as_query()}
    return render(
        request,
        "console/runs.html",
        _context(
            request,
            page=page,
            rows=[run_row(r) for r in page.object_list],
            districts=permissions.scoped(request.user, district_list()),
            filters={**query, "from": dates.start, "to": dates.end},
            query_string=_query_string(**query),
            kinds=SyncRun.Kind.choices,
            statuses=SyncRun.Status.choices,
        ),
    )


def _phase(run: SyncRun) -> str:
    """Where the run is, from its stored phase and progress (never from its log)."""
    S = SyncRun.Status
    if run.status == S.QUEUED:
        return "Waiting for a worker"
    if run.status == S.HELD:
        return "Waiting for a person to approve or discard; nothing sent yet"
    if run.status not in (S.RUNNING, S.APPLYING):
        return _outcome(run)
    progress = run.progress or {}
    if run.phase == SyncRun.Phase.READING and progress.get("pages_read"):
        return f"Reading the roster from OneRoster ({progress['pages_read']:,} pages)"
    if run.phase == SyncRun.Phase.IMPORTING:
        state = f" ({run.canvas_import_state})" if run.canvas_import_state else ""
        done = progress.get("import_progress")
        return f"Importing into Canvas{state}" + (f", {done}%" if done else "")
    if run.phase:
        return run.get_phase_display()
    if run.status == S.APPLYING:
        return "Importing into Canvas"
    if run.kind == SyncRun.Kind.PASSBACK:
        return "Passing grades back"
    return "Starting"


#: The phases a provisioning run goes through, in order (a dry run stops after planning).
SYNC_PHASES = (
    SyncRun.Phase.READING,
    SyncRun.Phase.PLANNING,
    SyncRun.Phase.BUILDING,
    SyncRun.Phase.IMPORTING,
    SyncRun.Phase.COMMITTING,
)


def _progress(run: SyncRun, passback: Any) -> dict[str, Any]:
    """The live run's progress: the current phase's measure (``value`` of ``max``, with the
    words to say it) when the source gives one, and the phases done and to come. Without a
    measure the bar is indeterminate."""
    progress = run.progress or {}
    measure: dict[str, Any] = {}
    if run.kind == SyncRun.Kind.PASSBACK and passback and passback.courses_total:
        done, total = passback.courses_done, passback.courses_total
        measure = {"value": done, "max": total, "text": f"{done:,} of {total:,} courses done"}
    elif run.phase == SyncRun.Phase.READING and progress.get("pages_total"):
        done = min(progress.get("pages_read", 0), progress["pages_total"])
        text = f"{done:,} of {progress['pages_total']:,} pages read"
        if progress.get("records_total"):
            text += (
                f" ({progress.get('records_read', 0):,} of {progress['records_total']:,} records)"
            )
        measure = {"value": done, "max": progress["pages_total"], "text": text}
    elif run.phase == SyncRun.Phase.IMPORTING and progress.get("import_progress") is not None:
        done = int(progress["import_progress"])
        measure = {"value": done, "max": 100, "text": f"Canvas has imported {done}%"}
    note = ""
    if run.phase in (SyncRun.Phase.PLANNING, SyncRun.Phase.BUILDING) and progress.get(
        "rows_planned"
    ):
        note = f"{progress['rows_planned']:,} rows planned"
    steps = []
    if run.kind in (SyncRun.Kind.DELTA, SyncRun.Kind.FULL, SyncRun.Kind.DRY_RUN):
        phases = SYNC_PHASES[:2] if run.kind == SyncRun.Kind.DRY_RUN else SYNC_PHASES
        current = phases.index(run.phase) if run.phase in phases else -1
        steps = [
            {
                "label": SyncRun.Phase(phase).label,
                "state": "done" if i < current else "current" if i == current else "todo",
            }
            for i, phase in enumerate(phases)
        ]
    return {"measure": measure, "note": note, "steps": steps}


def _outcome(run: SyncRun) -> str:
    """A finished run's result in a few words (the badge already says the status)."""
    S = SyncRun.Status
    if run.status == S.FAILED:
        return "Stopped; nothing was committed"
    if run.status == S.DISCARDED:
        return "Nothing was sent"
    if run.status == S.CANCELLED:
        return "Cancelled; nothing was sent"
    if run.kind == SyncRun.Kind.EVALUATION:
        return "Report ready"
    if run.kind == SyncRun.Kind.DRY_RUN:
        return "Plan and zip ready; nothing was sent"
    if run.kind == SyncRun.Kind.PASSBACK:
        return "Grades passed back"
    if run.canvas_import_id:
        return f"Canvas import {run.canvas_import_id}: {run.canvas_import_state or 'done'}"
    return "Nothing to send: Canvas was up to date"


def _import_note(run: SyncRun) -> str:
    """Why a run has no Canvas SIS import, in its own case."""
    S = SyncRun.Status
    if run.kind == SyncRun.Kind.DRY_RUN:
        return "A dry run sends nothing to Canvas."
    if run.kind == SyncRun.Kind.EVALUATION:
        return "An evaluation only reads Canvas."
    if run.kind == SyncRun.Kind.PASSBACK:
        return "Grade passback writes to the SIS, not through SIS imports."
    if run.status == S.DISCARDED:
        return "The plan was discarded, so nothing was sent to Canvas."
    if run.status == S.CANCELLED:
        return "The run was cancelled before anything was sent to Canvas."
    if run.status == S.FAILED:
        return "The run stopped before an SIS import was sent."
    if run.status == S.SUCCEEDED:
        return "Nothing changed since the last run, so no SIS import was needed."
    if run.status == S.HELD:
        return "Nothing is sent until the plan is approved."
    return "No SIS import yet: it is sent once the plan is built."


def _change_cell(counts: dict[str, int] | None) -> str:
    """``+28 ~1 -3`` with only the non-zero parts; empty when nothing changes."""
    if not counts:
        return ""
    parts = [
        f"{sign}{counts.get(action, 0):,}"
        for sign, action in (("+", "create"), ("~", "update"), ("-", "drop"))
        if counts.get(action)
    ]
    return " ".join(parts)


def _counts_title(run: SyncRun) -> str:
    S = SyncRun.Status
    if run.status == S.DISCARDED:
        return "Discarded plan per type (nothing was sent)"
    if run.status == S.SUCCEEDED and run.kind != SyncRun.Kind.DRY_RUN:
        return "Changes per type"
    return "Plan per type"


def _other_counts(run: SyncRun) -> list[tuple[str, str]]:
    """A passback's or an evaluation's counts as (what, "1,774 sent, 404 hidden …")."""
    rows = []
    for key, value in sorted((run.counts or {}).items()):
        if run.kind == SyncRun.Kind.PASSBACK:
            label = PASSBACK_OBJECTS.get(key, words(key))
            text = passback_counts_text(value) if isinstance(value, dict) else number(value)
        else:
            label = words(key)
            labels = MATCH_LABELS.get(key, {})
            text = (
                ", ".join(
                    f"{number(v)} {str(labels.get(k, words(k))).lower()}"
                    for k, v in value.items()
                    if v
                )
                if isinstance(value, dict)
                else number(value)
            )
        rows.append((label, text or "none"))
    return rows


def _zip_note(run: SyncRun) -> str:
    """What the dry-run zip holds, said before anyone downloads it."""
    rows = changed_rows(run.counts)
    if not rows:
        return "Nothing would change, so the zip holds no CSV file: there is nothing to download."
    return (
        f"The zip holds the CSV files a real sync would send to Canvas: {rows:,} rows, one "
        "file per type. Nothing was sent."
    )


def _run_live_context(request: HttpRequest, run: SyncRun) -> dict[str, Any]:
    """What the live part of the run page shows: status, phase, counts, plan, decisions."""
    summary = run.plan_summary or {}
    names = school_names(district_ids=[run.district_id])
    schools = summary.get("by_school", {})
    passback = getattr(run, "passback", None) if run.kind == SyncRun.Kind.PASSBACK else None
    evaluation = None
    if run.kind == SyncRun.Kind.EVALUATION:
        evaluation = EvaluationReport.objects.filter(run=run).first()
    counts = run.counts or {}
    provisioning = run.kind in (SyncRun.Kind.DELTA, SyncRun.Kind.FULL, SyncRun.Kind.DRY_RUN)
    waited = run_waited_seconds(run)
    return {
        "run": run,
        "kind_label": KIND_SHORT.get(run.kind, run.kind),
        "tone": STATUS_TONES.get(run.status, "neutral"),
        "phase": _phase(run),
        "progress": _progress(run, passback),
        "worked": duration(run_worked_seconds(run)),
        "waited": duration(waited) if waited >= 1 else "",
        "heartbeat_age": age(run.heartbeat_at),
        "counts_title": _counts_title(run),
        "counts_rows": [(file_label(f), counts.get(f, {})) for f in FILES if counts.get(f)]
        if provisioning
        else [],
        "other_counts": _other_counts(run) if not provisioning else [],
        "school_rows": [
            (
                entry.get("name") or names.get(school, school or "District-wide"),
                [_change_cell(entry.get("files", {}).get(f)) for f in FILES],
            )
            for school, entry in sorted(schools.items(), key=lambda i: i[1].get("name", ""))
        ]
        if run.status != SyncRun.Status.DISCARDED
        else [],
        "files": [file_label(f) for f in FILES],
        "guards": summary.get("guards", []),
        "source": [(words(c), v) for c, v in summary.get("source", {}).items()],
        "passback": passback,
        "evaluation": evaluation,
        "import_note": _import_note(run),
        "zip_note": _zip_note(run) if run.kind == SyncRun.Kind.DRY_RUN else "",
        "zip_ready": bool(run.dry_run_zip) and changed_rows(run.counts) > 0,
        "can": abilities(request),
    }


#: Courses per page of a passback run's course list.
COURSES_PAGE_SIZE = 50


def _passback_courses(request: HttpRequest, run: SyncRun) -> dict[str, Any]:
    """The passback run's courses, filtered by course and state, one page at a time."""
    passback = getattr(run, "passback", None)
    if run.kind != SyncRun.Kind.PASSBACK or passback is None:
        return {}
    course = request.GET.get("course", "").strip()
    state = request.GET.get("state", "")
    courses = passback_course_list(passback=passback)
    if course:
        courses = courses.filter(sis_course_id__icontains=course)
    if state in PassbackCourse.Status.values:
        courses = courses.filter(status=state)
    page = Paginator(courses, COURSES_PAGE_SIZE).get_page(request.GET.get("page"))
    return {
        "course_page": page,
        "course_filter": {"course": course, "state": state},
        "course_states": PassbackCourse.Status.choices,
        "query_string": _query_string(course=course, state=state),
    }


@console_view
@require_GET
def run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _run(run_id)
    level = request.GET.get("level", "")
    search = request.GET.get("q", "").strip()
    lines = sync_run_log_lines(run=run)
    if level in LOG_LEVELS:
        lines = lines.filter(level=level)
    if search:
        lines = lines.filter(message__icontains=search)
    names = school_names(district_ids=[run.district_id])
    conflicts = [
        (c, names.get(c.school, c.school))
        for c in conflict_list(run=run).select_related("district")[:200]
    ]
    return render(
        request,
        "console/run.html",
        _context(
            request,
            **_run_live_context(request, run),
            log_lines=lines[:2000],
            log_filter={"level": level, "q": search},
            levels=LOG_LEVELS,
            last_log_id=sync_run_log_lines(run=run).values_list("id", flat=True).last() or 0,
            conflicts=conflicts,
            conflict_total=conflict_list(run=run).count(),
            # Problems a teacher must fix before a grade can go to the SIS (an assignment
            # without a due date, a session no Canvas grading period matches...).
            passback_conflicts=passback_conflict_list(run=run)[:200]
            if run.kind == SyncRun.Kind.PASSBACK
            else [],
            **_passback_courses(request, run),
        ),
    )


@console_view
@require_GET
def run_progress(request: HttpRequest, run_id: int) -> JsonResponse:
    """The run page's live part, for ``fetch()`` polling: status, phase, rendered summary
    and the log lines after ``after``."""
    run = _run(run_id)
    try:
        after = int(request.GET.get("after", "0"))
    except ValueError:
        after = 0
    lines = sync_run_log_lines(run=run).filter(id__gt=after)[:500]
    context = _run_live_context(request, run)
    return JsonResponse(
        {
            "id": run.pk,
            "status": run.status,
            "status_label": run.get_status_display(),
            "active": run.is_active and run.status != SyncRun.Status.HELD,
            "phase": context["phase"],
            "counts": run.counts,
            "html": render_to_string("console/_run_live.html", context, request=request),
            "log": [
                {
                    "id": line.id,
                    "time": timezone.localtime(line.created_at).strftime("%H:%M:%S"),
                    "level": line.level,
                    "message": line.message,
                }
                for line in lines
            ],
        }
    )


@console_view
@require_POST
def run_decide(request: HttpRequest, run_id: int, decision: str) -> HttpResponse:
    require(request, "decide_sync")
    run = _run(run_id)
    try:
        if decision == "approve":
            console_run_approve(run=run, actor=request.user)
            messages.success(request, f"Run #{run.pk} approved; applying the held plan.")
        else:
            sync_run_discard(run=run, actor=request.user)
            messages.success(request, f"Run #{run.pk} discarded; nothing was sent.")
    except SyncRunTransitionError as exc:
        messages.error(request, str(exc))
    return redirect("console:run", run_id=run.pk)


@console_view
@require_POST
def run_cancel(request: HttpRequest, run_id: int) -> HttpResponse:
    """Cancel a queued or running run: the same permission as starting one."""
    require(request, "start_sync")
    run = _run(run_id)
    try:
        console_run_cancel(run=run, actor=request.user)
        messages.success(request, f"Run #{run.pk} cancelled; the district is free.")
    except SyncRunError as exc:
        messages.error(request, str(exc))
    return redirect("console:run", run_id=run.pk)


@console_view
@require_GET
def run_zip(request: HttpRequest, run_id: int) -> FileResponse:
    run = _run(run_id)
    if not run.dry_run_zip:
        raise Http404("This run kept no zip.")
    if not changed_rows(run.counts):
        # An empty zip (22 bytes) says nothing; the run page says why there is none.
        raise Http404("Nothing would change, so this dry run's zip holds no file.")
    return FileResponse(
        run.dry_run_zip.open("rb"),
        as_attachment=True,
        filename=f"{run.district.slug}-dry-run-{run.pk}.zip",
        content_type="application/zip",
    )


# --- conflicts -----------------------------------------------------------------------------


@console_view
@require_GET
def conflicts(request: HttpRequest) -> HttpResponse:
    filters = ConflictFilters.from_query(request.GET)
    selected = permissions.scoped(request.user, conflict_browse(filters=filters), via="district")
    names = school_names()
    if request.GET.get("format") == "csv":
        require(request, "export_student_data")
        rows = (
            (
                c.district.slug,
                c.severity,
                c.kind,
                c.object_type,
                c.sourced_id,
                names.get(c.school, c.school),
                c.detail,
                c.first_seen.isoformat(),
                c.last_seen.isoformat(),
                "open" if c.closed_at is None else "closed",
                c.resolution_note,
            )
            for c in selected.iterator(chunk_size=2000)
        )
        header = (
            "district",
            "severity",
            "kind",
            "object_type",
            "sourced_id",
            "school",
            "detail",
            "first_seen",
            "last_seen",
            "state",
            "resolution_note",
        )
        return csv_response([header, *rows], filename=f"conflicts-{_stamp()}.csv")
    page = Paginator(selected, PAGE_SIZE).get_page(request.GET.get("page"))
    query = filters.as_query()
    return render(
        request,
        "console/conflicts.html",
        _context(
            request,
            page=page,
            rows=[(c, names.get(c.school, c.school)) for c in page.object_list],
            filters=filters,
            query_string=_query_string(**query),
            districts=permissions.scoped(request.user, district_list()),
            kinds=Conflict.Kind.choices,
            schools=conflict_schools(filters=filters),
            ages=[(key, label) for key, (label, _, _) in CONFLICT_AGES.items()],
            school_names=names,
            resolve_form=ConflictResolveForm(),
        ),
    )


@console_view
@require_POST
def conflict_resolve(request: HttpRequest, conflict_id: int) -> HttpResponse:
    require(request, "resolve_conflict")
    conflict = get_object_or_404(Conflict.objects.select_related("district"), pk=conflict_id)
    form = ConflictResolveForm(request.POST)
    back = request.POST.get("next", "")
    if not back.startswith(reverse("console:conflicts")):
        back = reverse("console:conflicts")
    if not form.is_valid():
        messages.error(request, "Write a short note saying what was done.")
        return redirect(back)
    resolve(conflict=conflict, note=form.cleaned_data["note"], actor=request.user)
    messages.success(
        request,
        f"Resolved {conflict.get_kind_display().lower()} on {conflict.object_type} "
        f"{conflict.sourced_id}. A run that still sees it reopens it.",
    )
    return redirect(back)


# --- evaluation ----------------------------------------------------------------------------


def _bar_segments(key: str, counts: dict[str, int], total: int) -> list[dict[str, object]]:
    """One segment per match class of the stacked bar, with its place on a 0-100 scale. The
    numbers are strings (never localized) because they become SVG attributes."""
    segments, offset = [], 0.0
    for m in MATCHES:
        count = counts.get(m.value, 0)
        share = 100 * count / total
        segments.append(
            {
                "match": m.value,
                "label": MATCH_LABELS[key][m],
                "count": count,
                "share": f"{share:.2f}",
                "offset": f"{offset:.2f}",
            }
        )
        offset += share
    return segments


def _report(run_id: int) -> EvaluationReport:
    return get_object_or_404(EvaluationReport.objects.select_related("district", "run"), pk=run_id)


@console_view
@require_GET
def evaluation_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    report = _report(run_id)
    object_type = request.GET.get("type", "")
    match = request.GET.get("match", "")
    search = request.GET.get("q", "").strip()
    rows = evaluation_row_list(
        report=report,
        object_type=object_type if object_type in EvaluationRow.ObjectType.values else "",
        match=match if match in EvaluationRow.Match.values else "",
        search=search,
    )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    summary = report.summary or {}
    sections = []
    for object_type_value, key in TYPE_KEYS.items():
        counts = summary.get(key, {})
        total = sum(counts.values()) or 1
        sections.append(
            {
                "type": object_type_value,
                "key": key,
                "classes": _bar_segments(key, counts, total),
                "total": sum(counts.values()),
            }
        )
    return render(
        request,
        "console/evaluation.html",
        _context(
            request,
            report=report,
            run=report.run,
            district=report.district,
            sections=sections,
            page=page,
            filters={"type": object_type, "match": match, "q": search},
            query_string=_query_string(type=object_type, match=match, q=search),
            types=EvaluationRow.ObjectType.choices,
            matches=[(m.value, MATCH_LABELS["users"][m]) for m in MATCHES],
            labels=MATCH_LABELS,
            type_keys=TYPE_KEYS,
            checks=summary.get("checks", {}),
            change_rows=sum((summary.get("change_sis_id") or {}).values()),
        ),
    )


@console_view
@require_GET
def evaluation_csv(request: HttpRequest, run_id: int) -> HttpResponse:
    report = _report(run_id)
    return csv_response(
        evaluation_detail_rows(report=report),
        filename=f"{report.district.slug}-evaluation-{report.pk}.csv",
    )


@console_view
@require_GET
def evaluation_change_sis_id(request: HttpRequest, run_id: int) -> HttpResponse:
    report = _report(run_id)
    # A Canvas import file: ids must arrive exactly as they are, so no spreadsheet escaping.
    return csv_response(
        evaluation_change_sis_id_rows(report=report),
        filename="change_sis_id.csv",
        neutralise=False,
    )


# --- audit ---------------------------------------------------------------------------------


@console_view
@require_GET
def audit(request: HttpRequest) -> HttpResponse:
    slug = request.GET.get("district", "")
    action = request.GET.get("action", "")
    search = request.GET.get("q", "").strip()
    dates = DateRange.from_query(request.GET)
    events = permissions.scoped(
        request.user,
        audit_browse(
            district_slug=slug,
            action=action if action in AuditEvent.Action.values else "",
            search=search,
            dates=dates,
        ),
        via="district",
    )
    if request.GET.get("format") == "csv":
        # Targets and notes can name students (a resolved conflict): a student-data export.
        require(request, "export_student_data")
        header = ("when", "who", "district", "what", "target", "changes")
        rows = (
            (
                e.created_at.isoformat(),
                e.actor_label,
                e.district.slug if e.district else "",
                sentence(e.get_action_display()),
                e.target,
                "; ".join(f"{name}: {change}" for name, change in audit_lines(e.changes)),
            )
            for e in events.iterator(chunk_size=2000)
        )
        return csv_response([header, *rows], filename=f"audit-{_stamp()}.csv")
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    query = {"district": slug, "action": action, "q": search, **dates.as_query()}
    return render(
        request,
        "console/audit.html",
        _context(
            request,
            page=page,
            events=[(e, audit_lines(e.changes)) for e in page.object_list],
            districts=permissions.scoped(request.user, district_list()),
            actions=[(value, sentence(label)) for value, label in AuditEvent.Action.choices],
            filters={**query, "from": dates.start, "to": dates.end},
            query_string=_query_string(**query),
        ),
    )
