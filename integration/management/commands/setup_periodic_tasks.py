"""Create or refresh every beat schedule from code and district settings (run at deploy).

Idempotent: the deployment-wide reapers, then each district's provisioning and passback
schedules. Per-district schedules also follow every settings change through the tenants
services; this command repairs them after a restore or a manual edit in the admin.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from gradepassback.services.schedules import passback_periodic_tasks_ensure, passback_schedule_sync
from provisioning.services.schedules import (
    district_schedule_sync,
    provisioning_periodic_tasks_ensure,
)
from tenants.models import District


class Command(BaseCommand):
    help = "Create or refresh the beat schedules of the deployment and of every district."

    def handle(self, *args, **options) -> None:
        provisioning_periodic_tasks_ensure()
        passback_periodic_tasks_ensure()
        districts = list(District.objects.all())
        for district in districts:
            district_schedule_sync(district)
            passback_schedule_sync(district=district)
        self.stdout.write(
            f"Periodic tasks ready: reapers and {len(districts)} district schedule(s)."
        )
