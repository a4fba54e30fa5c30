"""The staff console: Django's admin, with two-factor authentication when ``OTP_REQUIRED``.

Sign-in is two steps. The admin login form checks the password (django-axes counts the
failures); then, when ``settings.OTP_REQUIRED`` is on, the user is sent to
``tenants:otp_verify`` for a code from their authenticator app (or to ``tenants:otp_enroll``
to register one, the first time). Until the session is verified the admin treats the user
as not staff, exactly like django-otp's ``OTPAdminSite``.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.admin import AdminSite
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode


def otp_pending(request: HttpRequest) -> bool:
    """Signed in with a password as staff, but not yet verified with a second factor."""
    user = request.user
    return bool(
        settings.OTP_REQUIRED
        and user.is_authenticated
        and user.is_active
        and user.is_staff
        and not user.is_verified()
    )


class ConsoleAdminSite(AdminSite):
    site_header = "RosterBridge console"
    site_title = "RosterBridge"
    index_title = "Districts, syncs and grade passback"

    def has_permission(self, request: HttpRequest) -> bool:
        if not super().has_permission(request):
            return False
        return not settings.OTP_REQUIRED or request.user.is_verified()

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        if request.method == "GET" and otp_pending(request):
            next_url = request.GET.get("next") or reverse("admin:index", current_app=self.name)
            return redirect(reverse("tenants:otp_verify") + "?" + urlencode({"next": next_url}))
        return super().login(request, extra_context)
