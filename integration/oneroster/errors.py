"""OneRoster-specific errors, refining the shared ``integration.http`` taxonomy.

Callers catch the ``integration.http`` base classes (``UpstreamAuthFailed``,
``UpstreamServerError``...) or these refinements; there is no parallel hierarchy.
"""

from __future__ import annotations

from dataclasses import dataclass

from integration.http.errors import UpstreamAuthFailed, UpstreamMisconfigured, UpstreamServerError


@dataclass(frozen=True, slots=True)
class ImsxStatus:
    """The ``imsx_StatusInfo`` error payload of OneRoster 1.1, as far as the provider sent it."""

    code_major: str = ""
    severity: str = ""
    description: str = ""
    code_minor: tuple[str, ...] = ()

    @classmethod
    def from_payload(cls, payload: object) -> ImsxStatus | None:
        """Read an imsx payload (bare or wrapped in ``imsx_StatusInfo``); ``None`` if absent."""
        if isinstance(payload, dict) and isinstance(payload.get("imsx_StatusInfo"), dict):
            payload = payload["imsx_StatusInfo"]
        if isinstance(payload, list) and payload and isinstance(payload[0], dict):
            payload = payload[0]
        if not isinstance(payload, dict) or "imsx_codeMajor" not in payload:
            return None
        minors: list[str] = []
        code_minor = payload.get("imsx_CodeMinor")
        fields = code_minor.get("imsx_codeMinorField") if isinstance(code_minor, dict) else None
        if isinstance(fields, dict):
            fields = [fields]  # one field sent bare, as JSON converted from XML often is
        if isinstance(fields, list):
            minors = [
                str(f["imsx_codeMinorFieldValue"])
                for f in fields
                if isinstance(f, dict) and "imsx_codeMinorFieldValue" in f
            ]
        return cls(
            code_major=str(payload.get("imsx_codeMajor") or ""),
            severity=str(payload.get("imsx_severity") or ""),
            description=str(payload.get("imsx_description") or "")[:500],
            code_minor=tuple(minors),
        )


class OneRosterError(UpstreamServerError):
    """The provider answered with an error status; ``imsx`` holds its status payload if any.

    ``imsx_description`` is the provider's own wording (e.g. "Grading window is closed"),
    safe to show to a teacher or an admin: providers put no secrets there.
    """

    def __init__(self, message: str, *, imsx: ImsxStatus | None = None, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.imsx = imsx

    @property
    def imsx_code_major(self) -> str:
        return self.imsx.code_major if self.imsx else ""

    @property
    def imsx_severity(self) -> str:
        return self.imsx.severity if self.imsx else ""

    @property
    def imsx_description(self) -> str:
        return self.imsx.description if self.imsx else ""

    @property
    def imsx_code_minor(self) -> tuple[str, ...]:
        return self.imsx.code_minor if self.imsx else ()


class OneRosterRejected(OneRosterError):
    """A 4xx other than 401/403/404/429: the request itself is wrong (bad filter, invalid
    lineItem, closed grading window...). Never retried; for writes, a per-item error."""


class TokenRefused(UpstreamAuthFailed):
    """The token URL refused the client credentials (OAuth 2.0); ``oauth_error`` is the RFC 6749
    error code it gave (``invalid_client``, ``invalid_scope``...), ``""`` if none."""

    def __init__(self, message: str, *, oauth_error: str = "", **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.oauth_error = oauth_error


class VendorKeyRejected(UpstreamAuthFailed):
    """A gradebook call was refused (401) although a fresh token was used: the
    ``x-vendor-authorization`` key/secret is wrong, expired or not accepted."""


class VendorKeyMissing(VendorKeyRejected):
    """A gradebook call was refused and no vendor key is configured for this district."""


class OneRosterNotAnApi(UpstreamMisconfigured):
    """A success or redirect answer that is a web page, not OneRoster JSON: a sign-in page or
    a proxy's page answers at the configured base or token URL (a misconfigured proxy, or the
    URL of the SIS's web interface instead of its API). Never retried."""
