"""The conversion evaluation as the run core sees it (registered in ``EvaluationConfig.ready``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from evaluation.services import evaluation_run_create, evaluation_run_execute
from evaluation.tasks import run_evaluation
from provisioning.services.workspace import Workspace
from runs.models import SyncRun
from runs.registry import RunKind
from runs.services.launch import canvas_missing, oneroster_missing
from runs.services.lifecycle import Heartbeat
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
) -> SyncRun:
    return evaluation_run_create(
        district=district, trigger=trigger, actor=actor, actor_label=actor_label
    )


def _enqueue(run: SyncRun) -> None:
    run_evaluation.delay_on_commit(run.pk)


def _execute(run: SyncRun, lock: RunLock) -> Any:
    return evaluation_run_execute(run=run, heartbeat=Heartbeat(run, extend=lock.extend))


def _blockers(district: District, kind: str) -> list[str]:
    """It reads both sides: the SIS and the district's Canvas."""
    return oneroster_missing(district) + canvas_missing(district)


def _cleanup(run: SyncRun) -> None:
    Workspace(run.pk).drop()


EVALUATION = RunKind(
    kinds=(SyncRun.Kind.EVALUATION,),
    create=_create,
    enqueue=_enqueue,
    execute=_execute,
    blockers=_blockers,
    cleanup=_cleanup,
    titles={SyncRun.Kind.EVALUATION: "Conversion evaluation"},
    requested_action=AuditEvent.Action.EVALUATION_REQUESTED,
)
