"""Fixtures: a small simulated Infinite Campus on loopback and clients wired to it."""

from __future__ import annotations

import pytest

from integration.http.session import RetryPolicy
from integration.oneroster.client import OneRosterClient, OneRosterConfig
from sandbox.server import RunningSandbox, start_sandbox

#: Retries that finish in milliseconds; tests also inject a no-op sleep.
FAST_RETRY = RetryPolicy(attempts=4, base_delay=0.001, max_wait=0.01, budget_seconds=10)


def make_config(running: RunningSandbox, **overrides) -> OneRosterConfig:
    info = running.info
    values = {
        "base_url": info["oneroster_url"],
        "token_url": info["token_url"],
        "client_id": info["client_id"],
        "client_secret": info["client_secret"],
        "vendor_key": info["vendor_key"],
        "vendor_secret": info["vendor_secret"],
        "page_size": 50,
        "concurrency": 3,
        "allow_private": True,
        "retry": FAST_RETRY,
        "read_timeout": 5.0,
        "connect_timeout": 2.0,
    }
    values.update(overrides)
    return OneRosterConfig(**values)


@pytest.fixture(scope="module")
def sandbox():
    with start_sandbox(schools=2, students=40, seed=3, canvas=False) as running:
        yield running


@pytest.fixture
def fresh_sandbox():
    """A sandbox of its own, for tests that mutate the district."""
    with start_sandbox(schools=2, students=40, seed=5, canvas=False) as running:
        yield running


@pytest.fixture(autouse=True)
def _no_leftover_faults(request):
    yield
    if "sandbox" in request.fixturenames:
        state = request.getfixturevalue("sandbox").oneroster
        state.faults.clear()
        state.max_limit, state.send_links, state.send_total = 50_000, True, True
        state.token_ttl = 3600


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client_for(sleeps):
    clients: list[OneRosterClient] = []

    def build(running: RunningSandbox, **overrides) -> OneRosterClient:
        client = OneRosterClient(make_config(running, **overrides), sleep=sleeps.append)
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()
