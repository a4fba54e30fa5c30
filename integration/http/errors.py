"""Typed upstream errors. Services and retry policies see these, never ``requests`` errors.

Messages name the host and path only: query strings, headers and bodies can carry secrets
and student data, so they never go into an exception message.
"""

from __future__ import annotations


class UpstreamError(Exception):
    """Base class: something went wrong talking to an upstream system."""

    def __init__(self, message: str, *, status: int | None = None, url: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.url = url


class RestrictedAddress(UpstreamError):
    """The host resolves to a private, loopback or link-local address and that is not allowed."""


class UpstreamMisconfigured(UpstreamError):
    """The configured URL cannot be requested at all (no scheme, no host). Never retried."""


class UpstreamUnreachable(UpstreamError):
    """DNS failure, refused connection, reset: nothing usable came back."""


class UpstreamTimeout(UpstreamError):
    """The connect or read timeout ran out."""


class UpstreamRateLimited(UpstreamError):
    """The upstream throttled us and the retry budget is spent."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class UpstreamAuthFailed(UpstreamError):
    """The credentials were refused (bad token, bad client secret). Never retried."""


class UpstreamPermissionDenied(UpstreamError):
    """Authenticated, but not allowed to do this. Never retried."""


class UpstreamNotFound(UpstreamError):
    """404: the object does not exist upstream."""


class UpstreamProtocolError(UpstreamError):
    """The answer is not what the protocol promises: bad JSON, wrong envelope, cut-off body."""


class UpstreamResponseTooLarge(UpstreamError):
    """The answer is larger than ``HTTP_MAX_RESPONSE_BYTES``; it was not read. Never retried."""

    def __init__(self, message: str, *, limit: int, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.limit = limit


class UpstreamServerError(UpstreamError):
    """Any other non-success status; ``payload`` holds the parsed error body when there is one."""

    def __init__(self, message: str, *, payload: object = None, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.payload = payload


def is_transient(error: BaseException) -> bool:
    """Timeouts, unreachable hosts, throttling and 5xx are worth another try; the rest is not."""
    if isinstance(error, UpstreamTimeout | UpstreamUnreachable | UpstreamRateLimited):
        return True
    return isinstance(error, UpstreamServerError) and (error.status or 0) >= 500


#: What a person does about an error retrying cannot fix; the run fails at once with it.
_ACTIONS: tuple[tuple[type[UpstreamError], str], ...] = (
    (UpstreamMisconfigured, "Correct the URL in the district's connection settings."),
    (
        RestrictedAddress,
        "Enter the address the system publishes on the internet in the district's connection "
        "settings.",
    ),
    (
        UpstreamResponseTooLarge,
        "If the system's answers are legitimately this large, lower ONEROSTER_PAGE_SIZE "
        "(records per page) or raise HTTP_MAX_RESPONSE_BYTES.",
    ),
    (
        UpstreamAuthFailed,
        "The credentials were refused even with a fresh token: check the client key and "
        "secret (or the Canvas token) in the district's connection settings.",
    ),
    (
        UpstreamPermissionDenied,
        "The credentials are valid but lack a permission: ask the system's administrator to "
        "grant it.",
    ),
    (
        UpstreamNotFound,
        "Check the base URL in the district's connection settings (a OneRoster API URL ends "
        "in /ims/oneroster/v1p1).",
    ),
)


def upstream_error_reason(error: UpstreamError) -> str:
    """The error as a run's reason: what happened and, when a person must act, what to do."""
    for kind, action in _ACTIONS:
        if isinstance(error, kind):
            return f"{error} (not retried). {action}"
    return f"{type(error).__name__}: {error}"
