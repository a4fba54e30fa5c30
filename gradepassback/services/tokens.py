"""The per-district bearer token that lets a Canvas-side tool trigger a course passback.

Only its SHA-256 is stored (``District.passback_trigger_token_hash``); the token itself is
returned once, when it is issued. Issuing a new one revokes the old. Audited.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING

from django.db import transaction

from tenants.models import AuditEvent, District
from tenants.services.audit import SECRET_CHANGED, actor_label_for, audit_record

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

#: Prefix so a leaked token is recognisable (secret scanners, logs).
TOKEN_PREFIX = "rbpb_"  # noqa: S105 - a prefix, not a secret


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def passback_trigger_token_issue(
    *, district: District, actor: AbstractBaseUser | None, actor_label: str = ""
) -> str:
    """A new trigger token for ``district`` (shown once); the previous one stops working."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        District.objects.filter(pk=district.pk).update(passback_trigger_token_hash=_digest(token))
        district.passback_trigger_token_hash = _digest(token)
        audit_record(
            actor=actor,
            actor_label=actor_label or actor_label_for(actor),
            action=AuditEvent.Action.SETTINGS_CHANGED,
            district=district,
            target="passback trigger token",
            changes={"passback_trigger_token": SECRET_CHANGED},
        )
    return token


def passback_trigger_token_revoke(
    *, district: District, actor: AbstractBaseUser | None, actor_label: str = ""
) -> None:
    with transaction.atomic():
        District.objects.filter(pk=district.pk).update(passback_trigger_token_hash="")
        district.passback_trigger_token_hash = ""
        audit_record(
            actor=actor,
            actor_label=actor_label or actor_label_for(actor),
            action=AuditEvent.Action.SETTINGS_CHANGED,
            district=district,
            target="passback trigger token",
            changes={"passback_trigger_token": "(revoked)"},
        )


def passback_trigger_token_check(*, district: District, token: str) -> bool:
    """Whether ``token`` is the district's current trigger token (constant time)."""
    stored = district.passback_trigger_token_hash
    if not stored or not token:
        return False
    return hmac.compare_digest(stored, _digest(token))
