"""The per-course fan-out through a real Celery worker (a subprocess on this machine).

The worker sees the committed rows of the test database, so this test uses a live
database (``transactional_db``); the sandbox it talks to runs in this process.
"""

from __future__ import annotations

import json
import os
import time

import pytest
import redis
from django.conf import settings
from django.db import connection

from gradepassback.models import PassbackCourse, PassbackRun
from gradepassback.services.runs import passback_run_create
from gradepassback.tasks import run_passback
from runs.models import SyncRun
from tests.gradepassback.conftest import district_for, provision, taught_classes, teach
from tests.workers import celery_worker, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def worker(transactional_db, tmp_path):
    log_path = tmp_path / "worker.log"
    with celery_worker(log_path, concurrency=2) as process:
        yield process, log_path


def _final(run: SyncRun) -> bool:
    run.refresh_from_db()
    return run.status in SyncRun.FINAL_STATUSES


def test_a_district_passback_fans_out_one_task_per_course(sandbox, fast_imports, worker):
    district = district_for(sandbox)
    provision(district)
    teach(sandbox, taught_classes(sandbox))
    run = passback_run_create(district=district, trigger=SyncRun.Trigger.MANUAL, actor_label="t")
    connection.close()  # nothing of ours holds a transaction the worker would wait on
    run_passback.delay(run.pk)
    process, log_path = worker
    wait_for(lambda: _final(run), worker=process, log_path=log_path)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    passback = PassbackRun.objects.get(run=run)
    courses = PassbackCourse.objects.filter(passback_run=passback)
    assert passback.courses_total == passback.courses_done == courses.count() == 8
    assert set(courses.values_list("status", flat=True)) == {"succeeded"}
    workers = set(courses.values_list("worker", flat=True))
    assert "" not in workers
    assert f":{os.getpid()}" not in "".join(workers)  # done by the worker, not by us
    # The last course closed the run with the sum of every course's counts.
    assert run.counts["courses"] == {"succeeded": 8}
    pushed = sum(c.counts.get("results", {}).get("pushed", 0) for c in courses)
    assert run.counts["results"]["pushed"] == pushed > 0
    assert len(sandbox.oneroster.gradebook.results) == pushed


def _queue() -> tuple[redis.Redis, str]:
    prefix = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("global_keyprefix", "")
    return redis.Redis.from_url(settings.REDIS_URL), prefix + settings.CELERY_TASK_DEFAULT_QUEUE


def test_a_run_keeps_only_its_course_slots_in_the_queue(
    transactional_db, sandbox, fast_imports, settings, tmp_path
):
    """Districts take turns: a run queues ``PASSBACK_COURSES_PER_RUN`` course slots, not one
    message per course, and each slot queues itself again at the tail until no course is
    left. A real worker then passes back every course through those slots."""
    settings.PASSBACK_COURSES_PER_RUN = 2
    district = district_for(sandbox)
    provision(district)
    teach(sandbox, taught_classes(sandbox))
    run = passback_run_create(district=district, trigger=SyncRun.Trigger.MANUAL, actor_label="t")
    broker, queue = _queue()
    broker.delete(queue)
    connection.close()

    run_passback.apply(args=[run.pk])  # the start, here; its course slots go to the broker

    queued = broker.lrange(queue, 0, -1)
    tasks = [json.loads(message)["headers"]["task"] for message in queued]
    assert tasks == ["gradepassback.run_courses"] * 2
    assert PassbackRun.objects.get(run=run).courses_total == 8
    with celery_worker(tmp_path / "worker.log", concurrency=1) as process:
        # The worker starts on an empty queue: hand it the slots, oldest first.
        for message in reversed(queued):
            broker.lpush(queue, message)
        wait_for(lambda: _final(run), worker=process, log_path=tmp_path / "worker.log")
        # A slot that queued itself again while the other slot took the last course may
        # still be on its way: it finds no course and ends without queueing itself again.
        slots = wait_for(
            lambda: _slots_settled(tmp_path / "worker.log"),
            worker=process,
            log_path=tmp_path / "worker.log",
        )
        time.sleep(0.5)  # long enough for a slot that kept going to show up again
        assert _slots_settled(tmp_path / "worker.log") == slots
    # At most one slot run per course, plus one closing run per slot.
    assert slots <= 8 + 2
    assert broker.llen(queue) == 0
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    courses = PassbackCourse.objects.filter(passback_run__run=run)
    assert set(courses.values_list("status", flat=True)) == {"succeeded"}


def _slots_settled(log_path) -> int:
    """How many course slots the worker ran, once every slot it received has ended (else 0)."""
    lines = [
        line for line in log_path.read_text().splitlines() if "gradepassback.run_courses[" in line
    ]
    received = sum(line.rstrip().endswith("received") for line in lines)
    ended = sum(
        any(end in line for end in (" succeeded in ", " raised ", " retry: ")) for line in lines
    )
    return received if received and received == ended else 0
