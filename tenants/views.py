"""Public pages: the one-time intake form and the two-factor sign-in steps.

The admin itself lives in ``tenants.admin`` / ``tenants.admin_site``.
"""

from __future__ import annotations

import base64
import logging

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods
from django_otp import devices_for_user
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from tenants.client_ip import client_ip
from tenants.forms import IntakeForm, OtpEnrollForm, OtpVerifyForm
from tenants.models import AuditEvent
from tenants.services.audit import actor_label_for, audit_record
from tenants.services.intake import IntakeLinkClosed, intake_link_get_open, intake_link_submit
from tenants.services.ratelimit import rate_limit_hit

logger = logging.getLogger(__name__)

INTAKE_RATE_LIMITED = "Too many requests from your network. Wait a few minutes and try again."
OTP_DEVICE_NAME = "Authenticator app"


def _no_referrer(response: HttpResponse) -> HttpResponse:
    # The intake token is in the path: never let it travel in a Referer header, be cached
    # by a browser or proxy, or get indexed.
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Cache-Control"] = "no-store"
    return response


@sensitive_post_parameters(
    "oneroster_client_secret", "oneroster_vendor_key", "oneroster_vendor_secret"
)
@never_cache
@require_http_methods(["GET", "POST"])
def intake(request: HttpRequest, token: str) -> HttpResponse:
    """The page a district's IT contact opens from the link: district name and a form."""
    client = client_ip(request) or "unknown"
    if rate_limit_hit(
        scope="intake",
        key=client,
        limit=settings.INTAKE_RATE_LIMIT,
        window_seconds=settings.INTAKE_RATE_WINDOW,
    ):
        return _no_referrer(
            render(
                request,
                "tenants/intake_closed.html",
                {"message": INTAKE_RATE_LIMITED, "title": "Please wait"},
                status=429,
            )
        )
    try:
        link = intake_link_get_open(token=token)
    except IntakeLinkClosed as exc:
        return _closed(request, exc)

    form = IntakeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            district = intake_link_submit(token=token, values=form.credential_values())
        except IntakeLinkClosed as exc:
            return _closed(request, exc)
        logger.info("intake link %s submitted for district %s", link.pk, district.slug)
        return _no_referrer(
            render(request, "tenants/intake_done.html", {"district_name": district.name})
        )
    context = {"district_name": link.district.name, "form": form}
    return _no_referrer(render(request, "tenants/intake_form.html", context))


def _closed(request: HttpRequest, exc: IntakeLinkClosed) -> HttpResponse:
    status = 404 if exc.state == "unknown" else 410
    titles = {
        "unknown": "Link not found",
        "expired": "Link expired",
        "used": "Link already used",
        "revoked": "Link withdrawn",
    }
    return _no_referrer(
        render(
            request,
            "tenants/intake_closed.html",
            {"message": str(exc), "title": titles[exc.state]},
            status=status,
        )
    )


# --- two-factor sign-in ----------------------------------------------------------------------


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("admin:index")


def _staff_only(request: HttpRequest) -> None:
    if not (request.user.is_active and request.user.is_staff):
        raise PermissionDenied


@never_cache
@login_required(login_url="admin:login")
@require_http_methods(["GET", "POST"])
def otp_verify(request: HttpRequest) -> HttpResponse:
    """Second step of sign-in: a code from a registered device."""
    _staff_only(request)
    next_url = _next_url(request)
    if request.user.is_verified():
        return redirect(next_url)
    if not any(devices_for_user(request.user)):
        return redirect(reverse("tenants:otp_enroll") + "?" + request.GET.urlencode())
    form = OtpVerifyForm(request.user, request, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        otp_login(request, request.user.otp_device)
        # A verified session is a new privilege level: issue a new session key (ASVS 3.2.1).
        request.session.cycle_key()
        return redirect(next_url)
    return render(request, "registration/otp_verify.html", {"form": form, "next": next_url})


@never_cache
@login_required(login_url="admin:login")
@require_http_methods(["GET", "POST"])
def otp_enroll(request: HttpRequest) -> HttpResponse:
    """First sign-in of a staff user without a device: register an authenticator app.

    Open only while the user has no confirmed device; adding more devices afterwards needs a
    verified session (the admin's TOTP device pages).
    """
    _staff_only(request)
    next_url = _next_url(request)
    if any(devices_for_user(request.user)):
        return redirect(reverse("tenants:otp_verify") + "?" + request.GET.urlencode())
    device = TOTPDevice.objects.filter(user=request.user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=request.user, name=OTP_DEVICE_NAME, confirmed=False)
    form = OtpEnrollForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["otp_token"].strip()):
            with transaction.atomic():
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                audit_record(
                    actor=request.user,
                    actor_label=actor_label_for(request.user),
                    action=AuditEvent.Action.STAFF_OTP_ENROLLED,
                    target=f"device {device.pk}",
                )
            otp_login(request, device)
            request.session.cycle_key()
            return redirect(next_url)
        form.add_error("otp_token", "That code does not match. Check the time on your phone.")
    secret = base64.b32encode(device.bin_key).decode()
    svg = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage)
    return render(
        request,
        "registration/otp_enroll.html",
        {
            "form": form,
            "next": next_url,
            "qr_svg": svg.to_string(encoding="unicode"),
            "secret_groups": [secret[i : i + 4] for i in range(0, len(secret), 4)],
        },
    )


def accounts_login(request: HttpRequest) -> HttpResponse:
    """``settings.LOGIN_URL``: staff sign in through the console's login page."""
    query = request.GET.urlencode()
    return redirect(reverse("admin:login") + (f"?{query}" if query else ""))
