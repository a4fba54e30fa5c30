"""One-time intake links through which a district's IT contact enters OneRoster credentials.

The token is shown once, at creation, and only its SHA-256 is stored: a database reader
cannot reconstruct a working link. A link is single use, expires (7 days by default) and can
be revoked; every step is audited.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from tenants.models import AuditEvent, District, IntakeLink
from tenants.services.audit import audit_record
from tenants.services.districts import district_credentials_apply
from tenants.services.staging import district_credentials_live, staged_credentials_create
from tenants.tasks import district_check as district_check_task
from tenants.tasks import staged_credentials_check as staged_check_task

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

INTAKE_LINK_TTL = dt.timedelta(days=7)
#: Who an intake submission is attributed to: the link, not a staff account.
INTAKE_ACTOR_LABEL = "intake link"
#: The fields the intake form may set; anything else is staff business.
INTAKE_FIELDS = (
    "oneroster_base_url",
    "oneroster_token_url",
    "oneroster_client_id",
    "oneroster_client_secret",
    "oneroster_vendor_key",
    "oneroster_vendor_secret",
)

LINK_CLOSED_MESSAGES = {
    "unknown": "This link is not valid. Check that you copied all of it, or ask for a new one.",
    "expired": "This link has expired. Ask your contact for a new one.",
    "used": "This link has already been used: the credentials were received. "
    "If they need to change, ask your contact for a new link.",
    "revoked": "This link was withdrawn. Ask your contact for a new one.",
}


class IntakeLinkClosed(Exception):
    """The link cannot be used: ``state`` is unknown, expired, used or revoked."""

    def __init__(self, state: str) -> None:
        super().__init__(LINK_CLOSED_MESSAGES[state])
        self.state = state


def intake_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def intake_link_url(*, token: str) -> str:
    """The absolute address to send to the district (``CONSOLE_BASE_URL`` + path)."""
    path = reverse("tenants:intake", kwargs={"token": token})
    return settings.CONSOLE_BASE_URL.rstrip("/") + path


@sensitive_variables("token")
def intake_link_create(
    *,
    district: District,
    actor: AbstractBaseUser | None,
    actor_label: str,
    ttl: dt.timedelta = INTAKE_LINK_TTL,
) -> tuple[IntakeLink, str]:
    """Create a link; return it with its token, which exists nowhere else afterwards."""
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        link = IntakeLink.objects.create(
            district=district,
            token_hash=intake_token_hash(token),
            created_by=actor if actor is not None and actor.is_authenticated else None,
            expires_at=timezone.now() + ttl,
        )
        audit_record(
            actor=actor,
            actor_label=actor_label,
            action=AuditEvent.Action.INTAKE_CREATED,
            district=district,
            target=f"intake link {link.pk}",
            changes={"expires_at": [None, link.expires_at.isoformat()]},
        )
    return link, token


def intake_link_get_open(*, token_hash: str) -> IntakeLink:
    """The open link for a token's hash, or ``IntakeLinkClosed`` saying why it cannot be used."""
    link = IntakeLink.objects.select_related("district").filter(token_hash=token_hash).first()
    if link is None:
        raise IntakeLinkClosed("unknown")
    if link.state != "open":
        raise IntakeLinkClosed(link.state)
    return link


def intake_link_revoke(
    *, link: IntakeLink, actor: AbstractBaseUser | None, actor_label: str
) -> IntakeLink:
    """Withdraw an open link. A used, expired or revoked link raises ``IntakeLinkClosed``."""
    with transaction.atomic():
        locked = IntakeLink.objects.select_for_update().get(pk=link.pk)
        if locked.state != "open":
            raise IntakeLinkClosed(locked.state)
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at"])
        audit_record(
            actor=actor,
            actor_label=actor_label,
            action=AuditEvent.Action.INTAKE_REVOKED,
            district=locked.district,
            target=f"intake link {locked.pk}",
        )
    return locked


@sensitive_variables()
def intake_link_submit(*, token_hash: str, values: dict[str, Any]) -> District:
    """Store the submitted credentials, consume the link, audit, queue a connection check.

    For a district still onboarding the credentials go live at once (``intake.submitted``).
    For one whose credentials are live (``district_credentials_live``) they are staged for
    review instead (``intake.staged``, ``services.staging``) and checked as staged; the
    district keeps its old credentials until staff approve. The link row is locked first, so
    two simultaneous submissions cannot both use it. Checks are queued after commit with
    ids only: secrets never enter the broker.
    """
    unknown = set(values) - set(INTAKE_FIELDS)
    if unknown:
        raise ValueError(f"not intake fields: {sorted(unknown)}")
    with transaction.atomic():
        link = IntakeLink.objects.select_for_update().filter(token_hash=token_hash).first()
        if link is None:
            raise IntakeLinkClosed("unknown")
        if link.state != "open":
            raise IntakeLinkClosed(link.state)
        district = District.objects.select_for_update().get(pk=link.district_id)
        if district_credentials_live(district):
            staged, diff = staged_credentials_create(district=district, link=link, values=values)
            action = AuditEvent.Action.INTAKE_STAGED
            target = f"intake link {link.pk}, staged change {staged.pk}"
            staged_id = staged.pk
            transaction.on_commit(lambda: staged_check_task.delay(staged_id))
        else:
            diff = district_credentials_apply(district=district, values=values)
            action = AuditEvent.Action.INTAKE_SUBMITTED
            target = f"intake link {link.pk}"
            district_id = district.pk
            transaction.on_commit(lambda: district_check_task.delay(district_id))
        link.used_at = timezone.now()
        link.save(update_fields=["used_at"])
        audit_record(
            actor=None,
            actor_label=INTAKE_ACTOR_LABEL,
            action=action,
            district=district,
            target=target,
            changes=diff,
        )
    return district
