"""The one way a run starts: the console, the admin, the command line, the HTTP API and beat
all call ``start_run``.

``start_run`` refuses up front, with the reasons, when the district lacks what the run needs
(``start_blockers``), so a refused start never leaves a run behind. Otherwise it creates the
queued run (failing first any run of the district whose worker's lease ran out, see
``sync_run_create``) and either hands it to a worker after commit (``enqueue=True``) or does
it in this process under the district lock. In process, the lock is taken before the run's
row commits: when another worker still holds the district, the creation rolls back and
nothing is left behind.
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from django.db import transaction

from runs.locks import DistrictBusy, district_lock
from runs.models import SyncRun
from runs.registry import run_kind
from runs.services.keeper import LeaseKeeper
from runs.services.lifecycle import SyncRunError
from tenants.models import District

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)

START_REFUSED = "Cannot start a {kind} of {district}: {reasons}"
MISSING_ONEROSTER = "the OneRoster {what} {verb} missing (send the district an intake link)"
MISSING_CANVAS = "the Canvas {what} {verb} missing (set in the district's settings)"


def _words(items: list[str]) -> dict[str, str]:
    """``{"what": "A, B and C", "verb": "are"}`` for a message about ``items``."""
    what = items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
    return {"what": what, "verb": "is" if len(items) == 1 else "are"}


class StartRefused(SyncRunError):
    """The district lacks what this kind of run needs; ``reasons`` say what, in words."""

    def __init__(self, *, district: District, kind: str, reasons: list[str]) -> None:
        self.reasons = reasons
        super().__init__(
            START_REFUSED.format(
                kind=kind.replace("_", " "), district=district.slug, reasons="; ".join(reasons)
            )
            + "."
        )


def oneroster_missing(district: District) -> list[str]:
    """What the district's OneRoster connection lacks, in words (empty when complete)."""
    missing = []
    if not district.oneroster_base_url:
        missing.append("API URL")
    if district.oneroster_auth_method == district.AuthMethod.OAUTH2 and not (
        district.oneroster_token_url
    ):
        missing.append("token URL")
    if not district.oneroster_client_id:
        missing.append("client key")
    if not district.oneroster_client_secret:
        missing.append("client secret")
    if not missing:
        return []
    return [MISSING_ONEROSTER.format(**_words(missing))]


def canvas_missing(district: District) -> list[str]:
    """What the district's Canvas connection lacks, in words (empty when complete)."""
    missing = []
    if not district.canvas_base_url:
        missing.append("URL")
    if not district.canvas_token:
        missing.append("token")
    if not missing:
        return []
    return [MISSING_CANVAS.format(**_words(missing))]


def start_blockers(district: District, kind: str) -> list[str]:
    """Why a run of ``kind`` cannot start for ``district`` now, in words; empty when it can.

    The console disables its buttons with these reasons; ``start_run`` refuses with them.
    """
    return run_kind(kind).blockers(district, kind)


def start_run(
    *,
    district: District,
    kind: str,
    trigger: str,
    actor: AbstractBaseUser | None = None,
    actor_label: str = "",
    enqueue: bool = True,
    execute_options: dict[str, Any] | None = None,
    **options: Any,
) -> SyncRun:
    """Start a run of ``kind`` for ``district``: the queued run, handed to a worker after
    commit, or (``enqueue=False``) done in this process and returned when it rests.

    ``options`` go to the kind's ``create`` (``full_read``, ``course_sis_ids`` …) and
    ``execute_options`` to its in-process ``execute`` (``parallel``). Raises
    ``StartRefused`` (what is missing), ``SyncRunAlreadyActive`` (a live run holds the
    district), the kind's own refusals, or ``DistrictBusy`` in process; in every case no run
    is left behind.
    """
    handler = run_kind(kind)
    reasons = handler.blockers(district, kind)
    if reasons:
        raise StartRefused(district=district, kind=kind, reasons=reasons)
    create = {"district": district, "kind": kind, "trigger": trigger, "actor": actor}
    if enqueue:
        with transaction.atomic():
            run = handler.create(actor_label=actor_label, **create, **options)
            handler.enqueue(run)
        return run
    with ExitStack() as held:
        # DistrictBusy raised here rolls the new run back with the transaction.
        with transaction.atomic():
            run = handler.create(actor_label=actor_label, **create, **options)
            lock = held.enter_context(district_lock(district.pk, run_id=run.pk))
        with LeaseKeeper(run.pk, lock):
            handler.execute(run, lock, **(execute_options or {}))
    run.refresh_from_db()
    return run


def scheduled_start(*, district_id: int, kind: str) -> SyncRun | None:
    """Beat's start of a district's scheduled run: skipped, with the reason in the log, when
    the district is not active, lacks what the run needs or already has a live run."""
    district = District.objects.filter(pk=district_id, status=District.Status.ACTIVE).first()
    if district is None:
        logger.info("district %s is not active; scheduled %s skipped", district_id, kind)
        return None
    try:
        return start_run(district=district, kind=kind, trigger=SyncRun.Trigger.SCHEDULE)
    except (SyncRunError, DistrictBusy) as exc:
        logger.warning("scheduled %s of %s skipped: %s", kind, district.slug, exc)
        return None
