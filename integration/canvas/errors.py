"""Typed Canvas errors, refining the shared upstream taxonomy (``integration.http.errors``).

Canvas overloads its status codes: 401 *with* ``WWW-Authenticate`` means the token is bad,
401 *without* it means the token's user may not do this; 403 with "Rate Limit Exceeded" is
throttling, any other 403 is a permission problem. Messages name the host and path only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from integration.http.errors import (
    UpstreamAuthFailed,
    UpstreamError,
    UpstreamMisconfigured,
    UpstreamPermissionDenied,
    UpstreamRateLimited,
)

if TYPE_CHECKING:
    from integration.canvas.types import SisImport


class CanvasNotConfigured(ValueError):
    """The district has no Canvas URL or token yet; nothing was sent."""


class CanvasTokenInvalid(UpstreamAuthFailed):
    """401 with ``WWW-Authenticate``: the token is invalid, expired or revoked."""


class CanvasNoPermission(UpstreamPermissionDenied):
    """401 without ``WWW-Authenticate``, or a 403 that is not throttling."""


class CanvasNotAnApi(UpstreamMisconfigured):
    """A success or redirect answer that is a web page, not Canvas JSON: a sign-in page (SSO)
    or a proxy's page answers at the configured Canvas URL. Never retried."""


class CanvasRateLimited(UpstreamRateLimited):
    """403 "Rate Limit Exceeded" (or 429) kept coming after every retry."""


class ImportAlreadyRunning(UpstreamError):
    """Canvas runs one SIS import per account at a time and one is already queued or running."""

    def __init__(self, message: str, *, running: tuple[SisImport, ...], **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.running = running


class ImportTimedOut(UpstreamError):
    """The import did not reach a terminal state in time; it may still finish in Canvas."""

    def __init__(self, message: str, *, last: SisImport, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.last = last
