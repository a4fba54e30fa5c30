"""pylti1p3 wired to this project: registrations from the database, state and nonces in
the shared cache, no cookies, and stricter id_token checks than the library's defaults.

Why the overrides (each checked against pylti1p3 2.0.0's source):

- **No cookies.** Inside Canvas's iframe the browser may refuse third-party cookies, so
  the library's state cookie and session id never come back. ``NoCookies`` stores nothing
  in the browser; the OIDC login instead remembers the state server-side, bound to the
  nonce it sent (``pass_params_to_launch``), and the launch accepts only a state this tool
  issued, once, with the id_token carrying that state's nonce.
- **Single-use nonces.** The library only checks that a nonce was issued; we delete the
  state and the nonce when a launch uses them, so a replayed id_token is refused.
- **Audience, issuer, expiry.** The library decodes with ``verify_aud`` off; we decode with
  the registration's client_id as audience and issuer, require ``exp`` and ``iat``, and
  require ``azp`` to be our client_id when there are several audiences (or an ``azp``).
- **The platform's JWKS** is fetched through the project's HTTP layer (timeouts, address
  guard) and cached briefly; an unknown ``kid`` refetches once (platform key rotation).
"""

from __future__ import annotations

from typing import Any

import jwt
from django.core.cache import cache
from pylti1p3.contrib.django import DjangoMessageLaunch, DjangoOIDCLogin
from pylti1p3.contrib.django.launch_data_storage.cache import DjangoCacheDataStorage
from pylti1p3.cookie import CookieService
from pylti1p3.deployment import Deployment
from pylti1p3.exception import LtiException
from pylti1p3.registration import Registration
from pylti1p3.tool_config import ToolConfAbstract

from integration.http import UpstreamError
from integration.lti import platform_jwks_fetch
from lti.models import LtiPlatform
from lti.services.keys import lti_key_current

#: How long a login's state waits for its launch (the id_token form post follows at once).
STATE_SECONDS = 300
#: How long a platform's key set is trusted before it is fetched again.
JWKS_CACHE_SECONDS = 300
#: Clock skew allowed on exp / iat.
LEEWAY_SECONDS = 30
NONCE_PARAM = "nonce"


class NoCookies(CookieService):
    """Stores nothing in the browser (see the module docstring)."""

    def get_cookie(self, name: str) -> None:
        return None

    def set_cookie(self, name: str, value: Any, exp: int | None = 3600) -> None:
        return None

    def update_response(self, response: Any) -> None:
        return None


class CacheStorage(DjangoCacheDataStorage):
    """The library's Django cache storage without its session-id cookie."""

    def get_session_cookie_name(self) -> None:
        return None


class DistrictToolConf(ToolConfAbstract):
    """The one registration of a district (launch URLs are per district)."""

    def __init__(self, platform: LtiPlatform) -> None:
        super().__init__()
        self.platform = platform
        self.set_iss_has_many_clients(platform.issuer)

    def _registration(self, iss: str, client_id: str | None) -> Registration | None:
        p = self.platform
        if iss != p.issuer or (client_id is not None and client_id != p.client_id):
            return None
        key = lti_key_current(platform=p)
        return (
            Registration()
            .set_issuer(p.issuer)
            .set_client_id(p.client_id)
            .set_auth_login_url(p.auth_login_url)
            .set_auth_token_url(p.auth_token_url)
            .set_key_set_url(p.key_set_url)
            .set_tool_private_key(key.private_key_pem)
            .set_tool_public_key(key.public_key_pem)
        )

    def find_registration_by_issuer(self, iss: str, *args: Any, **kwargs: Any):
        return self._registration(iss, None)

    def find_registration_by_params(self, iss: str, client_id: str, *args: Any, **kwargs: Any):
        return self._registration(iss, client_id)

    def find_deployment(self, iss: str, deployment_id: str) -> Deployment | None:
        return self.find_deployment_by_params(iss, deployment_id, self.platform.client_id)

    def find_deployment_by_params(
        self, iss: str, deployment_id: str, client_id: str, *args: Any, **kwargs: Any
    ) -> Deployment | None:
        p = self.platform
        if (iss, client_id, deployment_id) != (p.issuer, p.client_id, p.deployment_id):
            return None
        return Deployment().set_deployment_id(deployment_id)


