"""Creating and changing districts. Every change is audited in its own transaction.

Functions that hold secrets are ``sensitive_variables``: Django's error reports would
otherwise print their local variables, decrypted secrets included.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from tenants.models import SECRET_FIELDS, AuditEvent, District, PartnerCredential
from tenants.services.audit import SECRET_CHANGED, audit_changes, audit_record
from tenants.services.validation import UrlKind, timezone_validate, upstream_url_validate

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

#: IC issues OneRoster keys for one year by default (infinite-campus.md §2).
CREDENTIAL_LIFETIME = dt.timedelta(days=365)

#: Written by the system (connection check, sync bookkeeping), never by a person.
SYSTEM_FIELDS = frozenset(
    {
        "id",
        "created_at",
        "updated_at",
        "last_check_at",
        "last_check_ok",
        "last_check_steps",
        "passback_trigger_token_hash",
    }
)
#: The OneRoster connection a district hands over together with its secrets.
CONNECTION_FIELDS = (
    "oneroster_base_url",
    "oneroster_token_url",
    "oneroster_auth_method",
    "oneroster_client_id",
    "credentials_received_on",
    "credentials_expire_on",
)
URL_FIELDS = {
    "oneroster_base_url": UrlKind.ONEROSTER_BASE,
    "oneroster_token_url": UrlKind.ONEROSTER_TOKEN,
    "canvas_base_url": UrlKind.CANVAS_BASE,
}

#: Settings the beat schedules are built from (provisioning and gradepassback schedules).
SCHEDULE_FIELDS = frozenset(
    {
        "status",
        "name",
        "slug",
        "timezone",
        "delta_time",
        "full_sync_weekday",
        "passback_schedule",
        "passback_enabled",
    }
)

FIELD_UNKNOWN = "{field} is not a district setting."
FIELD_SECRET = "{field} is a secret: change it with district_credentials_set."  # noqa: S105
FIELD_READ_ONLY = "{field} cannot be changed."


def _all_fields() -> frozenset[str]:
    return frozenset(f.name for f in District._meta.concrete_fields)


def district_option_fields() -> tuple[str, ...]:
    """Non-secret fields a person may change after creation, in model order."""
    return tuple(
        f.name
        for f in District._meta.concrete_fields
        if f.name not in SYSTEM_FIELDS and f.name not in SECRET_FIELDS and f.name != "slug"
    )


def mask_secret(value: str | None) -> str:
    """What a page may show of a secret: ``"••••1234"``, or less when the secret is short."""
    if not value:
        return ""
    if len(value) < 12:
        # The last 4 of a short secret would give away too much of it.
        return "••••"
    return "••••" + value[-4:]


def _clean_values(values: dict[str, Any]) -> dict[str, Any]:
    cleaned = dict(values)
    errors: dict[str, list[str]] = {}
    for name, kind in URL_FIELDS.items():
        if cleaned.get(name):
            try:
                cleaned[name] = upstream_url_validate(cleaned[name], kind=kind)
            except ValidationError as exc:
                errors[name] = exc.messages
    if cleaned.get("timezone"):
        try:
            timezone_validate(cleaned["timezone"])
        except ValidationError as exc:
            errors["timezone"] = exc.messages
    for name in SECRET_FIELDS:
        # Blank means "no secret": store NULL, never an encrypted empty string.
        if name in cleaned and not cleaned[name]:
            cleaned[name] = None
    if errors:
        raise ValidationError(errors)
    return cleaned


def _refuse_fields(names: set[str], *, allowed: set[str] | frozenset[str]) -> None:
    errors: dict[str, str] = {}
    for name in sorted(names - allowed):
        if name not in _all_fields():
            errors[name] = FIELD_UNKNOWN.format(field=name)
        elif name in SECRET_FIELDS:
            errors[name] = FIELD_SECRET.format(field=name)
        else:
            errors[name] = FIELD_READ_ONLY.format(field=name)
    if errors:
        raise ValidationError(errors)


def _credential_dates_default(district: District, values: dict[str, Any]) -> None:
    """A new client secret starts a new key year unless the dates were given explicitly."""
    if not values.get("oneroster_client_secret"):
        return
    if "credentials_received_on" not in values:
        district.credentials_received_on = timezone.localdate()
    if "credentials_expire_on" not in values:
        district.credentials_expire_on = district.credentials_received_on + CREDENTIAL_LIFETIME


def _schedules_sync(district: District) -> None:
    """Keep the district's beat schedules in step with its settings, in the same transaction."""
    from gradepassback.services.schedules import passback_schedule_sync
    from provisioning.services.schedules import district_schedule_sync

    district_schedule_sync(district)
    passback_schedule_sync(district=district)


