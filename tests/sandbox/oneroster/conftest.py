"""Fixtures: a small simulated Infinite Campus and a raw HTTP session speaking to it."""

from __future__ import annotations

import pytest
import requests

from sandbox.server import RunningSandbox, start_sandbox


class Api:
    """Plain ``requests`` against the sandbox: the provider seen without our client."""

    def __init__(self, running: RunningSandbox) -> None:
        self.running = running
        self.info = running.info
        self.base = self.info["oneroster_url"]
        self.session = requests.Session()
        response = self.session.post(
            self.info["token_url"],
            data={"grant_type": "client_credentials"},
            auth=(self.info["client_id"], self.info["client_secret"]),
            timeout=5,
        )
        response.raise_for_status()
        self.token = response.json()["access_token"]
        self.vendor = f"{self.info['vendor_key']}:{self.info['vendor_secret']}"

    def get(self, path: str, *, gradebook: bool = False, **params) -> requests.Response:
        return self.request("GET", path, gradebook=gradebook, params=params)

    def request(self, method: str, path: str, *, gradebook: bool = True, **kwargs):
        headers = {"Authorization": f"Bearer {self.token}"}
        if gradebook:
            headers["x-vendor-authorization"] = self.vendor
        return self.session.request(
            method, f"{self.base}/{path}", headers=headers, timeout=10, **kwargs
        )

    def control(self, action: str, body: dict | None = None) -> requests.Response:
        return self.session.post(
            f"{self.running.url}/_sandbox/oneroster/{action}",
            json=body or {},
            headers={"Authorization": f"Bearer {self.info['client_secret']}"},
            timeout=30,
        )


@pytest.fixture(scope="module")
def sandbox():
    with start_sandbox(schools=3, students=60, seed=11, canvas=False) as running:
        yield running


@pytest.fixture(scope="module")
def api(sandbox):
    client = Api(sandbox)
    yield client
    client.session.close()


@pytest.fixture
def fresh_api():
    with start_sandbox(schools=2, students=40, seed=12, canvas=False) as running:
        client = Api(running)
        yield client
        client.session.close()
