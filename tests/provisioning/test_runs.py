"""The run state machine, the one-active-run rule, the lock, the reaper, worker loss."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from integration.redis_names import redis_client
from provisioning.services.workspace import Workspace
from provisioning.tasks import run_sync
from runs.locks import DistrictBusy, district_lock, lock_name
from runs.models import SyncRun
from runs.services.lifecycle import (
    RUN_WORKER_LOST,
    SyncRunAlreadyActive,
    SyncRunLost,
    SyncRunTransitionError,
    sync_run_create,
    sync_run_heartbeat,
    sync_run_transition,
)
from runs.services.reaper import runs_reap
from tenants.models import AuditEvent
from tests.provisioning.factories import district_make

S = SyncRun.Status


@pytest.mark.django_db
def test_transitions_follow_the_map_and_name_both_states():
    run = sync_run_create(district=district_make(), kind="delta", trigger="cli", actor_label="t")
    sync_run_transition(run=run, to=S.RUNNING)
    assert run.attempts == 1
    assert run.started_at is not None
    assert run.heartbeat_at is not None
    with pytest.raises(SyncRunTransitionError, match="cannot go from running to discarded"):
        sync_run_transition(run=run, to=S.DISCARDED)
    sync_run_transition(run=run, to=S.APPLYING)
    sync_run_transition(run=run, to=S.SUCCEEDED)
    assert run.finished_at is not None
    with pytest.raises(SyncRunTransitionError, match="from succeeded to running"):
        sync_run_transition(run=run, to=S.RUNNING)


@pytest.mark.django_db
def test_a_second_active_run_is_refused_and_people_are_audited():
    district = district_make()
    first = sync_run_create(district=district, kind="delta", trigger="manual", actor_label="ann")
    with pytest.raises(SyncRunAlreadyActive, match=f"#{first.pk}, queued"):
        sync_run_create(district=district, kind="full", trigger="cli", actor_label="bob")
    assert AuditEvent.objects.filter(action=AuditEvent.Action.SYNC_REQUESTED).count() == 1
    scheduled_elsewhere = sync_run_create(
        district=district_make(), kind="delta", trigger="schedule"
    )
    assert scheduled_elsewhere.status == S.QUEUED
    assert AuditEvent.objects.filter(action=AuditEvent.Action.SYNC_REQUESTED).count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_starts_for_one_district_leave_exactly_one_active_run():
    """Eight threads, each on its own connection, start a run for the same district at the
    same moment: the partial unique constraint lets exactly one through. Only a real
    PostgreSQL with real concurrent transactions can show this."""
    district = district_make()
    other = district_make()
    barrier = threading.Barrier(9)
    results: list[object] = []

    def start(target) -> None:
        try:
            barrier.wait()
            results.append(sync_run_create(district=target, kind="delta", trigger="cli"))
        except SyncRunAlreadyActive as exc:
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=start, args=(district,)) for _ in range(8)]
    threads.append(threading.Thread(target=start, args=(other,)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    runs = [r for r in results if isinstance(r, SyncRun)]
    refused = [r for r in results if isinstance(r, SyncRunAlreadyActive)]
    assert len(results) == 9
    assert sorted(r.district_id for r in runs) == sorted([district.pk, other.pk])
    assert len(refused) == 7
    assert (
        SyncRun.objects.filter(district=district, status__in=SyncRun.ACTIVE_STATUSES).count() == 1
    )


def test_the_district_lock_is_exclusive_and_never_releases_someone_elses():
    district_id = 987654
    redis_client().delete(lock_name(district_id))
    with district_lock(district_id, run_id=1):
        with pytest.raises(DistrictBusy), district_lock(district_id, run_id=2):
            pass
        # Our lease ran out and another worker took the lock: leaving must not free theirs.
        redis_client().set(lock_name(district_id), "another-workers-token")
    assert redis_client().get(lock_name(district_id)) == b"another-workers-token"
    redis_client().delete(lock_name(district_id))
    with district_lock(district_id, run_id=3):
        pass
    assert not redis_client().exists(lock_name(district_id))


@pytest.mark.django_db
def test_a_redelivered_task_fails_a_run_whose_worker_died():
    district = district_make()
    run = sync_run_create(district=district, kind="delta", trigger="cli")
    sync_run_transition(run=run, to=S.RUNNING)  # the worker that did this was killed
    Workspace(run.pk).create()
    redis_client().delete(lock_name(district.pk))
    run_sync(run.pk)  # Celery redelivers the late-acked message
    run.refresh_from_db()
    assert run.status == S.FAILED
    assert run.error == RUN_WORKER_LOST
    assert not Workspace(run.pk).exists()
    assert sync_run_create(district=district, kind="delta", trigger="cli").status == S.QUEUED


@pytest.mark.django_db
def test_the_reaper_fails_silent_runs_and_resends_lost_messages():
    long_ago = timezone.now() - dt.timedelta(hours=1)
    stuck = sync_run_create(district=district_make(), kind="full", trigger="schedule")
    sync_run_transition(run=stuck, to=S.RUNNING)
    SyncRun.objects.filter(pk=stuck.pk).update(heartbeat_at=long_ago)
    applying = sync_run_create(district=district_make(), kind="delta", trigger="schedule")
    sync_run_transition(run=applying, to=S.RUNNING)
    sync_run_transition(run=applying, to=S.APPLYING)
    SyncRun.objects.filter(pk=applying.pk).update(heartbeat_at=long_ago)
    lost = sync_run_create(district=district_make(), kind="delta", trigger="schedule")
    SyncRun.objects.filter(pk=lost.pk).update(created_at=long_ago)
    fresh = sync_run_create(district=district_make(), kind="delta", trigger="schedule")
    sync_run_transition(run=fresh, to=S.RUNNING)
    Workspace(fresh.pk).create()
    finished = sync_run_create(district=district_make(), kind="delta", trigger="schedule")
    sync_run_transition(run=finished, to=S.FAILED)
    Workspace(finished.pk).create()  # left behind by a crash after the run ended

    result = runs_reap()
    assert result.failed == [stuck.pk]
    assert result.resend_applying == [applying.pk]
    assert result.resend_queued == [lost.pk]
    stuck.refresh_from_db()
    assert stuck.status == S.FAILED
    fresh.refresh_from_db()
    assert fresh.status == S.RUNNING
    assert Workspace(fresh.pk).exists()
    assert not Workspace(finished.pk).exists()
    # A reaped worker that wakes up stops at its next heartbeat instead of writing on.
    with pytest.raises(SyncRunLost):
        sync_run_heartbeat(run=stuck)
