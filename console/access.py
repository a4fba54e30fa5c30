"""Who may open the console: active staff, with a verified second factor when
``settings.OTP_REQUIRED``. Sign-in reuses the admin's login page and the tenants OTP pages.

Every console page is ``never_cache``: pages carry district data and, once, intake links.
Every page also needs a permission (``PAGE_NEEDS``, checked through ``tenants.permissions``,
the module the admin uses too), so the CSM, Operator and Viewer roles see what they should.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache

from provisioning.models import Conflict
from runs.models import SyncRun
from tenants import permissions
from tenants.models import District

View = Callable[..., HttpResponse]

#: The capability (``tenants.permissions``) each console page needs, by URL name. A page
#: missing here is refused to everyone but superusers (fail closed); a test checks that
#: every console URL is listed.
PAGE_NEEDS = {
    "districts": "view_districts",
    "district_new": "add_district",
    "district": "view_districts",
    "district_settings": "change_district",
    "district_credentials": "change_district",
    "district_check": "check_district",
    "district_check_status": "view_districts",
    "district_intake": "create_intake_link",
    "district_run_start": "view_districts",  # and the kind's start_* (checked in the view)
    "runs": "view_runs",
    "run": "view_runs",
    "run_progress": "view_runs",
    "run_approve": "decide_sync",
    "run_discard": "decide_sync",
    "run_cancel": "start_sync",
    "run_zip": "export_student_data",
    "conflicts": "view_conflicts",  # its CSV export also needs export_student_data
    "conflict_resolve": "resolve_conflict",
    "evaluation": "view_evaluations",
    "evaluation_csv": "export_student_data",
    "evaluation_change_sis_id": "export_student_data",
    "audit": "view_audit",
}


def staff_gate(request: HttpRequest) -> HttpResponse | None:
    """The way in for active staff: ``None`` to go on, or where a signed-out visitor (sign in)
    or an unverified one (the second-factor page) goes first, returning here afterwards.
    Anyone else is refused."""
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path(), reverse("admin:login"))
    if not (user.is_active and user.is_staff):
        raise PermissionDenied
    if settings.OTP_REQUIRED and not user.is_verified():
        query = urlencode({"next": request.get_full_path()})
        return redirect(f"{reverse('tenants:otp_verify')}?{query}")
    return None


def console_view(view: View) -> View:
    """Staff only; sends a signed-out visitor to sign in and an unverified one to the
    second-factor page, each returning here afterwards."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if (detour := staff_gate(request)) is not None:
            return detour
        user = request.user
        match = request.resolver_match
        needs = PAGE_NEEDS.get(match.url_name if match else "")
        if not user.is_superuser and (needs is None or not permissions.can(user, needs)):
            raise PermissionDenied
        _refuse_unassigned_district(user, kwargs)
        return view(request, *args, **kwargs)

    return never_cache(wrapped)


#: URL arguments that name an object of one district: how to find that district's id.
_DISTRICT_OF = {
    "slug": lambda slug: District.objects.filter(slug=slug).values("pk"),
    "run_id": lambda pk: SyncRun.objects.filter(pk=pk).values("district_id"),
    "conflict_id": lambda pk: Conflict.objects.filter(pk=pk).values("district_id"),
}


def _refuse_unassigned_district(user, kwargs: dict[str, Any]) -> None:
    """A page about a district the user is not assigned to does not exist for them (404)."""
    allowed = permissions.assigned_district_ids(user)
    if allowed is None:
        return
    for name, district_of in _DISTRICT_OF.items():
        if name in kwargs:
            found = district_of(kwargs[name]).first()
            if found is not None and next(iter(found.values())) not in allowed:
                raise Http404


def can(request: HttpRequest, action: str) -> bool:
    return permissions.can(request.user, action)


def require(request: HttpRequest, action: str) -> None:
    permissions.require(request.user, action)


def abilities(request: HttpRequest) -> dict[str, bool]:
    """Every capability and whether this user has it, for templates (``can.start_sync``)."""
    return {action: can(request, action) for action in permissions.CAPABILITIES}
