"""Start and run syncs in process, the way ``manage.py sync provision`` does."""

from __future__ import annotations

from provisioning.services.pipeline import sync_run_execute, sync_run_resume
from runs.models import SyncRun
from runs.services.lifecycle import sync_run_approve, sync_run_create
from tenants.models import District


def sync(district: District, kind: str = "delta", *, full_read: bool = False) -> SyncRun:
    run = sync_run_create(
        district=district,
        kind=kind,
        trigger=SyncRun.Trigger.CLI,
        actor_label="test",
        full_read=full_read,
    )
    sync_run_execute(run=run)
    run.refresh_from_db()
    return run


def approve(run: SyncRun) -> SyncRun:
    sync_run_approve(run=run, actor=None, actor_label="test")
    sync_run_resume(run=run)
    run.refresh_from_db()
    return run


def last_import(sandbox):
    """The newest SIS import record of the simulated Canvas."""
    return sandbox.canvas.runner.newest_first()[0]
