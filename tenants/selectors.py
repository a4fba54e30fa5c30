"""Tenant-scoped reads other apps use instead of querying ``District`` directly."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet
from django.utils import timezone

from tenants.models import SECRET_FIELDS, AuditEvent, District

#: Warn this long before an IC key expires (reliability-security.md §16).
EXPIRY_WARNING_DAYS = 30
#: Without an expiry date, warn once a key is this old: IC keys last a year by default.
KEY_AGE_WARNING_DAYS = 335


#: The one wording of an unknown slug, in every command and page that takes one.
DISTRICT_UNKNOWN = "No district with slug {slug!r}."


class DistrictNotFound(District.DoesNotExist):
    """No district has the slug asked for; the message is ``DISTRICT_UNKNOWN``."""


def district_get(*, slug: str) -> District:
    """The district with this slug; ``DistrictNotFound`` (a ``District.DoesNotExist``) when
    there is none."""
    try:
        return District.objects.get(slug=slug)
    except District.DoesNotExist:
        raise DistrictNotFound(DISTRICT_UNKNOWN.format(slug=slug)) from None


def district_list(*, status: str | None = None) -> QuerySet[District]:
    districts = District.objects.all()
    if status is not None:
        districts = districts.filter(status=status)
    return districts.order_by("name")


def audit_event_list(*, district: District) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(district=district).select_related("actor")


def district_credential_warning(*, district: District, today: dt.date | None = None) -> str:
    """A short warning about the OneRoster key's age or expiry, or ``""`` when all is well."""
    today = today or timezone.localdate()
    expires = district.credentials_expire_on
    if expires is not None and expires < today:
        return f"OneRoster key expired on {expires:%Y-%m-%d}"
    if expires is not None and (expires - today).days <= EXPIRY_WARNING_DAYS:
        return f"OneRoster key expires in {(expires - today).days} days ({expires:%Y-%m-%d})"
    received = district.credentials_received_on
    if received is not None and (today - received).days >= KEY_AGE_WARNING_DAYS:
        return f"OneRoster key received {received:%Y-%m-%d}; IC keys usually expire after a year"
    return ""


def district_summary(*, district: District) -> dict:
    """A district as plain data for command output and JSON: no secret, only whether set."""
    return {
        "id": district.pk,
        "slug": district.slug,
        "name": district.name,
        "status": district.status,
        "oneroster_base_url": district.oneroster_base_url,
        "oneroster_token_url": district.oneroster_token_url,
        "canvas_base_url": district.canvas_base_url,
        "canvas_account_id": district.canvas_account_id,
        "term_mode": district.term_mode,
        "timezone": district.timezone,
        "secrets_set": {name: bool(getattr(district, name)) for name in SECRET_FIELDS},
        "credentials_expire_on": (
            district.credentials_expire_on.isoformat() if district.credentials_expire_on else None
        ),
        "credential_warning": district_credential_warning(district=district) or None,
        "last_check_at": district.last_check_at.isoformat() if district.last_check_at else None,
        "last_check_ok": district.last_check_ok,
    }
