"""Who may do what: the one permission check the console and the admin share.

A capability names something a person does; each needs one Django permission (superusers
have them all). The staff roles are groups of these permissions, created by a migration
(``console/migrations``): **CSM** (districts, intake links, the connection check, credential
reviews, evaluations), **Operator** (runs, approvals, conflicts) and **Viewer** (read-only,
no student-level exports). Starting runs and approving held runs are separate permissions.

District scoping: a staff member assigned to some districts (``District.staff``) sees only
those, in the console and the admin; one assigned to none sees every district.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from tenants.models import District

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

CAPABILITIES = {
    "view_districts": "tenants.view_district",
    "add_district": "tenants.add_district",
    "change_district": "tenants.change_district",
    "check_district": "tenants.check_district",
    "create_intake_link": "tenants.add_intakelink",
    "review_credentials": "tenants.approve_stagedcredentials",
    "view_audit": "tenants.view_auditevent",
    # Student-level downloads: run zips, evaluation detail CSVs, the conflicts export.
    "export_student_data": "tenants.export_student_data",
    "view_runs": "runs.view_syncrun",
    "start_sync": "runs.start_syncrun",
    "decide_sync": "runs.approve_syncrun",
    "start_passback": "gradepassback.start_passback",
    "start_evaluation": "evaluation.start_evaluation",
    "view_evaluations": "evaluation.view_evaluationreport",
    "view_conflicts": "provisioning.view_conflict",
    "resolve_conflict": "provisioning.change_conflict",
}


def can(user: AbstractBaseUser, capability: str) -> bool:
    return user.has_perm(CAPABILITIES[capability])


def require(user: AbstractBaseUser, capability: str) -> None:
    if not can(user, capability):
        raise PermissionDenied


def assigned_district_ids(user: AbstractBaseUser) -> list[int] | None:
    """The districts ``user`` is limited to, or ``None`` when they see every district."""
    if user.is_superuser:
        return None
    ids = list(
        District.staff.through.objects.filter(user_id=user.pk).values_list("district_id", flat=True)
    )
    return ids or None


def scoped(user: AbstractBaseUser, queryset: QuerySet, *, via: str = "") -> QuerySet:
    """``queryset`` limited to the districts ``user`` may see; ``via`` is the path to the
    district ("district", "run__district"), empty when the queryset is of districts."""
    ids = assigned_district_ids(user)
    if ids is None:
        return queryset
    return queryset.filter(**{f"{via}__pk__in" if via else "pk__in": ids})


def district_visible(user: AbstractBaseUser, district: District) -> bool:
    ids = assigned_district_ids(user)
    return ids is None or district.pk in ids
