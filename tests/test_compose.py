"""compose.yaml: the client address Django trusts is the one its own proxy saw."""

from __future__ import annotations

import re
import tomllib
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


def test_the_image_copies_every_app_and_installs_what_they_import():
    """The Dockerfile copies each package pyproject.toml ships, and the LTI libraries (imported
    by ``lti/`` at run time) are run-time dependencies, not an extra the image never installs."""
    root = Path(__file__).resolve().parents[1]
    project = tomllib.loads((root / "pyproject.toml").read_text())
    packages = [p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]]
    copied = set(re.findall(r"^COPY (\w+) \./\1$", (root / "Dockerfile").read_text(), re.M))
    assert set(packages) <= copied
    runtime = " ".join(project["project"]["dependencies"])
    for library in ("PyLTI1p3", "PyJWT", "jwcrypto"):
        assert library in runtime
