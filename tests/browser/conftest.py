"""Fixtures for the browser tests: headless Debian Chromium, a loopback sandbox, a real
Celery worker on the test database, and a staff user with a TOTP device.

Chromium is the system's (``/usr/bin/chromium``); nothing is downloaded. Without it the
tests are skipped, unless ``REQUIRE_BROWSER=1`` (CI), where its absence is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connections
from django_otp.plugins.otp_totp.models import TOTPDevice

from sandbox.server import start_sandbox
from tenants.permissions import CAPABILITIES
from tests.workers import celery_worker

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
PASSWORD = "correct horse battery staple"


def _require_browser() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is not installed (apt-get install chromium)"
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def browser(monkeypatch):
    _require_browser()
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; Django then refuses ORM
    # calls from it unless told that this (test-only) mix is intended.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        try:
            yield chromium
        finally:
            chromium.close()
            # Under Playwright's greenlets the test's database connection lives in a context
            # of its own, which the test database teardown never sees: close it here.
            connections.close_all()


@pytest.fixture
def sandbox():
    running = start_sandbox(schools=2, students=40, seed=5)
    try:
        yield running
    finally:
        running.canvas.close()
        running.stop()


@pytest.fixture
def worker(transactional_db, artifacts, request):
    """A real Celery worker (solo pool) on the test database and this session's Redis.

    Its log is named after the test: under pytest-xdist two browser tests may run at once."""
    with celery_worker(
        artifacts / f"worker-{request.node.name}.log",
        settings_module="tests.browser.worker_settings",
        pool="solo",
    ) as process:
        yield process


@pytest.fixture
def staff_with_device(transactional_db):
    """A staff member with every console capability (CSM and Operator together) and a
    confirmed authenticator device. The role groups come from a data migration, which
    ``transactional_db`` empties, so the permissions are given one by one."""
    user = get_user_model().objects.create_user(username="csm", password=PASSWORD, is_staff=True)
    for permission in CAPABILITIES.values():
        app_label, codename = permission.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    return user, device
