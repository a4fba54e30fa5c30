"""Districts for provisioning tests, created directly (tenant services are tested elsewhere)."""

from __future__ import annotations

import itertools

from tenants.models import District

_numbers = itertools.count(1)


def district_make(**fields: object) -> District:
    number = next(_numbers)
    defaults: dict[str, object] = {
        "slug": f"test-{number}",
        "name": f"Test District {number}",
        "status": District.Status.ACTIVE,
        "timezone": "America/Chicago",
    }
    defaults.update(fields)
    return District.objects.create(**defaults)
