"""Reading an LTI platform's public key set (JWKS) through the project's HTTP layer."""

from __future__ import annotations

from typing import Any

from integration.http import UpstreamProtocolError, UpstreamSession
from integration.http.session import RetryPolicy

#: A launch waits on this read, so it is short and tried twice at most.
JWKS_TIMEOUT_SECONDS = 10.0


class PlatformKeysSession(UpstreamSession):
    role = "LTI platform"


def platform_jwks_fetch(url: str) -> dict[str, Any]:
    """The key set at ``url``: ``{"keys": [...]}``. Raises ``UpstreamError`` subclasses."""
    session = PlatformKeysSession(
        connect_timeout=JWKS_TIMEOUT_SECONDS,
        read_timeout=JWKS_TIMEOUT_SECONDS,
        retry=RetryPolicy(attempts=2, budget_seconds=JWKS_TIMEOUT_SECONDS * 2),
    )
    try:
        payload, _ = session.get_json(url)
    finally:
        session.close()
    if not isinstance(payload, dict) or not isinstance(payload.get("keys"), list):
        raise UpstreamProtocolError("The platform's JWKS has no key list", url=url)
    return payload
