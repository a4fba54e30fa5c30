"""The tool's HTTP side: OIDC login, launch, the Grade sync page, Sync now, JWKS, config.

Every page may be shown inside Canvas's iframe: no ``X-Frame-Options``, and a CSP
``frame-ancestors`` naming the district's Canvas instead. No view sets a cookie; the page's
session is the signed launch token (``lti.services.launch``), which the page carries in
its links and forms. Django's cookie-based CSRF cannot work in a third-party iframe, so
Sync now checks its own token (a keyed hash of the launch token) instead.
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

from csp.constants import SELF
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from pylti1p3.exception import LtiException, OIDCException

from integration.canvas.errors import CanvasNotConfigured
from integration.http import UpstreamError
from lti.models import LtiPlatform
from lti.services.gradesync import course_sync_read
from lti.services.keys import platform_jwks
from lti.services.launch import (
    LaunchRefused,
    LaunchSession,
    launch_session_build,
    launch_token_issue,
    launch_token_read,
    sync_csrf_check,
    sync_csrf_token,
)
from lti.services.platforms import canvas_tool_config
from lti.services.sync import SyncRefused, course_sync_progress, course_sync_start
from lti.tool import ToolMessageLaunch, ToolOIDCLogin
from tenants.models import District
from tenants.services.clients import district_canvas_client

if TYPE_CHECKING:
    from collections.abc import Callable

    from django.http import HttpRequest

logger = logging.getLogger(__name__)

LAUNCH_FAILED = "This launch could not be verified"
EXPIRED = (
    "This Grade sync page has expired or its link is not valid. Open Grade sync again "
    "from the Canvas gradebook."
)
CSRF_FAILED = "The Sync now form was not sent from this page. Reload the page and try again."
CANVAS_UNAVAILABLE = "Canvas did not answer, so the assignments cannot be shown: {error}"


def _origin(url: str) -> str:
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def framable(view: Callable) -> Callable:
    """Allow the district's Canvas (and only it) to show the view in an iframe: the
    project's policy with ``frame-ancestors`` replaced, and no ``X-Frame-Options``."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = view(request, *args, **kwargs)
        district = getattr(request, "lti_district", None)
        ancestors = [SELF]
        if district is not None and _origin(district.canvas_base_url):
            ancestors.append(_origin(district.canvas_base_url))
        response._csp_replace = {"frame-ancestors": ancestors}
        response["Cache-Control"] = "no-store"
        return response

    return xframe_options_exempt(wrapper)


def _platform(request: HttpRequest, slug: str) -> LtiPlatform:
    platform = LtiPlatform.objects.select_related("district").filter(district__slug=slug).first()
    if platform is None:
        raise Http404("No LTI registration for this district.")
    request.lti_district = platform.district
    return platform


def _refused(request: HttpRequest, title: str, message: str, status: int) -> HttpResponse:
    return render(request, "lti/refused.html", {"title": title, "message": message}, status=status)


@csrf_exempt
@framable
@require_http_methods(["GET", "POST"])
def login(request: HttpRequest, slug: str) -> HttpResponse:
    """OIDC third-party login initiation: Canvas sends the browser here first."""
    platform = _platform(request, slug)
    launch_url = request.build_absolute_uri(reverse("lti:launch", args=[slug]))
    try:
        return ToolOIDCLogin(request, platform).redirect(launch_url)
    except (OIDCException, LtiException) as exc:
        return _refused(request, LAUNCH_FAILED, str(exc), 400)


@csrf_exempt
@framable
@require_POST
def launch(request: HttpRequest, slug: str) -> HttpResponse:
    """The id_token form post: validate it, map the teacher and course, open the page."""
    platform = _platform(request, slug)
    message = ToolMessageLaunch(request, platform)
    try:
        message.validate()
    except LtiException as exc:
        logger.info("LTI launch refused for %s: %s", slug, exc)
        return _refused(request, LAUNCH_FAILED, str(exc), 403)
    try:
        session = launch_session_build(
            district=platform.district,
            claims=message.get_launch_data(),
            is_teacher=message.check_teacher_access(),
            is_ta=message.check_teaching_assistant_access(),
        )
    except LaunchRefused as exc:
        return _refused(request, exc.title, str(exc), 403)
    return redirect(_page_url(launch_token_issue(session)), permanent=False)


def _page_url(token: str, **extra: object) -> str:
    return reverse("lti:sync") + "?" + urlencode({"t": token, **extra})


def _session(
    request: HttpRequest, token: str
) -> tuple[LaunchSession, District] | tuple[None, None]:
    session = launch_token_read(token)
    if session is None:
        return None, None
    district = District.objects.filter(pk=session.district_id).first()
    request.lti_district = district
    return (session, district) if district is not None else (None, None)


@framable
@require_GET
def sync_page(request: HttpRequest) -> HttpResponse:
    token = request.GET.get("t", "")
    session, district = _session(request, token)
    if session is None:
        return _refused(request, "Grade sync has expired", EXPIRED, 403)
    return _render_page(request, token, session, district, error=request.GET.get("error", ""))


def _render_page(
    request: HttpRequest,
    token: str,
    session: LaunchSession,
    district: District,
    *,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    facts, canvas_error = None, ""
    try:
        canvas = district_canvas_client(district)
        try:
            facts = course_sync_read(
                district=district, sis_course_id=session.sis_course_id, canvas=canvas
            )
        finally:
            canvas.close()
    except (UpstreamError, CanvasNotConfigured) as exc:
        canvas_error = CANVAS_UNAVAILABLE.format(error=exc)
    progress = course_sync_progress(district=district, sis_course_id=session.sis_course_id)
    context = {
        "session": session,
        "district": district,
        "facts": facts,
        "canvas_error": canvas_error,
        "error": error,
        "progress": progress,
        "token": token,
        "csrf": sync_csrf_token(token),
        "status_url": reverse("lti:sync-status") + "?" + urlencode({"t": token}),
        "page_url": _page_url(token),
    }
    return render(request, "lti/sync.html", context, status=status)


@csrf_exempt
@framable
@require_POST
def sync_now(request: HttpRequest) -> HttpResponse:
    token = request.POST.get("t", "")
    session, district = _session(request, token)
    if session is None:
        return _refused(request, "Grade sync has expired", EXPIRED, 403)
    if not sync_csrf_check(token, request.POST.get("csrf", "")):
        return _refused(request, "Sync now was refused", CSRF_FAILED, 403)
    try:
        course_sync_start(district=district, session=session)
    except SyncRefused as exc:
        return _render_page(request, token, session, district, error=str(exc), status=429)
    return redirect(_page_url(token), permanent=False)


@framable
@require_GET
def sync_status(request: HttpRequest) -> JsonResponse:
    session, district = _session(request, request.GET.get("t", ""))
    if session is None:
        return JsonResponse({"error": EXPIRED}, status=403)
    progress = course_sync_progress(district=district, sis_course_id=session.sis_course_id)
    return JsonResponse(progress.as_json() if progress else {"done": True, "run_id": None})


@require_GET
def jwks(request: HttpRequest, slug: str) -> JsonResponse:
    """The tool's public keys for this district's registration."""
    return JsonResponse(platform_jwks(platform=_platform(request, slug)))


@require_GET
def tool_config(request: HttpRequest, slug: str) -> JsonResponse:
    """The developer key JSON (public: URLs only), for Canvas's "Enter URL" option."""
    return JsonResponse(canvas_tool_config(_platform(request, slug).district))
