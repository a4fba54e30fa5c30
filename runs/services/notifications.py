"""E-mail to a district's notification recipients when a run needs a person.

Three events, all found at the moment a run's status changes (``SyncRun`` is saved with
``update_fields`` naming ``status`` by ``sync_run_transition``):

- a run *failed*;
- a run is *held* for approval (a guard tripped);
- a run found *new problems* a person must fix (provisioning's new error conflicts: objects
  held back until fixed in the SIS), reported with the held or failed mail, or on its own
  when the run succeeded. The kind's ``RunKind.problems`` says what they are.

Mails go out after the transaction commits, so a rolled-back change never mails anyone,
and a mail server that is down never breaks a run: the failure is logged. They name the
district, say what happened and what to do, and link to the run's console page; they carry
ids, counts and messages written for people, never a secret or a record's data.
``RunsConfig.ready`` connects ``run_status_saved``.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse

from runs.models import SyncRun
from runs.registry import RunProblems, run_problems, run_title

logger = logging.getLogger(__name__)

SUBJECT_PREFIX = "[RosterBridge]"


@dataclass(frozen=True)
class RunNotification:
    subject: str
    body: str
    recipients: list[str]


def console_url(path: str) -> str:
    """An absolute link into the console (``CONSOLE_BASE_URL`` + ``path``)."""
    return settings.CONSOLE_BASE_URL.rstrip("/") + path


def _run_url(run: SyncRun) -> str:
    # The console's URL name, not an import: the console sits above the run core.
    return console_url(reverse("console:run", kwargs={"run_id": run.pk}))


def run_notification_compose(*, run: SyncRun) -> RunNotification | None:
    """The mail a run's current status calls for, or ``None`` when nobody needs to act."""
    district = run.district
    recipients = district.notification_recipients
    if not recipients:
        return None
    kind = run_title(run.kind)
    problems: RunProblems | None = run_problems(run)
    total = problems.total if problems else 0
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
        headline = f"{kind} #{run.pk} found {problems.headline}"
        lines = [f"{kind} #{run.pk} of {district.name} finished, but held some objects back."]
    else:
        return None
    if problems and total:
        lines += ["", *problems.lines]
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


def run_status_saved(
    sender: Any, instance: SyncRun, created: bool, update_fields: Any = None, **kwargs: Any
) -> None:
    """On a status change to failed, held or succeeded, send its mail after commit."""
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
