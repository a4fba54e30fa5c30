"""A passback course whose one step outlasts the run lease keeps its heartbeats fresh: the
run core's lease keeper renews the run's and the course's heartbeat while the worker lives,
so no reaper and no redelivered message takes the course from a live worker.

Through a real Celery worker (a subprocess) with a short lease, and a SIS that answers one
gradebook request slowly.
"""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.utils import timezone

from gradepassback.models import PassbackCourse
from gradepassback.services.runs import passback_run_create
from gradepassback.tasks import run_passback
from runs.models import SyncRun
from sandbox.oneroster.faults import FaultRule
from tests.gradepassback.conftest import district_for, provision, taught_classes, teach
from tests.workers import celery_worker, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

#: The lease the worker runs with: renewed every third of it.
LEASE_SECONDS = 1.5
#: How long the SIS takes to answer one request: several leases.
SLOW_SECONDS = 5.0


@pytest.fixture
def worker(tmp_path, monkeypatch, settings):
    monkeypatch.setenv("RUN_LEASE_SECONDS", str(LEASE_SECONDS))  # the worker's environment
    settings.RUN_LEASE_SECONDS = LEASE_SECONDS
    log_path = tmp_path / "worker.log"
    with celery_worker(log_path) as process:
        yield process, log_path


def _ages(run: SyncRun, course: PassbackCourse) -> tuple[str, float, float]:
    """The course's status and how old the run's and the course's heartbeats are now."""
    now = timezone.now()
    run.refresh_from_db(fields=["heartbeat_at"])
    course.refresh_from_db(fields=["status", "heartbeat_at"])
    run_age = (now - run.heartbeat_at).total_seconds() if run.heartbeat_at else float("inf")
    course_age = (now - course.heartbeat_at).total_seconds() if course.heartbeat_at else 0.0
    return course.status, run_age, course_age


def test_a_course_step_longer_than_the_lease_keeps_the_heartbeats_fresh(
    sandbox, fast_imports, worker
):
    district = district_for(sandbox)
    provision(district)
    course_sis_id = taught_classes(sandbox)[0]
    teach(sandbox, [course_sis_id])
    sandbox.oneroster.faults.set([FaultRule("slow", delay=SLOW_SECONDS, match="lineItems")])
    run = passback_run_create(
        district=district,
        trigger=SyncRun.Trigger.MANUAL,
        actor_label="t",
        course_sis_ids=[course_sis_id],
    )
    connection.close()  # nothing of ours holds a transaction the worker would wait on
    run_passback.delay(run.pk)
    process, log_path = worker
    course = wait_for(
        lambda: PassbackCourse.objects.filter(passback_run__run=run, status="running").first(),
        worker=process,
        log_path=log_path,
    )

    samples = []
    started = time.monotonic()
    while True:
        status, run_age, course_age = _ages(run, course)
        if status != "running":
            break
        samples.append((run_age, course_age))
        assert process.poll() is None, log_path.read_text()
        assert time.monotonic() - started < 60, log_path.read_text()
        time.sleep(0.1)
    ran_for = time.monotonic() - started

    assert ran_for > SLOW_SECONDS > 3 * LEASE_SECONDS  # one step outlasted the lease
    assert max(age for age, _ in samples) < LEASE_SECONDS, samples
    assert max(age for _, age in samples) < LEASE_SECONDS, samples
    wait_for(
        lambda: SyncRun.objects.get(pk=run.pk).status in SyncRun.FINAL_STATUSES,
        worker=process,
        log_path=log_path,
    )
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert course.status == "succeeded"
