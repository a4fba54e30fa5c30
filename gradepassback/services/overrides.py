"""The per-district category override table: a person's choice, so every change is audited."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction

from gradepassback.models import CategoryOverride
from tenants.models import AuditEvent
from tenants.services.audit import actor_label_for, audit_record

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

FIELDS = ("assignment_group_name", "category_sourced_id", "category_title")


def category_override_save(
    *, override: CategoryOverride, actor: AbstractBaseUser | None, actor_label: str = ""
) -> CategoryOverride:
    """Create or change an override (validated), with an audit row in the same transaction."""
    before = {}
    if override.pk is not None:
        before = dict(CategoryOverride.objects.filter(pk=override.pk).values(*FIELDS).first() or {})
    override.assignment_group_name = " ".join(override.assignment_group_name.split())
    override.full_clean()
    with transaction.atomic():
        override.save()
        after = {name: getattr(override, name) for name in FIELDS}
        audit_record(
            actor=actor,
            actor_label=actor_label or actor_label_for(actor),
            action=AuditEvent.Action.SETTINGS_CHANGED,
            district=override.district,
            target=f"passback category override “{override.assignment_group_name}”",
            changes={k: [before.get(k), v] for k, v in after.items() if before.get(k) != v},
        )
    return override


def category_override_delete(
    *, override: CategoryOverride, actor: AbstractBaseUser | None, actor_label: str = ""
) -> None:
    with transaction.atomic():
        audit_record(
            actor=actor,
            actor_label=actor_label or actor_label_for(actor),
            action=AuditEvent.Action.SETTINGS_CHANGED,
            district=override.district,
            target=f"passback category override “{override.assignment_group_name}”",
            changes={k: [getattr(override, k), None] for k in FIELDS},
        )
        override.delete()
