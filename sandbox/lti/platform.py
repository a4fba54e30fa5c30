"""The simulated Canvas's LTI 1.3 side: developer keys, its key pair and JWKS, the OIDC
authorization endpoint, and a simulated gradebook that launches a tool.

Served by the Canvas app through ``lti_routes_register`` (pages a browser opens, so no
bearer token), except the developer-key control, which takes the Canvas token like every
``/_sandbox/canvas/`` control:

- ``POST /_sandbox/canvas/lti/developer-keys``: body = the tool's configuration JSON (what
  an admin pastes into Canvas); answers the client_id, deployment_id and platform URLs.
- ``GET /api/lti/security/jwks``: the platform's public keys.
- ``GET /courses/<course>/gradebook?user=<sis user id>&role=instructor|ta|student
  &client_id=<id>[&open=1]``: the gradebook as that user, with the tool's "Sync Grades"
  button (``post_grades``); ``open=1`` opens the tool at once.
- ``GET /courses/<course>/external_tools/<client_id>?user=…&role=…``: the launch page, a
  form that posts the OIDC login initiation to the tool (as Canvas does).
- ``GET|POST /api/lti/authorize_redirect``: checks client_id and redirect_uri, then answers
  a form that posts the signed id_token and the state to the tool.

It is a simulator: "who is signed in" is the ``user`` parameter, carried to the
authorization step in a login hint the platform signs (HS256 with a per-start secret).
"""

from __future__ import annotations

import datetime as dt
import html
import itertools
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import jwt
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwcrypto.jwk import JWK

if TYPE_CHECKING:
    from sandbox.canvas.state import CanvasState

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
ID_TOKEN_SECONDS = 300
ROLES = {
    "instructor": [
        "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor",
        "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Instructor",
    ],
    "ta": ["http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"],
    "student": [
        "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner",
        "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Student",
    ],
}


class LtiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class DeveloperKey:
    client_id: str
    deployment_id: str
    config: dict[str, Any]

    @property
    def launch_urls(self) -> set[str]:
        urls = {self.config.get("target_link_uri", "")}
        for extension in self.config.get("extensions") or []:
            for placement in (extension.get("settings") or {}).get("placements") or []:
                urls.add(placement.get("target_link_uri") or "")
        return {u for u in urls if u}

    def placement_url(self, placement: str) -> str:
        for extension in self.config.get("extensions") or []:
            for item in (extension.get("settings") or {}).get("placements") or []:
                if item.get("placement") == placement and item.get("target_link_uri"):
                    return item["target_link_uri"]
        return self.config.get("target_link_uri", "")


@dataclass
class LtiPlatformState:
    """The platform's key pair and developer keys (one per tool installed)."""

    private_pem: str
    kid: str
    public_jwk: dict[str, Any]
    hint_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    keys: dict[str, DeveloperKey] = field(default_factory=dict)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(10000000000001))
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def generate(cls) -> LtiPlatformState:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        jwk = JWK.from_pem(pem.encode())
        public = orjson.loads(jwk.export_public())
        kid = jwk.thumbprint()
        public.update(kid=kid, alg="RS256", use="sig")
        return cls(private_pem=pem, kid=kid, public_jwk=public)

    def developer_key_create(self, config: dict[str, Any]) -> DeveloperKey:
        """A developer key and its deployment for a tool; the same tool (same login URL)
        gets its existing key back, so registering twice changes nothing."""
        with self.lock:
            for key in self.keys.values():
                if key.config.get("oidc_initiation_url") == config.get("oidc_initiation_url"):
                    key.config = config
                    return key
            number = next(self._ids)
        key = DeveloperKey(
            client_id=str(number),
            deployment_id=f"{number - 10000000000000}:{uuid.uuid4().hex}",
            config=config,
        )
        self.keys[key.client_id] = key
        return key

    def developer_key(self, client_id: str) -> DeveloperKey:
        key = self.keys.get(client_id or "")
        if key is None:
            raise LtiError(400, "unknown client_id")
        return key

    # --- tokens ------------------------------------------------------------------------

    def hint_sign(self, payload: dict[str, Any]) -> str:
        return jwt.encode(payload, self.hint_secret, algorithm="HS256")

    def hint_read(self, token: str) -> dict[str, Any]:
        try:
            return jwt.decode(token, self.hint_secret, algorithms=["HS256"])
        except jwt.InvalidTokenError as exc:
            raise LtiError(400, "invalid lti_message_hint") from exc

    def id_token_sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.private_pem, algorithm="RS256", headers={"kid": self.kid})