class ToolOIDCLogin(DjangoOIDCLogin):
    """OIDC login initiation that keeps its state server-side, bound to its nonce."""

    def __init__(self, request: Any, platform: LtiPlatform) -> None:
        super().__init__(
            request,
            DistrictToolConf(platform),
            cookie_service=NoCookies(),
            launch_data_storage=CacheStorage(),
        )
        # The library attaches the storage only when it builds the redirect; the lifetime
        # needs it now.
        self.set_launch_data_storage(self._launch_data_storage)
        self.set_launch_data_lifetime(STATE_SECONDS)

    def _generate_nonce(self) -> str:
        nonce = super()._generate_nonce()
        # Saved with the state by the library right after this call.
        self.pass_params_to_launch({NONCE_PARAM: nonce})
        return nonce


class ToolMessageLaunch(DjangoMessageLaunch):
    """The id_token form post, validated as the module docstring says."""

    def __init__(self, request: Any, platform: LtiPlatform) -> None:
        super().__init__(
            request,
            DistrictToolConf(platform),
            cookie_service=NoCookies(),
            launch_data_storage=CacheStorage(),
        )
        self.set_launch_data_lifetime(STATE_SECONDS)
        self._login_params: dict[str, Any] | None = None
        self._refetch = False

    def validate(self) -> ToolMessageLaunch:
        """The library's checks, the nonce last: only a genuine id_token uses it up."""
        if self._restored:
            raise LtiException("Can't validate restored launch")
        self._validated = True
        try:
            return (
                self.validate_state()
                .validate_jwt_format()
                .validate_registration()
                .validate_jwt_signature()
                .validate_deployment()
                .validate_message()
                .validate_nonce()
                .save_launch_data()
            )
        except Exception:
            self._validated = False
            raise

    def validate_state(self) -> ToolMessageLaunch:
        state = self._get_request_param("state")
        if not state:
            raise LtiException("Missing state param")
        params = self._session_service.get_state_params(state)
        if not params or NONCE_PARAM not in params:
            raise LtiException("State not found")
        self._login_params = params
        return self

    def validate_nonce(self) -> ToolMessageLaunch:
        nonce = self._get_jwt_body().get("nonce")
        if not nonce:
            raise LtiException('"nonce" is empty')
        assert self._login_params is not None
        if nonce != self._login_params[NONCE_PARAM]:
            raise LtiException("Invalid Nonce")
        storage = self._session_service.data_storage
        # delete() answers whether the key was there: of two racing uses, one wins.
        nonce_key = storage._prepare_key(self._session_service._get_key("nonce", nonce))
        state_key = storage._prepare_key(
            self._session_service._get_key(self._get_request_param("state"))
        )
        if not cache.delete(nonce_key):
            raise LtiException("Invalid Nonce")
        cache.delete(state_key)
        return self

    def fetch_public_key(self, key_set_url: str) -> dict[str, Any]:
        cache_key = f"lti:jwks:{key_set_url}"
        cached = cache.get(cache_key)
        if cached is not None and not self._refetch:
            return cached
        try:
            keys = platform_jwks_fetch(key_set_url)
        except UpstreamError as exc:
            raise LtiException(f"Could not read the platform's keys: {exc}") from exc
        cache.set(cache_key, keys, JWKS_CACHE_SECONDS)
        return keys

    def get_public_key(self) -> tuple[str, str]:
        try:
            return super().get_public_key()
        except LtiException as exc:
            if "Unable to find public key" not in str(exc):
                raise
        # A kid we have not seen: the platform may have rotated its keys since we cached.
        self._refetch = True
        self._registration.set_key_set(None)
        return super().get_public_key()

    def validate_jwt_signature(self) -> ToolMessageLaunch:
        public_key, algorithm = self.get_public_key()
        try:
            jwt.decode(
                self._get_id_token(),
                public_key,
                algorithms=[algorithm],
                audience=self._registration.get_client_id(),
                issuer=self._registration.get_issuer(),
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "aud", "iss"]},
            )
        except jwt.InvalidTokenError as exc:
            raise LtiException(f"Can't decode id_token: {exc}") from exc
        # LTI 1.3 §5.1.3: with several audiences, the authorized party must be this tool.
        body = self._get_jwt_body()
        client_id = self._registration.get_client_id()
        audiences = body.get("aud")
        several = isinstance(audiences, list) and len(audiences) > 1
        if (several or "azp" in body) and body.get("azp") != client_id:
            raise LtiException("The id_token's authorized party (azp) is not this tool")
        return self
