"""Grade passback as the run core sees it (registered in ``GradepassbackConfig.ready``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gradepassback.errors import PASSBACK_DISABLED
from gradepassback.services.runs import passback_run_create, passback_run_execute
from gradepassback.tasks import run_passback
from runs.models import SyncRun
from runs.registry import RunKind
from runs.services.launch import canvas_missing, oneroster_missing
from tenants.models import AuditEvent

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from runs.locks import RunLock
    from tenants.models import District


def _create(
    *,
    district: District,
    kind: str,
    trigger: str,
    actor: AbstractBaseUser | None = None,
    actor_label: str = "",
    course_sis_ids: list[str] | tuple[str, ...] = (),
    full: bool = False,
) -> SyncRun:
    return passback_run_create(
        district=district,
        trigger=trigger,
        actor=actor,
        actor_label=actor_label,
        course_sis_ids=course_sis_ids,
        full=full,
    )


def _enqueue(run: SyncRun) -> None:
    run_passback.delay_on_commit(run.pk)


def _execute(run: SyncRun, lock: RunLock, *, parallel: int = 1) -> Any:
    return passback_run_execute(run=run, parallel=parallel)


def _blockers(district: District, kind: str) -> list[str]:
    missing = []
    if not district.passback_enabled:
        missing.append(PASSBACK_DISABLED.format(district=district.slug).rstrip("."))
    return missing + oneroster_missing(district) + canvas_missing(district)


PASSBACK = RunKind(
    kinds=(SyncRun.Kind.PASSBACK,),
    create=_create,
    enqueue=_enqueue,
    execute=_execute,
    blockers=_blockers,
    titles={SyncRun.Kind.PASSBACK: "Grade passback"},
    requested_action=AuditEvent.Action.PASSBACK_REQUESTED,
    # Its courses wait in the queue between heartbeats: ``passback_runs_reap`` reaps them.
    own_reaper=True,
)
