"""A district's upstream clients: its settings and decrypted credentials as the plain configs
the clients in ``integration`` take. Credentials are decrypted only here, when a client is
built; the clients themselves know no model."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from integration.canvas.client import CanvasClient, CanvasConfig
from integration.canvas.errors import CanvasNotConfigured
from integration.oneroster.client import OneRosterClient, OneRosterConfig

if TYPE_CHECKING:
    from tenants.models import District

CANVAS_NOT_CONFIGURED = "District {slug} has no Canvas URL or token yet."


def district_canvas_config(district: District, **overrides: Any) -> CanvasConfig:
    """The district's Canvas; ``overrides`` replace config fields (``allow_private``, …).
    Raises ``CanvasNotConfigured`` while the URL or the token is missing."""
    if not district.canvas_base_url or not district.canvas_token:
        raise CanvasNotConfigured(CANVAS_NOT_CONFIGURED.format(slug=district.slug))
    config = CanvasConfig(base_url=district.canvas_base_url, token=district.canvas_token)
    return dataclasses.replace(config, **overrides)


def district_oneroster_config(district: District, **overrides: Any) -> OneRosterConfig:
    """The district's OneRoster provider, with its own gradebook vendor key or the
    deployment's partner key; ``overrides`` replace config fields."""
    vendor = district.vendor_credentials()
    config = OneRosterConfig(
        base_url=district.oneroster_base_url,
        token_url=district.oneroster_token_url,
        client_id=district.oneroster_client_id,
        client_secret=district.oneroster_client_secret or "",
        auth_method=district.oneroster_auth_method,
        vendor_key=vendor[0] if vendor else None,
        vendor_secret=vendor[1] if vendor else None,
        concurrency=district.oneroster_concurrency,
    )
    return dataclasses.replace(config, **overrides)


def district_canvas_client(
    district: District, *, sleep: Callable[[float], None] = time.sleep, **overrides: Any
) -> CanvasClient:
    return CanvasClient(district_canvas_config(district, **overrides), sleep=sleep)


def district_oneroster_client(
    district: District, *, sleep: Callable[[float], None] = time.sleep, **overrides: Any
) -> OneRosterClient:
    return OneRosterClient(district_oneroster_config(district, **overrides), sleep=sleep)
