"""A district's settings and credentials become the plain configs the upstream clients take."""

from __future__ import annotations

import pytest

from integration.canvas.errors import CanvasNotConfigured
from tenants.models import District, PartnerCredential
from tenants.services.clients import (
    district_canvas_client,
    district_canvas_config,
    district_oneroster_client,
    district_oneroster_config,
)
from tests.integration.canvas.conftest import TOKEN, canvas_url, clock, state  # noqa: F401
from tests.integration.oneroster.conftest import sandbox  # noqa: F401 - fixture


def test_the_canvas_client_uses_the_districts_canvas_settings(canvas_url):  # noqa: F811
    district = District(slug="demo", canvas_base_url=canvas_url, canvas_token=TOKEN)
    with district_canvas_client(district, allow_private=True) as client:
        assert client.get_self()["name"] == "Sandbox Admin"


def test_a_district_without_canvas_settings_has_no_canvas_client():
    with pytest.raises(CanvasNotConfigured, match="District empty has no Canvas URL"):
        district_canvas_config(District(slug="empty"))


def test_the_canvas_config_never_shows_the_token():
    district = District(slug="demo", canvas_base_url="https://c.example", canvas_token=TOKEN)
    assert TOKEN not in repr(district_canvas_config(district))


@pytest.mark.django_db
def test_the_oneroster_client_uses_the_district_and_the_partner_key(sandbox):  # noqa: F811
    info = sandbox.info
    district = District.objects.create(
        slug="sandbox",
        name="Sandbox",
        oneroster_base_url=info["oneroster_url"],
        oneroster_token_url=info["token_url"],
        oneroster_client_id=info["client_id"],
        oneroster_client_secret=info["client_secret"],
        oneroster_concurrency=2,
    )
    PartnerCredential.objects.create(
        id=1, vendor_key=info["vendor_key"], vendor_secret=info["vendor_secret"]
    )
    assert district_oneroster_config(district).auth_method == "oauth2"
    with district_oneroster_client(district) as client:
        assert client.config.concurrency == 2
        assert client.config.vendor_key == info["vendor_key"]
        client.fetch_token()
        assert client.get_categories()
