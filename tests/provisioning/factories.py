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
        # Most tests want their first run to write; the first-write hold has its own tests.
        "guard_first_write": False,
    }
    defaults.update(fields)
    return District.objects.create(**defaults)


#: Complete connection settings (nothing listens there): enough for a start to be allowed.
CONNECTED = {
    "oneroster_base_url": "https://sis.example.org/ims/oneroster/v1p1",
    "oneroster_token_url": "https://sis.example.org/oauth2/token",
    "oneroster_client_id": "client",
    "oneroster_client_secret": "secret",
    "canvas_base_url": "https://canvas.example.org",
    "canvas_account_id": "1",
    "canvas_token": "token",
}


def district_connected(**fields: object) -> District:
    """A district with every connection setting filled in (nothing is contacted)."""
    return district_make(**{**CONNECTED, **fields})
