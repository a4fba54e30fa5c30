"""Fixtures: a loopback sandbox (simulated Infinite Campus and Canvas) and a district wired
to it. Districts stay small so the suite stays fast."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.oneroster.generator import SHAPES, Shape
from sandbox.server import RunningSandbox, start_sandbox
from tests.provisioning.factories import district_make


@pytest.fixture
def sandbox():
    yield from sandbox_serve(SHAPES["ic"])


def sandbox_serve(shape: Shape) -> Iterator[RunningSandbox]:
    """A small sandbox district in ``shape``, stopped (Canvas worker included) afterwards."""
    running = start_sandbox(schools=2, students=60, seed=7, shape=shape)
    try:
        yield running
    finally:
        running.canvas.close()
        running.stop()


@pytest.fixture
def fast_imports(settings):
    settings.PROVISIONING_IMPORT_POLL_MAX = 0.2
    settings.PROVISIONING_CANVAS_BUSY_WAIT = 5


@pytest.fixture
def sandbox_district(db, sandbox, fast_imports):
    """A district whose OneRoster and Canvas are the sandbox's."""
    return district_for(sandbox)


def district_for(sandbox, **fields):
    info = sandbox.info
    values = {
        "oneroster_base_url": info["oneroster_url"],
        "oneroster_token_url": info["token_url"],
        "oneroster_client_id": info["client_id"],
        "oneroster_client_secret": info["client_secret"],
        "canvas_base_url": info["canvas_url"],
        "canvas_account_id": info["canvas_account_id"],
        "canvas_token": info["canvas_token"],
        **fields,
    }
    return district_make(**values)
