"""Validation of the upstream addresses a person types in (intake form, admin, commands).

Messages are module constants so forms, commands and tests agree on the exact words. The
HTTP layer vets the addresses again on every new connection (``integration.http.pinning``);
this check gives a person an early, specific answer and keeps obviously internal addresses
out of the database.
"""

from __future__ import annotations

import enum
import functools
from urllib.parse import urlsplit
from zoneinfo import available_timezones

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from integration.http.errors import RestrictedAddress
from integration.http.netguard import HostNotFound, check_url_host

ONEROSTER_BASE_PATH = "/ims/oneroster/v1p1"

URL_INVALID = "Enter a full web address, starting with https://."
URL_HTTPS_REQUIRED = "Use an https:// address: credentials are never sent over plain http."
URL_HAS_CREDENTIALS = "Remove the user name or password from the address."
BASE_URL_PATH = (
    "The OneRoster base URL must end with /ims/oneroster/v1p1: copy the OneRoster 1.1 Base URL "
    "from Campus exactly."
)
BASE_URL_QUERY = "The OneRoster base URL cannot have a query (?…) or fragment (#…) part."
TOKEN_URL_INVALID = (
    "The token URL must be a full web address, such as "  # noqa: S105
    "https://campus.example.org/campus/oauth2/token?appName=district."
)
CANVAS_URL_PATH = (
    "Enter the Canvas address without a path, such as https://district.instructure.com."
)
HOST_RESTRICTED = (
    "{host} resolves to a private, loopback or link-local address. Enter the address the "
    "system publishes on the internet."
)
HOST_UNKNOWN = (
    "{host} could not be found: check the spelling, and that the name is published in public DNS."
)
TIMEZONE_UNKNOWN = "Unknown time zone {value!r}: use an IANA name such as America/Chicago."


class UrlKind(enum.Enum):
    ONEROSTER_BASE = "oneroster_base"
    ONEROSTER_TOKEN = "oneroster_token"  # noqa: S105
    CANVAS_BASE = "canvas_base"


_url_syntax = URLValidator(schemes=["http", "https"])


def upstream_url_validate(url: str, *, kind: UrlKind) -> str:
    """Return the normalised address, or raise ``ValidationError`` with the specific message."""
    url = url.strip()
    invalid = TOKEN_URL_INVALID if kind is UrlKind.ONEROSTER_TOKEN else URL_INVALID
    try:
        _url_syntax(url)
    except ValidationError:
        raise ValidationError(invalid, code="invalid") from None
    parts = urlsplit(url)
    if parts.username or parts.password:
        raise ValidationError(URL_HAS_CREDENTIALS, code="credentials")
    if parts.scheme != "https" and not settings.ALLOW_HTTP_UPSTREAMS:
        raise ValidationError(URL_HTTPS_REQUIRED, code="https_required")
    if kind is UrlKind.ONEROSTER_BASE:
        if parts.query or parts.fragment:
            raise ValidationError(BASE_URL_QUERY, code="base_query")
        url = url.rstrip("/")
        if not parts.path.rstrip("/").endswith(ONEROSTER_BASE_PATH):
            raise ValidationError(BASE_URL_PATH, code="base_path")
    elif kind is UrlKind.CANVAS_BASE:
        if parts.path.strip("/") or parts.query or parts.fragment:
            raise ValidationError(CANVAS_URL_PATH, code="canvas_path")
        url = url.rstrip("/")
    if not settings.ALLOW_PRIVATE_UPSTREAMS:
        try:
            check_url_host(url)
        except RestrictedAddress:
            raise ValidationError(
                HOST_RESTRICTED.format(host=parts.hostname), code="restricted_address"
            ) from None
        except HostNotFound:
            raise ValidationError(
                HOST_UNKNOWN.format(host=parts.hostname), code="unknown_host"
            ) from None
    return url


def timezone_validate(value: str) -> str:
    if value not in _timezones():
        raise ValidationError(TIMEZONE_UNKNOWN.format(value=value), code="timezone")
    return value


@functools.cache
def _timezones() -> frozenset[str]:
    # available_timezones() scans the tz database on every call; it never changes at run time.
    return frozenset(available_timezones())
