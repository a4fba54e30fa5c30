"""The connection check against a staged credential change (``tenants.services.staging``).

On its own so the task that runs it (``tenants.tasks.staged_credentials_check``) can import
it at the top: this module queues no task, while the staging services queue the live check.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from tenants.models import AuditEvent, District, StagedCredentials
from tenants.services.audit import audit_record
from tenants.services.connection_check import CheckReport, oneroster_check

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

#: The fields a staged change carries (the intake form's fields).
STAGED_FIELDS = (
    "oneroster_base_url",
    "oneroster_token_url",
    "oneroster_client_id",
    "oneroster_client_secret",
    "oneroster_vendor_key",
    "oneroster_vendor_secret",
)


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
