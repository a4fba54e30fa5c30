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
from tenants.services.intake import (
    IntakeLinkClosed,
    intake_link_get_open,
    intake_link_submit,
    intake_token_hash,
)
from tenants.services.ratelimit import rate_limit_hit

logger = logging.getLogger(__name__)

INTAKE_RATE_LIMITED = "Too many requests from your network. Wait a few minutes and try again."
INTAKE_NO_SESSION = (
    "This page needs the link you were sent. Open the link from your e-mail again: it still "
    "works if the form was not sent."
)
OTP_DEVICE_NAME = "Authenticator app"


#: The session remembers which link is being filled in, so the token leaves the address bar.
INTAKE_SESSION_KEY = "intake_token_hash"


def _no_referrer(response: HttpResponse) -> HttpResponse:
    # Never let an intake address travel to another site in a Referer header, be cached by a
    # browser or proxy, or get indexed. "same-origin", not "no-referrer": with no-referrer a
    # browser POSTs the form with "Origin: null", which Django's CSRF check rightly refuses.
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Cache-Control"] = "no-store"
    return response


def _rate_limited(request: HttpRequest) -> HttpResponse | None:
    if not rate_limit_hit(
        scope="intake",
        key=client_ip(request) or "unknown",
        limit=settings.INTAKE_RATE_LIMIT,
        window_seconds=settings.INTAKE_RATE_WINDOW,
    ):
        return None
    context = {"message": INTAKE_RATE_LIMITED, "title": "Please wait"}
    return _no_referrer(render(request, "tenants/intake_closed.html", context, status=429))


@never_cache
@require_http_methods(["GET"])
def intake(request: HttpRequest, token: str) -> HttpResponse:
    """The link itself: remember the link in the session and continue on a token-free URL.

    Like Django's password-reset confirmation, this keeps the token out of the browser
    history and of the pages' own requests.
    """
    limited = _rate_limited(request)
    if limited is not None:
        return limited
    token_hash = intake_token_hash(token)
    try:
        intake_link_get_open(token_hash=token_hash)
    except IntakeLinkClosed as exc:
        return _closed(request, exc)
    request.session[INTAKE_SESSION_KEY] = token_hash
    return _no_referrer(redirect("tenants:intake_form"))


@sensitive_post_parameters(
    "oneroster_client_secret", "oneroster_vendor_key", "oneroster_vendor_secret"
)
@never_cache
@require_http_methods(["GET", "POST"])
def intake_form(request: HttpRequest) -> HttpResponse:
    """The page a district's IT contact fills in: the district's name and a form."""
    limited = _rate_limited(request)
    if limited is not None:
        return limited
    token_hash = request.session.get(INTAKE_SESSION_KEY)
    if not token_hash:
        context = {"message": INTAKE_NO_SESSION, "title": "Open your link again"}
        return _no_referrer(render(request, "tenants/intake_closed.html", context, status=404))
    try:
        link = intake_link_get_open(token_hash=token_hash)
    except IntakeLinkClosed as exc:
        return _closed(request, exc)

    form = IntakeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            district = intake_link_submit(token_hash=token_hash, values=form.credential_values())
        except IntakeLinkClosed as exc:
            return _closed(request, exc)
        request.session.pop(INTAKE_SESSION_KEY, None)
        logger.info("intake link %s submitted for district %s", link.pk, district.slug)
        context = {"district_name": district.name}
        return _no_referrer(render(request, "tenants/intake_done.html", context))
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
    context = {"message": str(exc), "title": titles[exc.state]}
    return _no_referrer(render(request, "tenants/intake_closed.html", context, status=status))


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
