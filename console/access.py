"""Who may open the console: active staff, with a verified second factor when
``settings.OTP_REQUIRED``. Sign-in reuses the admin's login page and the tenants OTP pages.

Every console page is ``never_cache``: pages carry district data and, once, intake links.
Actions additionally check a model permission, so a read-only staff role is possible.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache

View = Callable[..., HttpResponse]

#: What each console action needs, by name (superusers have them all).
PERMISSIONS = {
    "add_district": "tenants.add_district",
    "change_district": "tenants.change_district",
    "start_sync": "runs.start_syncrun",
    "decide_sync": "runs.approve_syncrun",
    "start_passback": "gradepassback.start_passback",
    "start_evaluation": "evaluation.start_evaluation",
    "resolve_conflict": "provisioning.change_conflict",
}


def console_view(view: View) -> View:
    """Staff only; sends a signed-out visitor to sign in and an unverified one to the
    second-factor page, each returning here afterwards."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        if not (user.is_active and user.is_staff):
            raise PermissionDenied
        if settings.OTP_REQUIRED and not user.is_verified():
            query = urlencode({"next": request.get_full_path()})
            return redirect(f"{reverse('tenants:otp_verify')}?{query}")
        return view(request, *args, **kwargs)

    return never_cache(wrapped)


def can(request: HttpRequest, action: str) -> bool:
    return request.user.has_perm(PERMISSIONS[action])


def require(request: HttpRequest, action: str) -> None:
    if not can(request, action):
        raise PermissionDenied


def abilities(request: HttpRequest) -> dict[str, bool]:
    """Every action and whether this user may do it, for templates (``can.start_sync``)."""
    return {action: can(request, action) for action in PERMISSIONS}
