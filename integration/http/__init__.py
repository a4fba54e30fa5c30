"""The one HTTP layer every upstream client (OneRoster, Canvas) is built on."""

from integration.http.errors import (
    RestrictedAddress,
    UpstreamAuthFailed,
    UpstreamError,
    UpstreamMisconfigured,
    UpstreamNotFound,
    UpstreamPermissionDenied,
    UpstreamProtocolError,
    UpstreamRateLimited,
    UpstreamResponseTooLarge,
    UpstreamServerError,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from integration.http.session import RetryPolicy, UpstreamSession

__all__ = [
    "RestrictedAddress",
    "RetryPolicy",
    "UpstreamAuthFailed",
    "UpstreamError",
    "UpstreamMisconfigured",
    "UpstreamNotFound",
    "UpstreamPermissionDenied",
    "UpstreamProtocolError",
    "UpstreamRateLimited",
    "UpstreamResponseTooLarge",
    "UpstreamServerError",
    "UpstreamSession",
    "UpstreamTimeout",
    "UpstreamUnreachable",
]
