"""The per-course fan-out through a real Celery worker (a subprocess on this machine).

The worker sees the committed rows of the test database, so this test uses a live
database (``transactional_db``); the sandbox it talks to runs in this process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection

from gradepassback.models import PassbackCourse, PassbackRun
from gradepassback.services.runs import passback_run_create
from gradepassback.tasks import run_passback
from runs.models import SyncRun
from tests.gradepassback.conftest import district_for, provision, taught_classes, teach

ROOT = Path(__file__).resolve().parents[2]
#: Generous: the worker must start (a few seconds) and pass back eight courses.
WAIT_SECONDS = 120


@pytest.fixture
def worker(transactional_db):
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    redis.Redis.from_url(settings.REDIS_URL).delete(queue)  # leftovers of earlier tests
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "integration.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
    }
    celery = str(Path(sys.executable).parent / "celery")
    process = subprocess.Popen(
        [celery, "-A", "integration", "worker", "-Q", queue, "--concurrency=2",
         "--loglevel=WARNING", "--without-heartbeat", "--without-mingle", "--without-gossip"],
        cwd=ROOT,
        env=env,
    )  # fmt: skip
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_final(run: SyncRun) -> SyncRun:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.status in SyncRun.FINAL_STATUSES:
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run.pk} still {run.status} after {WAIT_SECONDS} s")


def test_a_district_passback_fans_out_one_task_per_course(sandbox, fast_imports, worker):
    district = district_for(sandbox)
    provision(district)
    teach(sandbox, taught_classes(sandbox))
    run = passback_run_create(district=district, trigger=SyncRun.Trigger.MANUAL, actor_label="t")
    connection.close()  # nothing of ours holds a transaction the worker would wait on
    run_passback.delay(run.pk)
    run = _wait_final(run)
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
