"""E-mail to a district's notification recipients when a run needs a person.

Three events, all found at the moment a run's status changes (``SyncRun`` is saved with
``update_fields`` naming ``status`` by ``sync_run_transition``):

- a run *failed*;
- a run is *held* for approval (a guard tripped);
- a run opened *new error conflicts* (objects held back until fixed in the SIS), reported
  with the held or failed mail, or on its own when the run succeeded.

Mails go out after the transaction commits, so a rolled-back change never mails anyone,
and a mail server that is down never breaks a run: the failure is logged. They name the
district, say what happened and what to do, and link to the run's console page; they carry
ids, counts and messages written for people, never a secret or a record's data.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Count
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.urls import reverse

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from provisioning.models import Conflict
    from runs.models import SyncRun

logger = logging.getLogger(__name__)

SUBJECT_PREFIX = "[RosterBridge]"
#: Conflicts listed by id in a mail; the console page has the rest.
LISTED_CONFLICTS = 10
KIND_WORDS = {
    "delta": "Nightly sync",
    "full": "Full sync",
    "dry_run": "Dry run",
    "passback": "Grade passback",
    "evaluation": "Conversion evaluation",
}


@dataclass(frozen=True)
class RunNotification:
    subject: str
    body: str
    recipients: list[str]


def _run_url(run: SyncRun) -> str:
    path = reverse("console:run", kwargs={"run_id": run.pk})
    return settings.CONSOLE_BASE_URL.rstrip("/") + path


def _conflicts_url(run: SyncRun) -> str:
    path = reverse("console:conflicts")
    query = f"?district={run.district.slug}&severity=error&state=open"
    return settings.CONSOLE_BASE_URL.rstrip("/") + path + query


def run_new_error_conflicts(*, run: SyncRun) -> QuerySet[Conflict]:
    """Open error conflicts this run saw first: since it started, or since its approval
    (those seen before the approval were in the held mail already)."""
    from provisioning.models import Conflict

    since = run.decided_at or run.started_at or run.created_at
    return Conflict.objects.filter(
        district_id=run.district_id,
        last_run=run,
        severity=Conflict.Severity.ERROR,
        closed_at__isnull=True,
        first_seen__gte=since,
    ).order_by("kind", "object_type", "sourced_id")


def _conflict_lines(errors: QuerySet[Conflict], total: int) -> list[str]:
    from provisioning.models import Conflict

    labels = dict(Conflict.Kind.choices)
    by_kind = errors.order_by().values_list("kind").annotate(n=Count("id"))
    lines = [f"New error conflicts: {total} (each holds its object back until it is fixed)."]
    lines += [f"  {n} x {labels.get(kind, kind)}" for kind, n in sorted(by_kind)]
    lines.append("First ones:")
    lines += [
        f"  - {c.get_kind_display()}: {c.object_type} {c.sourced_id}".rstrip()
        for c in errors[:LISTED_CONFLICTS]
    ]
    return lines


def run_notification_compose(*, run: SyncRun) -> RunNotification | None:
    """The mail a run's current status calls for, or ``None`` when nobody needs to act."""
    from runs.models import SyncRun

    district = run.district
    recipients = district.notification_recipients
    if not recipients:
        return None
    kind = KIND_WORDS.get(run.kind, run.kind)
    errors = run_new_error_conflicts(run=run)
    total = errors.count()
    if run.status == SyncRun.Status.FAILED:
        headline = f"{kind} #{run.pk} failed"
        lines = [
            f"{kind} #{run.pk} of {district.name} failed. Nothing was changed in Canvas by it;",
            "the next run sends what is still pending.",
            "",
            f"Reason: {run.error or 'not recorded'}",
        ]
    elif run.status == SyncRun.Status.HELD:
        headline = f"{kind} #{run.pk} is held for approval"
        lines = [
            f"{kind} #{run.pk} of {district.name} was held before sending anything to Canvas:",
            "",
            run.held_reason or "A safety guard tripped.",
            "",
            "Nothing is sent until someone approves or discards the run on its page.",
        ]
    elif total:
        headline = f"{kind} #{run.pk} found {total} new error conflict{'s' if total > 1 else ''}"
        lines = [f"{kind} #{run.pk} of {district.name} finished, but held some objects back."]
    else:
        return None
    if total:
        lines += [
            "",
            *_conflict_lines(errors, total),
            "",
            f"All open errors: {_conflicts_url(run)}",
        ]
    lines += [
        "",
        f"Run page: {_run_url(run)}",
        "",
        f"— RosterBridge, for {district.name} ({district.slug}). You get this because your",
        "address is in the district's notification recipients.",
    ]
    return RunNotification(
        subject=f"{SUBJECT_PREFIX} {district.name}: {headline}",
        body="\n".join(lines) + "\n",
        recipients=recipients,
    )


def run_notification_send(*, run_id: int) -> bool:
    """Compose and send the mail for a run's current status; ``True`` if one went out."""
    from runs.models import SyncRun

    run = SyncRun.objects.select_related("district").filter(pk=run_id).first()
    if run is None:
        return False
    notification = run_notification_compose(run=run)
    if notification is None:
        return False
    try:
        send_mail(
            notification.subject,
            notification.body,
            settings.DEFAULT_FROM_EMAIL,
            notification.recipients,
        )
    except (smtplib.SMTPException, OSError):
        # A mail server that is down must not break the run; operators see it in the log.
        logger.exception("notification for run %s could not be sent", run_id)
        return False
    logger.info(
        "notification for run %s sent to %d recipient(s)", run_id, len(notification.recipients)
    )
    return True


@receiver(post_save, sender="runs.SyncRun", dispatch_uid="tenants.run_notifications")
def run_status_saved(
    sender: Any, instance: SyncRun, created: bool, update_fields: Any = None, **kwargs: Any
) -> None:
    """On a status change to failed, held or succeeded, send its mail after commit."""
    from runs.models import SyncRun

    if created or update_fields is None or "status" not in update_fields:
        return
    if instance.status not in (
        SyncRun.Status.FAILED,
        SyncRun.Status.HELD,
        SyncRun.Status.SUCCEEDED,
    ):
        return
    run_id = instance.pk
    transaction.on_commit(lambda: run_notification_send(run_id=run_id))
