"""compose.yaml: the client address Django trusts is the one its own proxy saw."""

from __future__ import annotations

from pathlib import Path

import yaml

COMPOSE = yaml.safe_load((Path(__file__).resolve().parents[1] / "compose.yaml").read_text())


def test_trusted_proxy_count_matches_the_one_proxy_in_front_of_web():
    services = COMPOSE["services"]
    app_env = services["web"]["environment"]
    assert app_env["TRUSTED_PROXY_COUNT"] == "1"
    assert services["proxy"]["command"][-1] == "web:8000"
    # Nothing reaches web except through the proxy: a direct client could forge the header.
    assert "ports" not in services["web"]
    published = [name for name, service in services.items() if service.get("ports")]
    assert published == ["proxy"]
