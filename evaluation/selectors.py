"""Reads of evaluation reports for the console and the command."""

from __future__ import annotations

from typing import TYPE_CHECKING

from evaluation.models import EvaluationReport, EvaluationRow
from tenants.models import district_secret_paths

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from tenants.models import District


def evaluation_report_list(*, district: District | None = None) -> QuerySet[EvaluationReport]:
    reports = EvaluationReport.objects.select_related("district", "run").defer(
        *district_secret_paths("district")
    )
    if district is not None:
        reports = reports.filter(district=district)
    return reports.order_by("-created_at")


def evaluation_row_list(
    *,
    report: EvaluationReport,
    object_type: str = "",
    match: str = "",
    search: str = "",
) -> QuerySet[EvaluationRow]:
    """The report's rows, narrowed by type, class and a search over ids, logins, e-mails and
    names (OneRoster and Canvas side)."""
    from django.db.models import Q

    rows = EvaluationRow.objects.filter(report=report)
    if object_type:
        rows = rows.filter(object_type=object_type)
    if match:
        rows = rows.filter(match=match)
    if search:
        rows = rows.filter(
            Q(source_id__icontains=search)
            | Q(source_login__icontains=search)
            | Q(source_email__icontains=search)
            | Q(source_name__icontains=search)
            | Q(canvas_sis_id__icontains=search)
            | Q(canvas_login__icontains=search)
            | Q(canvas_email__icontains=search)
            | Q(canvas_name__icontains=search)
        )
    return rows.order_by("id")
