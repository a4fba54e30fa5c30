"""Create or refresh every beat schedule from code and district settings (run at deploy).

Idempotent: the deployment-wide reapers, then each district's provisioning and passback
schedules. Per-district schedules also follow every settings change through the tenants
services; this command repairs them after a restore or a manual edit in the admin. The apps
that own schedules answer ``tenants.signals.schedules_sync``.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from tenants.models import District
from tenants.signals import schedules_sync


class Command(BaseCommand):
    help = "Create or refresh the beat schedules of the deployment and of every district."

    def handle(self, *args, **options) -> None:
        schedules_sync.send(sender=District, district=None)
        districts = list(District.objects.all())
        for district in districts:
            schedules_sync.send(sender=District, district=district)
        self.stdout.write(
            f"Periodic tasks ready: reapers and {len(districts)} district schedule(s)."
        )
