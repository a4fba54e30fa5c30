"""Reviewed credential changes for districts already in use.

An intake link that leaks within its seven days must not let a stranger re-point a live
district's OneRoster connection (grades would then flow to their host). So once a district's
credentials are live, an intake submission is *staged*: the connection check runs against
the staged credentials, and staff approve them (audited) before they replace the live ones.
The district keeps using its old credentials until then. A district still onboarding takes
intake submissions directly, as before.
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from tenants.models import SECRET_FIELDS, AuditEvent, District, IntakeLink, StagedCredentials
from tenants.services.audit import audit_changes, audit_record
from tenants.services.connection_check import CheckReport, oneroster_check
from tenants.services.districts import credential_values_clean, district_credentials_apply
from tenants.tasks import district_check as district_check_task

if TYPE_CHECKING:
    from collections.abc import Callable

    from django.contrib.auth.models import AbstractBaseUser

#: Runs a person asked for; any of them means the district's credentials have been used.
_RUN_REQUESTS = (AuditEvent.Action.SYNC_REQUESTED, AuditEvent.Action.PASSBACK_REQUESTED)
#: The fields a staged change carries (the intake form's fields).
STAGED_FIELDS = (
    "oneroster_base_url",
    "oneroster_token_url",
    "oneroster_client_id",
    "oneroster_client_secret",
    "oneroster_vendor_key",
    "oneroster_vendor_secret",
)

STAGED_NOT_PENDING = "This credential change is already {status}: nothing to decide."
STAGED_CHECK_REQUIRED = (
    "The connection check has not passed against these credentials: run it again and approve "
    "only once it passes."
)


class StagedCredentialsError(Exception):
    """A staged change cannot be decided as asked; the message says why."""


def district_credentials_live(district: District) -> bool:
    """Whether the district's credentials are in use: it is (or was) active, or has run.

    Active and paused districts have had scheduled runs; an onboarding district counts once a
    person started a provisioning or passback run for it (each start is audited).
    """
    if district.status != District.Status.ONBOARDING:
        return True
    return AuditEvent.objects.filter(district=district, action__in=_RUN_REQUESTS).exists()


@sensitive_variables()
def staged_credentials_create(
    *, district: District, link: IntakeLink, values: dict[str, Any]
) -> tuple[StagedCredentials, dict[str, Any]]:
    """Stage an intake submission for a district locked by the caller (inside its atomic block).

    A pending change staged earlier is superseded (and its secrets cleared). Returns the new
    row and the audit diff against the live credentials, secrets as ``"(changed)"``.
    """
    cleaned = credential_values_clean(values)
    now = timezone.now()
    superseded = list(
        StagedCredentials.objects.select_for_update()
        .filter(district=district, status=StagedCredentials.Status.PENDING)
        .values_list("pk", flat=True)
    )
    StagedCredentials.objects.filter(pk__in=superseded).update(
        status=StagedCredentials.Status.SUPERSEDED,
        decided_at=now,
        decided_label="a newer intake submission",
        **{name: None for name in SECRET_FIELDS if name in STAGED_FIELDS},
    )
    staged = StagedCredentials.objects.create(
        district=district,
        intake_link=link,
        **{name: cleaned.get(name) or _blank(name) for name in STAGED_FIELDS},
    )
    diff = audit_changes(
        {name: getattr(district, name) for name in STAGED_FIELDS},
        {name: getattr(staged, name) for name in STAGED_FIELDS},
    )
    if superseded:
        diff["superseded"] = superseded
    return staged, diff


def _blank(name: str) -> str | None:
    return None if name in SECRET_FIELDS else ""


def _candidate(staged: StagedCredentials) -> District:
    """The district as it would be with the staged credentials. Never saved."""
    candidate = copy.copy(staged.district)
    for name in STAGED_FIELDS:
        setattr(candidate, name, getattr(staged, name))
    return candidate


def staged_credentials_check(
    *,
    staged: StagedCredentials,
    actor: AbstractBaseUser | None = None,
    actor_label: str = "system",
    sleep: Callable[[float], None] = time.sleep,
) -> CheckReport:
    """Run the OneRoster half of the connection check against the staged credentials.

    The result is stored on the staged row, not on the district: the live connection's own
    check result stays as it is. One ``credentials.staged_check`` audit row.
    """
    report = CheckReport(checked_at=timezone.now())
    report.steps.extend(oneroster_check(_candidate(staged), sleep=sleep))
    with transaction.atomic():
        locked = StagedCredentials.objects.select_for_update().get(pk=staged.pk)
        before = locked.check_ok
        locked.checked_at = report.checked_at
        locked.check_ok = report.ok
        locked.check_steps = [asdict(step) for step in report.steps]
        locked.save(update_fields=["checked_at", "check_ok", "check_steps"])
        failure = report.first_failure
        audit_record(
            actor=actor,
            actor_label=actor_label,
            action=AuditEvent.Action.STAGED_CHECK_RUN,
            district=locked.district,
            target=f"staged change {locked.pk}: "
            + (f"failed at {failure.name}" if failure else "all steps passed"),
            changes={"ok": [before, report.ok]},
        )
    staged.checked_at, staged.check_ok = locked.checked_at, locked.check_ok
    staged.check_steps = locked.check_steps
    return report


def _locked_pending(staged: StagedCredentials) -> StagedCredentials:
    locked = StagedCredentials.objects.select_for_update().get(pk=staged.pk)
    if locked.status != StagedCredentials.Status.PENDING:
        raise StagedCredentialsError(
            STAGED_NOT_PENDING.format(status=locked.get_status_display().lower())
        )
    return locked


def _decide(locked: StagedCredentials, *, status: str, actor, actor_label: str) -> None:
    locked.status = status
    locked.decided_at = timezone.now()
    locked.decided_by = actor if actor is not None and actor.is_authenticated else None
    locked.decided_label = actor_label
    for name in STAGED_FIELDS:
        if name in SECRET_FIELDS:
            setattr(locked, name, None)  # decided: the secrets live on the district or nowhere
    locked.save()


@sensitive_variables()
def staged_credentials_approve(
    *, staged: StagedCredentials, actor: AbstractBaseUser | None, actor_label: str
) -> District:
    """Make the staged credentials live; refuses unless the check passed against them.

    One ``credentials.approved`` audit row with the diff of the live connection. A normal
    connection check of the district is queued after commit.
    """
    with transaction.atomic():
        locked = _locked_pending(staged)
        if locked.check_ok is not True:
            raise StagedCredentialsError(STAGED_CHECK_REQUIRED)
        district = District.objects.select_for_update().get(pk=locked.district_id)
        values = {name: getattr(locked, name) for name in STAGED_FIELDS}
        diff = district_credentials_apply(district=district, values=values)
        _decide(
            locked, status=StagedCredentials.Status.APPROVED, actor=actor, actor_label=actor_label
        )
        audit_record(
            actor=actor,
            actor_label=actor_label,
            action=AuditEvent.Action.STAGED_APPROVED,
            district=district,
            target=f"staged change {locked.pk}",
            changes=diff,
        )
        district_id = district.pk
        transaction.on_commit(lambda: district_check_task.delay(district_id))
    staged.status = locked.status
    return district


def staged_credentials_reject(
    *, staged: StagedCredentials, actor: AbstractBaseUser | None, actor_label: str
) -> StagedCredentials:
    """Discard a staged change (its secrets are cleared); the live credentials stay."""
    with transaction.atomic():
        locked = _locked_pending(staged)
        _decide(
            locked, status=StagedCredentials.Status.REJECTED, actor=actor, actor_label=actor_label
        )
        audit_record(
            actor=actor,
            actor_label=actor_label,
            action=AuditEvent.Action.STAGED_REJECTED,
            district=locked.district,
            target=f"staged change {locked.pk}",
        )
    staged.status = locked.status
    return locked