def _custom(value: str, user: Any, course: Any) -> str:
    """Canvas's variable substitution for the three variables the tool asks for; a
    variable Canvas cannot fill stays as its own name, as Canvas does."""
    filled = {
        "$Canvas.user.sisIntegrationId": user.integration_id,
        "$Canvas.user.sisSourceId": user.sis_id,
        "$Canvas.course.sisSourceId": course.sis_id,
        "$Canvas.course.id": str(course.id),
        "$Canvas.user.id": str(user.id),
    }.get(value)
    return filled if filled else value


def id_token_claims(
    *,
    issuer: str,
    key: DeveloperKey,
    user: Any,
    course: Any,
    role: str,
    placement: str,
    nonce: str,
    redirect_uri: str,
    now: dt.datetime,
) -> dict[str, Any]:
    custom = {
        name: _custom(str(value), user, course)
        for name, value in (key.config.get("custom_fields") or {}).items()
    }
    given, _, family = (user.name or "").partition(" ")
    issued = int(now.timestamp())
    return {
        "iss": issuer,
        "aud": key.client_id,
        "azp": key.client_id,
        "sub": f"sandbox-user-{user.id}",
        "iat": issued,
        "exp": issued + ID_TOKEN_SECONDS,
        "nonce": nonce,
        "name": user.name,
        "given_name": given,
        "family_name": family,
        CLAIM + "message_type": "LtiResourceLinkRequest",
        CLAIM + "version": "1.3.0",
        CLAIM + "deployment_id": key.deployment_id,
        CLAIM + "target_link_uri": redirect_uri,
        CLAIM + "resource_link": {"id": f"course-{course.id}-{placement}", "title": "Grade sync"},
        CLAIM + "roles": ROLES[role],
        CLAIM + "context": {
            "id": f"course-{course.id}",
            "label": course.course_code,
            "title": course.name,
            "type": ["http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"],
        },
        CLAIM + "lis": {
            "person_sourcedid": user.sis_id or "",
            "course_offering_sourcedid": course.sis_id or "",
        },
        CLAIM + "custom": custom,
        CLAIM + "tool_platform": {
            "guid": "sandbox-canvas",
            "name": "Sandbox Canvas",
            "product_family_code": "canvas",
        },
        "https://www.instructure.com/placement": placement,
    }


# --- pages ---------------------------------------------------------------------------------


def _page(title: str, body: str) -> bytes:
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font:15px system-ui,sans-serif;margin:0;color:#2d3b45}"
        "header{background:#394b58;color:#fff;padding:10px 20px;font-weight:600}"
        "main{padding:16px 20px}table{border-collapse:collapse}"
        "td,th{border:1px solid #c7cdd1;padding:6px 10px;text-align:left}"
        "button{background:#0374b5;color:#fff;border:0;border-radius:4px;padding:7px 14px;"
        "font:inherit;cursor:pointer}.modal{margin-top:16px;border:1px solid #c7cdd1}"
        "iframe{width:100%;height:760px;border:0}</style></head>"
        f"<body>{body}</body></html>"
    ).encode()


def autopost_page(action: str, fields: dict[str, str], title: str) -> bytes:
    inputs = "".join(
        f"<input type='hidden' name='{html.escape(k)}' value='{html.escape(v)}'>"
        for k, v in fields.items()
    )
    return _page(
        title,
        f"<form id='autopost' method='post' action='{html.escape(action)}'>{inputs}"
        "<noscript><button type='submit'>Continue</button></noscript></form>"
        "<script>document.getElementById('autopost').submit();</script>",
    )


def gradebook_page(
    state: CanvasState, course: Any, user: Any, role: str, client_id: str, open_tool: bool
) -> bytes:
    rows = []
    for assignment_id in state.course_assignments.get(course.id, []):
        a = state.assignments[assignment_id]
        if not a.published:
            continue
        due = a.due_at.strftime("%b %-d, %Y") if a.due_at else "No due date"
        sis = "yes" if a.post_to_sis else "no"
        rows.append(f"<tr><td>{html.escape(a.name)}</td><td>{due}</td><td>{sis}</td></tr>")
    params = urlencode({"user": user.sis_id or "", "role": role, "placement": "post_grades"})
    tool = f"/courses/{course.id}/external_tools/{quote(client_id)}?{params}"
    frame = f"<div class='modal'><iframe id='tool' title='Sync Grades' src='{tool}'></iframe></div>"
    body = (
        f"<header>Sandbox Canvas · {html.escape(course.name)} · Gradebook</header><main>"
        f"<p>Signed in as {html.escape(user.name)} ({html.escape(role)})</p>"
        "<p><button id='sync-grades' onclick=\"document.getElementById('tool-slot').innerHTML"
        f'={html.escape(orjson.dumps(frame).decode())}">Sync Grades</button></p>'
        "<table><thead><tr><th>Assignment</th><th>Due</th><th>Sync to SIS</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        f"<div id='tool-slot'>{frame if open_tool else ''}</div></main>"
    )
    return _page(f"Gradebook: {course.name}", body)
