"""The lease, the district lock and the Redis namespace."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.db import connection, connections
from django.test import override_settings
from django.utils import timezone

from gradepassback.gate import gate_key
from integration.redis_names import redis_client, redis_key
from runs.locks import DistrictBusy, district_lock, district_lock_ttl, lock_name
from runs.models import SyncRun
from runs.services.lifecycle import (
    Heartbeat,
    sync_run_create,
    sync_run_fail_if_active,
    sync_run_transition,
)
from runs.services.reaper import runs_reap
from tests.provisioning.factories import district_connected

S = SyncRun.Status


# --- namespace -------------------------------------------------------------------------------


def test_every_redis_name_is_in_the_deployment_namespace(settings):
    namespace = settings.REDIS_NAMESPACE
    assert lock_name(7) == f"{namespace}:runs:district:7:lock"
    assert gate_key(7) == f"{namespace}:gradepassback:district:7:sis-slots"
    assert settings.CACHES["default"]["KEY_PREFIX"] == namespace
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] == f"{namespace}:"
    cache.set("probe", 1, 5)
    assert redis_client().keys(f"{namespace}:*probe")
    cache.delete("probe")


def test_two_deployments_on_one_redis_do_not_refuse_each_others_runs():
    with override_settings(REDIS_NAMESPACE="deployment-a"):
        a_lock = lock_name(42)
        redis_client().delete(a_lock)
        with district_lock(42, run_id=1):
            with override_settings(REDIS_NAMESPACE="deployment-b"):
                redis_client().delete(lock_name(42))
                with district_lock(42, run_id=1):  # the other deployment's district 42
                    pass
            with pytest.raises(DistrictBusy), district_lock(42, run_id=2):
                pass
    assert redis_key("x") != "deployment-a:x"  # back to this deployment's namespace


def test_the_default_namespace_comes_from_the_database_name(settings):
    assert settings.DATABASES["default"]["NAME"].removeprefix("test_") in settings.REDIS_NAMESPACE


# --- lease -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_each_heartbeat_extends_the_short_lease_of_the_lock(settings):
    settings.RUN_LEASE_SECONDS = 30
    run = sync_run_create(district=district_connected(), kind="delta", trigger="cli")
    sync_run_transition(run=run, to=S.RUNNING)
    redis_client().delete(lock_name(run.district_id))
    with district_lock(run.district_id, run_id=run.pk) as lock:
        assert 0 < district_lock_ttl(run.district_id) <= 30
        redis_client().pexpire(lock_name(run.district_id), 2000)  # time passed
        Heartbeat(run, extend=lock.extend)()
        assert district_lock_ttl(run.district_id) > 25


@pytest.mark.django_db
def test_the_reaper_fails_a_lost_run_and_releases_its_lock_only(settings):
    settings.RUN_LEASE_SECONDS = 30
    long_ago = timezone.now() - dt.timedelta(minutes=5)
    lost = sync_run_create(district=district_connected(), kind="full", trigger="schedule")
    sync_run_transition(run=lost, to=S.RUNNING)
    SyncRun.objects.filter(pk=lost.pk).update(heartbeat_at=long_ago)
    other = sync_run_create(district=district_connected(), kind="full", trigger="schedule")
    sync_run_transition(run=other, to=S.RUNNING)
    SyncRun.objects.filter(pk=other.pk).update(heartbeat_at=long_ago)
    for run in (lost, other):
        redis_client().delete(lock_name(run.district_id))
    redis_client().set(lock_name(lost.district_id), f"run-{lost.pk}-dead", px=600_000)
    # Another run of the other district took its lock since: not the lost run's to release.
    redis_client().set(lock_name(other.district_id), f"run-{other.pk + 1000}-alive", px=600_000)

    result = runs_reap()

    assert sorted(result.failed) == sorted([lost.pk, other.pk])
    assert not redis_client().exists(lock_name(lost.district_id))
    assert (
        redis_client().get(lock_name(other.district_id)) == f"run-{other.pk + 1000}-alive".encode()
    )
    redis_client().delete(lock_name(other.district_id))


# --- a lost database connection --------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_failure_path_opens_a_fresh_connection_after_the_old_one_died():
    """The run's PostgreSQL backend is terminated mid-run: the error handler must not reuse
    the dead connection, or the run would stay ``running`` until the reaper."""
    run = sync_run_create(district=district_connected(), kind="delta", trigger="cli")
    sync_run_transition(run=run, to=S.RUNNING)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    killer = connections.create_connection("default")
    try:
        with killer.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        killer.close()
    with pytest.raises(Exception), connection.cursor() as cursor:  # noqa: B017, PT011 - any
        cursor.execute("SELECT 1")

    sync_run_fail_if_active(run=run, error="OperationalError: terminating connection")

    run.refresh_from_db()
    assert run.status == S.FAILED
    assert run.error == "OperationalError: terminating connection"
