"""What a provisioning run's notification mail says about its new error conflicts (objects
held back until fixed in the SIS): ``RunKind.problems`` for the run core's mails."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Count
from django.urls import reverse

from provisioning.models import Conflict
from runs.registry import RunProblems
from runs.services.notifications import console_url

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from runs.models import SyncRun

#: Conflicts listed by id in a mail; the console page has the rest.
LISTED_CONFLICTS = 10


def run_new_error_conflicts(*, run: SyncRun) -> QuerySet[Conflict]:
    """Open error conflicts this run saw first: since it started, or since its approval
    (those seen before the approval were in the held mail already)."""
    since = run.decided_at or run.started_at or run.created_at
    return Conflict.objects.filter(
        district_id=run.district_id,
        last_run=run,
        severity=Conflict.Severity.ERROR,
        closed_at__isnull=True,
        first_seen__gte=since,
    ).order_by("kind", "object_type", "sourced_id")


def _conflicts_url(run: SyncRun) -> str:
    query = f"?district={run.district.slug}&severity=error&state=open"
    return console_url(reverse("console:conflicts") + query)


def run_conflict_problems(run: SyncRun) -> RunProblems | None:
    errors = run_new_error_conflicts(run=run)
    total = errors.count()
    if not total:
        return None
    labels = dict(Conflict.Kind.choices)
    by_kind = errors.order_by().values_list("kind").annotate(n=Count("id"))
    lines = [f"New error conflicts: {total} (each holds its object back until it is fixed)."]
    lines += [f"  {n} x {labels.get(kind, kind)}" for kind, n in sorted(by_kind)]
    lines.append("First ones:")
    lines += [
        f"  - {c.get_kind_display()}: {c.object_type} {c.sourced_id}".rstrip()
        for c in errors[:LISTED_CONFLICTS]
    ]
    lines += ["", f"All open errors: {_conflicts_url(run)}"]
    return RunProblems(
        total=total,
        headline=f"{total} new error conflict{'s' if total > 1 else ''}",
        lines=lines,
    )
