import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from tenants.models import District

pytestmark = pytest.mark.django_db


def test_creates_reapers_and_district_schedules_idempotently():
    District.objects.create(slug="north", name="North ISD", status=District.Status.ACTIVE)
    call_command("setup_periodic_tasks")
    first = set(PeriodicTask.objects.values_list("name", "task"))
    call_command("setup_periodic_tasks")
    assert set(PeriodicTask.objects.values_list("name", "task")) == first
    tasks = {task for _, task in first}
    assert {"provisioning.reap_runs", "gradepassback.reap_runs"} <= tasks
    assert any("north" in name.lower() or "#" in name for name, _ in first)
    assert len(first) >= 5