@sensitive_variables()
def district_create(*, actor: AbstractBaseUser | None, actor_label: str, **fields: Any) -> District:
    """Create a district (secrets may be included), its beat schedules (disabled until the
    district is active) and one ``district.created`` audit row."""
    _refuse_fields(set(fields), allowed=_all_fields() - SYSTEM_FIELDS)
    values = _clean_values(fields)
    with transaction.atomic():
        district = District(**values)
        _credential_dates_default(district, values)
        district.full_clean(exclude=SYSTEM_FIELDS)
        district.save()
        _schedules_sync(district)
        recorded = {name: getattr(district, name) for name in values}
        for name in ("credentials_received_on", "credentials_expire_on"):
            if getattr(district, name) is not None:
                recorded[name] = getattr(district, name)
        audit_record(
            actor=actor,
            actor_label=actor_label,
            action=AuditEvent.Action.DISTRICT_CREATED,
            district=district,
            target=district.slug,
            changes=audit_changes({}, recorded),
        )
    return district


def district_update(
    *, district: District, actor: AbstractBaseUser | None, actor_label: str, changes: dict
) -> District:
    """Change non-secret settings; one ``district.settings_changed`` row when anything changed.

    Returns the saved district. Values equal to the current ones are no change: no save and
    no audit row. A change to the status or the schedule settings updates the district's
    beat schedules in the same transaction.
    """
    _refuse_fields(set(changes), allowed=set(district_option_fields()))
    values = _clean_values(changes)
    with transaction.atomic():
        locked = District.objects.select_for_update().get(pk=district.pk)
        before = {name: getattr(locked, name) for name in values}
        for name, value in values.items():
            setattr(locked, name, value)
        locked.full_clean(exclude=SYSTEM_FIELDS)
        # full_clean converts ("22:30" → time), so compare what will be stored.
        diff = audit_changes(before, {name: getattr(locked, name) for name in values})
        if not diff:
            return locked
        locked.save(update_fields=[*diff, "updated_at"])
        if SCHEDULE_FIELDS & set(diff):
            _schedules_sync(locked)
        audit_record(
            actor=actor,
            actor_label=actor_label,
            action=AuditEvent.Action.SETTINGS_CHANGED,
            district=locked,
            target=locked.slug,
            changes=diff,
        )
    return locked


@sensitive_variables()
def credential_values_clean(values: dict[str, Any]) -> dict[str, Any]:
    """Validate connection fields and secrets as ``district_credentials_apply`` would."""
    _refuse_fields(set(values), allowed=set(SECRET_FIELDS) | set(CONNECTION_FIELDS))
    return _clean_values(values)


@sensitive_variables()
def district_credentials_apply(*, district: District, values: dict[str, Any]) -> dict[str, Any]:
    """Set connection fields and secrets on a row locked by the caller; return the audit diff.

    The building block of ``district_credentials_set`` and of the intake submission, which
    audit under their own action. Call it inside ``transaction.atomic()``.
    """
    _refuse_fields(set(values), allowed=set(SECRET_FIELDS) | set(CONNECTION_FIELDS))
    values = _clean_values(values)
    tracked = [*values, "credentials_received_on", "credentials_expire_on"]
    before = {name: getattr(district, name) for name in tracked}
    for name, value in values.items():
        setattr(district, name, value)
    if values.get("oneroster_client_secret") != before.get("oneroster_client_secret"):
        _credential_dates_default(district, values)
    district.full_clean(exclude=SYSTEM_FIELDS)
    diff = audit_changes(before, {name: getattr(district, name) for name in tracked})
    if diff:
        district.save(update_fields=[*diff, "updated_at"])
    return diff


@sensitive_variables()
def district_credentials_set(
    *, district: District, actor: AbstractBaseUser | None, actor_label: str, **secrets: Any
) -> District:
    """Replace secrets (and the OneRoster connection fields that go with them).

    Secrets are write-only: the audit row says ``"(changed)"`` for them, never a value. A new
    OneRoster client secret restarts the credential year (received today, expires in 365
    days) unless the dates are given.
    """
    with transaction.atomic():
        locked = District.objects.select_for_update().get(pk=district.pk)
        diff = district_credentials_apply(district=locked, values=secrets)
        if diff:
            audit_record(
                actor=actor,
                actor_label=actor_label,
                action=AuditEvent.Action.CREDENTIALS_CHANGED,
                district=locked,
                target=locked.slug,
                changes=diff,
            )
    return locked


@sensitive_variables()
def partner_credentials_set(
    *,
    actor: AbstractBaseUser | None,
    actor_label: str,
    vendor_key: str | None,
    vendor_secret: str | None,
) -> PartnerCredential:
    """Replace the deployment-wide gradebook vendor key (one audit row, no district)."""
    with transaction.atomic():
        partner, _ = PartnerCredential.objects.select_for_update().get_or_create(
            pk=PartnerCredential.SINGLETON_ID
        )
        before = {"vendor_key": partner.vendor_key, "vendor_secret": partner.vendor_secret}
        after = {"vendor_key": vendor_key or None, "vendor_secret": vendor_secret or None}
        if before == after:
            return partner
        partner.vendor_key = after["vendor_key"]
        partner.vendor_secret = after["vendor_secret"]
        partner.save()
        audit_record(
            actor=actor,
            actor_label=actor_label,
            action=AuditEvent.Action.CREDENTIALS_CHANGED,
            target="gradebook partner key",
            changes={name: SECRET_CHANGED for name in before if before[name] != after[name]},
        )
    return partner
