"""``lti_routes_register``: mounts the LTI platform (``platform``) on a Canvas app."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlencode

import orjson

from sandbox.lti.platform import (
    ROLES,
    LtiError,
    LtiPlatformState,
    autopost_page,
    gradebook_page,
    id_token_claims,
)
from sandbox.web import MethodNotAllowed, Request, Response, Router

if TYPE_CHECKING:
    from sandbox.canvas.state import CanvasState

HTML = "text/html; charset=utf-8"
COURSE = r"(?P<course>\d+|sis_course_id:[^/]+)"


class PlatformHost(Protocol):
    """What the platform needs of the Canvas app it is mounted on (``CanvasApp``): the
    Canvas state it launches into, and the dispatch it puts its own routes in front of.
    Named here so the platform never imports the app that mounts it."""

    state: CanvasState

    def dispatch(self, req: Request) -> Response: ...


def lti_routes_register(app: PlatformHost) -> LtiPlatformState:
    """Serve the platform's routes before the app's own; returns the platform state."""
    platform = LtiPlatformState.generate()
    state = app.state

    def _user(req: Request) -> Any:
        user = state.users_by_sis.get(req.arg("user") or "")
        if user is None:
            raise LtiError(404, "no user with that SIS id")
        return user

    def _course(ref: str) -> Any:
        course = state.course_for(ref)
        if course is None:
            raise LtiError(404, "no such course")
        return course

    def _role(req: Request) -> str:
        role = req.arg("role") or "instructor"
        if role not in ROLES:
            raise LtiError(400, f"role must be one of {', '.join(ROLES)}")
        return role

    def developer_keys(req: Request) -> Response:
        header = req.environ.get("HTTP_AUTHORIZATION", "")
        if header[7:].strip() != state.token or not header.lower().startswith("bearer "):
            raise LtiError(401, "Controls need the sandbox's Canvas token")
        key = platform.developer_key_create(req.json())
        base = req.base_url
        body = {
            "client_id": key.client_id,
            "deployment_id": key.deployment_id,
            "issuer": base,
            "auth_login_url": f"{base}/api/lti/authorize_redirect",
            "auth_token_url": f"{base}/login/oauth2/token",
            "key_set_url": f"{base}/api/lti/security/jwks",
        }
        return Response(200, orjson.dumps(body))

    def jwks(req: Request) -> Response:
        return Response(200, orjson.dumps({"keys": [platform.public_jwk]}))

    def gradebook(req: Request, course: str) -> Response:
        page = gradebook_page(
            state,
            _course(course),
            _user(req),
            _role(req),
            req.arg("client_id") or "",
            open_tool=(req.arg("open") or "") in ("1", "true"),
        )
        return Response(200, page, content_type=HTML)

    def external_tool(req: Request, course: str, client_id: str) -> Response:
        found = _course(course)
        user = _user(req)
        role = _role(req)
        key = platform.developer_key(client_id)
        placement = req.arg("placement") or "course_navigation"
        hint = platform.hint_sign(
            {"course": found.id, "user": user.id, "role": role, "placement": placement}
        )
        fields = {
            "iss": req.base_url,
            "login_hint": str(user.id),
            "target_link_uri": key.placement_url(placement),
            "lti_message_hint": hint,
            "client_id": key.client_id,
            "lti_deployment_id": key.deployment_id,
        }
        page = autopost_page(key.config["oidc_initiation_url"], fields, "Launching")
        return Response(200, page, content_type=HTML)

    def authorize(req: Request) -> Response:
        params, _ = req.form()
        key = platform.developer_key(params.get("client_id", ""))
        redirect_uri = params.get("redirect_uri", "")
        if redirect_uri not in key.launch_urls:
            raise LtiError(400, "redirect_uri is not one of the developer key's URIs")
        for name, expected in (
            ("scope", "openid"),
            ("response_type", "id_token"),
            ("response_mode", "form_post"),
        ):
            if params.get(name) != expected:
                raise LtiError(400, f"{name} must be {expected}")
        if not params.get("nonce"):
            raise LtiError(400, "nonce is required")
        hint = platform.hint_read(params.get("lti_message_hint", ""))
        if str(hint["user"]) != params.get("login_hint"):
            raise LtiError(400, "login_hint does not match the launch")
        claims = id_token_claims(
            issuer=req.base_url,
            key=key,
            user=state.users[int(hint["user"])],
            course=state.courses[int(hint["course"])],
            role=hint["role"],
            placement=hint["placement"],
            nonce=params["nonce"],
            redirect_uri=redirect_uri,
            now=state.now(),
        )
        fields = {"id_token": platform.id_token_sign(claims), "state": params.get("state", "")}
        return Response(200, autopost_page(redirect_uri, fields, "Launching"), content_type=HTML)

    router = Router()
    router.add("POST", r"/_sandbox/canvas/lti/developer-keys", developer_keys)
    router.add("GET", r"/api/lti/security/jwks", jwks)
    router.add("GET", rf"/courses/{COURSE}/gradebook", gradebook)
    router.add("GET", rf"/courses/{COURSE}/external_tools/(?P<client_id>\d+)", external_tool)
    router.add("GET", r"/api/lti/authorize_redirect", authorize)
    router.add("POST", r"/api/lti/authorize_redirect", authorize)
    inner = app.dispatch

    def dispatch(req: Request) -> Response:
        """The platform's pages first (a browser opens them: no bearer token), then the
        Canvas app's own routes."""
        try:
            match = router.match(req.method, req.path)
        except MethodNotAllowed:
            match = None
        if match is None:
            return inner(req)
        try:
            return match.route.handler(req, **match.params)
        except LtiError as exc:
            page = f"<h1>Error {exc.status}</h1><p>{html.escape(str(exc))}</p>"
            return Response(exc.status, page.encode(), content_type=HTML)

    app.dispatch = dispatch  # type: ignore[method-assign]
    state.lti_platform = platform  # tests sign their own id_tokens with it
    return platform


def gradebook_url(canvas_url: str, *, course: str, user: str, role: str, client_id: str) -> str:
    """The simulated gradebook of a course as a user, with the tool opened (``open=1``)."""
    query = urlencode({"user": user, "role": role, "client_id": client_id, "open": "1"})
    return f"{canvas_url.rstrip('/')}/courses/sis_course_id:{course}/gradebook?{query}"
