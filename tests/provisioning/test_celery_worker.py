"""A real Celery worker process against the test database: ``sync provision --enqueue``,
and a worker killed in the middle of a run.

The worker runs ``celery -A integration worker`` as a subprocess with this test run's
``DATABASE_URL`` (pointing at pytest-django's test database) and ``REDIS_URL``; the tests
use a live database (``transaction=True``) so the worker sees committed rows.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from django.core.management import call_command
from django.db import connection

from integration.celery import app as celery_app
from provisioning.models import CanvasRow
from runs.locks import _redis, lock_name
from runs.models import SyncRun
from tests.provisioning.conftest import district_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
S = SyncRun.Status


def _database_url() -> str:
    db = connection.settings_dict
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker(tmp_path):
    celery_app.control.purge()  # stale messages of earlier tests in this Redis database
    log_path = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "DJANGO_SETTINGS_MODULE": "integration.settings.test",
    }
    command = [
        str(Path(sys.executable).with_name("celery")),
        "-A",
        "integration",
        "worker",
        "--pool=prefork",
        "--concurrency=1",
        "--loglevel=INFO",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-Q",
        celery_app.conf.task_default_queue,
        "-n",
        f"provisioning-test-{os.getpid()}@%h",
    ]
    with log_path.open("w") as log:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while "ready." not in log_path.read_text():
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        yield process, log_path
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_for(predicate, *, timeout: float = 120.0, log_path: Path | None = None):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(
                "timed out" + (f"; worker log:\n{log_path.read_text()}" if log_path else "")
            )
        time.sleep(0.2)


def test_enqueue_hands_the_run_to_a_worker(sandbox, fast_imports, worker):
    _, log_path = worker
    district = district_for(sandbox)
    out = io.StringIO()
    call_command("sync", "provision", district.slug, "--enqueue", "--json", stdout=out)
    queued = json.loads(out.getvalue())
    assert queued["status"] == "queued"
    run = SyncRun.objects.get(pk=queued["run_id"])

    def finished():
        run.refresh_from_db()
        return run.status in SyncRun.FINAL_STATUSES

    _wait_for(finished, log_path=log_path)
    assert run.status == S.SUCCEEDED, run.error
    assert CanvasRow.objects.filter(district=district, file="enrollments").exists()
    assert sandbox.canvas.runner.newest_first()[0].workflow_state == "imported"


def test_a_worker_killed_while_applying_leaves_nothing_half_done(sandbox, fast_imports, worker):
    """The worker process running the run is killed while Canvas imports; Celery requeues
    the late-acked message, and the next worker process applies the stored plan again. The
    first attempt's mirror writes died with its transaction; the second commits once."""
    process, log_path = worker
    district = district_for(sandbox)
    sandbox.canvas.runner.pause()
    out = io.StringIO()
    call_command("sync", "provision", district.slug, "--enqueue", "--json", stdout=out)
    run = SyncRun.objects.get(pk=json.loads(out.getvalue())["run_id"])

    def waiting_on_canvas():
        run.refresh_from_db()
        return run.status == S.APPLYING and run.canvas_import_id

    _wait_for(waiting_on_canvas, log_path=log_path)
    assert not CanvasRow.objects.filter(district=district).exists()  # not committed yet
    (child,) = psutil.Process(process.pid).children()
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    _redis().delete(lock_name(district.pk))  # its lease would run out in ten minutes
    sandbox.canvas.runner.resume()

    def finished():
        run.refresh_from_db()
        return run.status in SyncRun.FINAL_STATUSES

    _wait_for(finished, log_path=log_path)
    assert run.status == S.SUCCEEDED, run.error
    assert run.attempts == 2
    assert CanvasRow.objects.filter(district=district, file="enrollments").exists()
    imports = sandbox.canvas.runner.newest_first()
    assert [i.workflow_state for i in imports] == ["imported", "imported"]
