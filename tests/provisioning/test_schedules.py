"""Per-district beat schedules at the district's local time, and the scheduled entry."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django_celery_beat.models import PeriodicTask

from provisioning.services.schedules import REAPER_NAME, district_schedule_sync
from provisioning.tasks import scheduled_sync
from runs.models import SyncRun
from tests.provisioning.factories import district_connected, district_make

pytestmark = pytest.mark.django_db


def test_a_district_gets_a_nightly_delta_and_a_weekly_full_in_its_timezone():
    district = district_make(timezone="America/Los_Angeles", full_sync_weekday=6)
    delta, full = district_schedule_sync(district)
    assert (delta.crontab.hour, delta.crontab.minute) == ("22", "30")
    assert delta.crontab.day_of_week == "1,2,3,4,5,6"  # every day but Sunday
    assert full.crontab.day_of_week == "0"
    assert str(delta.crontab.timezone) == "America/Los_Angeles"
    assert json.loads(full.args) == [district.pk, "full"]
    assert delta.enabled
    assert PeriodicTask.objects.filter(name=REAPER_NAME, task="provisioning.reap_runs").exists()

    district.delta_time = dt.time(1, 15)
    district.status = "paused"
    district.save()
    delta, full = district_schedule_sync(district)
    assert (delta.crontab.hour, delta.crontab.minute) == ("1", "15")
    assert not delta.enabled
    assert not full.enabled
    assert PeriodicTask.objects.filter(task="provisioning.scheduled_sync").count() == 2


def test_the_scheduled_entry_queues_one_run_and_skips_while_one_is_active(
    django_capture_on_commit_callbacks,
):
    district = district_connected()
    with django_capture_on_commit_callbacks() as callbacks:
        scheduled_sync(district.pk, "full")
    run = SyncRun.objects.get(district=district)
    assert (run.kind, run.trigger, run.full_read) == ("full", "schedule", True)
    assert len(callbacks) == 1
    scheduled_sync(district.pk, "delta")
    assert SyncRun.objects.filter(district=district).count() == 1


def test_beat_leaves_nothing_behind_for_a_district_without_credentials():
    """Beat goes through the launcher too: a district that cannot run gets no queued run."""
    district = district_make()
    scheduled_sync(district.pk, "delta")
    assert not SyncRun.objects.filter(district=district).exists()
