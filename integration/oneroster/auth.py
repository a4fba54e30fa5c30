"""Authentication for OneRoster requests: OAuth 2.0 client credentials (cached bearer
token) and OAuth 1.0a HMAC-SHA256 request signing (two-legged, via oauthlib).

Both are ``requests`` auth objects, applied when each attempt is sent: a retried request
gets a fresh OAuth 1.0a nonce/timestamp, and a refreshed bearer token is picked up.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from urllib.parse import quote

import requests
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256, SIGNATURE_TYPE_AUTH_HEADER
from oauthlib.oauth1 import Client as OAuth1Client

from integration.http.errors import UpstreamAuthFailed, UpstreamProtocolError
from integration.http.session import UpstreamSession, safe_url
from integration.oneroster.errors import OneRosterRejected, TokenRefused

SCOPE_PREFIX = "https://purl.imsglobal.org/spec/or/v1p1/scope/"
ROSTER_SCOPES = ("roster-core.readonly", "roster.readonly", "roster-demographics.readonly")
GRADEBOOK_SCOPES = ("gradebook.readonly", "gradebook.createput", "gradebook.delete")

#: Refresh this long before the provider's expiry (capped at a tenth of the lifetime).
REFRESH_MARGIN_SECONDS = 60.0


def scope_string(*, gradebook: bool) -> str:
    names = ROSTER_SCOPES + (GRADEBOOK_SCOPES if gradebook else ())
    return " ".join(SCOPE_PREFIX + n for n in names)


class TokenCache(requests.auth.AuthBase):
    """OAuth 2.0 client-credentials token, cached until shortly before it expires.

    Thread-safe: concurrent page fetches share one token and at most one fetch runs at a
    time. ``generation`` lets a caller that saw a 401 invalidate exactly the token it used,
    so five workers hitting an expired token cause one refresh, not five.
    """

    def __init__(
        self,
        *,
        session: UpstreamSession,
        token_url: str,
        client_id: str,
        client_secret: str,
        scope: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session = session
        self._token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._scope = scope
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._refresh_at = 0.0
        self.generation = 0
        self.fetches = 0

    def __repr__(self) -> str:
        return f"TokenCache(token_url={self._token_url!r}, client_id={self._client_id!r})"

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token()}"
        return request

    def token(self) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._refresh_at:
                self._fetch()
            assert self._token is not None
            return self._token

    def invalidate(self, generation: int) -> None:
        """Forget the token of ``generation`` (a no-op if it was already replaced)."""
        with self._lock:
            if generation == self.generation:
                self._token = None

    def fetch(self) -> None:
        """Get a new token now (raises ``UpstreamAuthFailed`` if the provider refuses)."""
        with self._lock:
            self._fetch()

    def _fetch(self) -> None:
        try:
            response = self._post_credentials(scope=self._scope)
        except TokenRefused as exc:
            if exc.oauth_error != "invalid_scope":
                raise
            # RFC 6749 makes the scope optional: a provider that knows none of the 1.1 scope
            # URIs grants the connection's own scopes when it is asked for none.
            response = self._post_credentials(scope=None)
        body = self._session.decode_json(response)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise UpstreamProtocolError(
                "The token URL answered without an access_token", url=safe_url(response.url or "")
            )
        try:
            lifetime = float(body.get("expires_in", 3600))
        except (TypeError, ValueError):
            lifetime = 3600.0
        margin = min(REFRESH_MARGIN_SECONDS, lifetime / 10)
        self._token = token
        self._refresh_at = self._clock() + max(0.0, lifetime - margin)
        self.generation += 1
        self.fetches += 1

    def _post_credentials(self, *, scope: str | None) -> requests.Response:
        """The token URL's answer to the client credentials, sent as Basic auth and, when the
        provider refuses those, as form fields (some providers read only one of the two)."""
        form = {"grant_type": "client_credentials"}
        if scope:
            form["scope"] = scope
        basic = base64.b64encode(
            f"{quote(self._client_id, safe='')}:{quote(self._client_secret, safe='')}".encode()
        ).decode()
        try:
            return self._session.request(
                "POST",
                self._token_url,
                data=form,
                headers={"Authorization": f"Basic {basic}", "Accept": "application/json"},
                retry=True,  # a token request creates nothing; safe to repeat
            )
        except (UpstreamAuthFailed, OneRosterRejected) as exc:
            if oauth_error(exc)[0] == "invalid_scope":
                raise token_refused(exc) from None  # the credentials are not the problem
        try:
            return self._session.request(
                "POST",
                self._token_url,
                data={**form, "client_id": self._client_id, "client_secret": self._client_secret},
                headers={"Accept": "application/json"},
                retry=True,
            )
        except (UpstreamAuthFailed, OneRosterRejected) as exc:
            raise token_refused(exc) from None


def oauth_error(exc: UpstreamAuthFailed | OneRosterRejected) -> tuple[str, str]:
    """The RFC 6749 error code and description of a refused token request (``("", "")`` when
    the body has none; a 401 without a body means ``invalid_client``)."""
    payload = getattr(exc, "payload", None)
    if isinstance(payload, dict) and isinstance(payload.get("error"), str):
        description = payload.get("error_description")
        return payload["error"], description[:200] if isinstance(description, str) else ""
    return ("invalid_client", "") if exc.status == 401 else ("", "")


def token_refused(exc: UpstreamAuthFailed | OneRosterRejected) -> TokenRefused:
    code, description = oauth_error(exc)
    if code == "invalid_scope":
        message = "The SIS refused the OneRoster scopes at the token URL, even when none was asked"
    else:
        message = "The SIS refused the OneRoster client id and secret at the token URL"
    if code:
        message += f" ({code}{': ' + description if description else ''})"
    return TokenRefused(message, status=exc.status, url=exc.url, oauth_error=code)


class OAuth1Signer(requests.auth.AuthBase):
    """Two-legged OAuth 1.0a, HMAC-SHA256, in the Authorization header (RFC 5849).

    Query parameters are part of the signature; JSON bodies are not (they are not
    form-encoded), which is what OneRoster 1.1 providers verify.
    """

    def __init__(self, *, client_id: str, client_secret: str) -> None:
        self._client = OAuth1Client(
            client_id,
            client_secret=client_secret,
            signature_method=SIGNATURE_HMAC_SHA256,
            signature_type=SIGNATURE_TYPE_AUTH_HEADER,
        )

    def __repr__(self) -> str:
        return "OAuth1Signer(HMAC-SHA256)"

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        _, headers, _ = self._client.sign(request.url, http_method=request.method)
        request.headers["Authorization"] = headers["Authorization"]
        return request
