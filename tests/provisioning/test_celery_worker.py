"""A real Celery worker process against the test database: ``sync provision --enqueue``,
and a worker killed in the middle of a run.

The worker runs ``celery -A integration worker`` as a subprocess on this test run's database
and Redis (``tests.workers``); the tests use a live database (``transaction=True``) so the
worker sees committed rows.
"""

from __future__ import annotations

import io
import json
import signal

import psutil
import pytest
from django.core.management import call_command

from integration.redis_names import redis_client
from provisioning.models import CanvasRow
from runs.locks import lock_name
from runs.models import SyncRun
from tests.provisioning.conftest import district_for
from tests.workers import celery_worker, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

S = SyncRun.Status


#: A short lease for the worker and this process, so a dead worker's lock lapses quickly.
LEASE_SECONDS = 6


@pytest.fixture(scope="module")
def module_worker(django_db_setup, tmp_path_factory):
    """One worker for this module: a killed pool process is replaced, as in production."""
    log_path = tmp_path_factory.mktemp("celery") / "worker.log"
    with celery_worker(log_path, env={"RUN_LEASE_SECONDS": str(LEASE_SECONDS)}) as process:
        yield process, log_path


@pytest.fixture
def worker(module_worker, settings):
    settings.RUN_LEASE_SECONDS = LEASE_SECONDS  # this process's, as the worker's
    return module_worker


def test_enqueue_hands_the_run_to_a_worker(sandbox, fast_imports, worker):
    process, log_path = worker
    district = district_for(sandbox)
    out = io.StringIO()
    call_command("sync", "provision", district.slug, "--enqueue", "--json", stdout=out)
    queued = json.loads(out.getvalue())
    assert queued["status"] == "queued"
    run = SyncRun.objects.get(pk=queued["run_id"])

    def finished():
        run.refresh_from_db()
        return run.status in SyncRun.FINAL_STATUSES

    wait_for(finished, worker=process, log_path=log_path)
    assert run.status == S.SUCCEEDED, run.error
    assert CanvasRow.objects.filter(district=district, file="enrollments").exists()
    assert sandbox.canvas.runner.newest_first()[0].workflow_state == "imported"


def test_a_worker_killed_while_applying_leaves_nothing_half_done(sandbox, fast_imports, worker):
    """The worker process running the run is killed while Canvas imports; Celery requeues
    the late-acked message, which finds the dead worker's lock and is retried once its lease
    ran out (never dropped); the next worker process applies the stored plan again,
    following the import the first attempt created instead of sending it twice. The first
    attempt's mirror writes died with its transaction; the second commits once."""
    process, log_path = worker
    district = district_for(sandbox)
    sandbox.canvas.runner.pause()
    out = io.StringIO()
    call_command("sync", "provision", district.slug, "--enqueue", "--json", stdout=out)
    run = SyncRun.objects.get(pk=json.loads(out.getvalue())["run_id"])

    def waiting_on_canvas():
        run.refresh_from_db()
        return run.status == S.APPLYING and run.canvas_import_id

    wait_for(waiting_on_canvas, worker=process, log_path=log_path)
    assert not CanvasRow.objects.filter(district=district).exists()  # not committed yet
    (child,) = psutil.Process(process.pid).children()
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    assert redis_client().exists(
        lock_name(district.pk)
    )  # the dead worker's lock, until its lease ends
    sandbox.canvas.runner.resume()

    def finished():
        run.refresh_from_db()
        return run.status in SyncRun.FINAL_STATUSES

    wait_for(finished, worker=process, log_path=log_path)
    assert run.status == S.SUCCEEDED, run.error
    assert run.attempts == 2
    assert CanvasRow.objects.filter(district=district, file="enrollments").exists()
    imports = sandbox.canvas.runner.newest_first()
    assert [i.workflow_state for i in imports] == ["imported"]  # nothing sent twice
