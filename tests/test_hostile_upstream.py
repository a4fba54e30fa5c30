"""A hostile upstream cannot take a shared worker's memory: a 210 MB answer fails the run
with its reason while the process grows by little more than ``HTTP_MAX_RESPONSE_BYTES`` per
request in flight, and the default cap holds the largest legitimate page (50,000 records)
with room to spare.

Everything is served on loopback: the hostile OneRoster is a thread here, the token endpoint
and Canvas are the sandbox's (``ALLOW_PRIVATE_UPSTREAMS`` for these tests only).
"""

from __future__ import annotations

import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from integration.http import RetryPolicy, UpstreamSession
from integration.settings.base import HTTP_MAX_RESPONSE_BYTES
from runs.models import SyncRun
from sandbox.oneroster.generator import SHAPES, Shape
from sandbox.server import start_sandbox
from tests.provisioning.conftest import district_for, sandbox_serve
from tests.provisioning.runs import sync

pytestmark = pytest.mark.slow  # whole runs and a 50,000-student district

HOSTILE_BYTES = 210 * 1000 * 1000
CHUNK = b" " * 65536
#: How far past the cap the process may grow: chunk buffers, thread arenas, allocator slack
#: (measured: under 2 MB; kept wide for loaded machines, and still far below one 210 MB body).
SLACK = 96 * 1024 * 1024
#: The largest page a district legitimately sends: OneRoster allows 50,000 records a page.
LARGEST_PAGE_RECORDS = 50_000


class _Pour(BaseHTTPRequestHandler):
    """Answers every GET with 210 MB of whitespace, no Content-Length, until hung up on."""

    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Connection", "close")
        self.end_headers()
        sent = 0
        try:
            while sent < HOSTILE_BYTES:
                self.wfile.write(CHUNK)
                sent += len(CHUNK)
                self.server.sent = max(self.server.sent, sent)
        except OSError:
            pass  # the client hung up: what a bounded reader does
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def hostile():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Pour)
    httpd.sent = 0
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def loopback_sandbox():
    """The sandbox's token endpoint and Canvas; OneRoster itself will be the hostile host."""
    yield from sandbox_serve(SHAPES["ic"])


class PeakRss:
    """Samples this process's resident set every few milliseconds while in use."""

    def __init__(self) -> None:
        self.page = os.sysconf("SC_PAGE_SIZE")
        self.start = self.peak = self._rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _rss(self) -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * self.page

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(0.002)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth(self) -> int:
        return self.peak - self.start


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("concurrency", [1, 5])
def test_a_210_mb_answer_fails_the_run_and_the_worker_stays_small(
    settings, loopback_sandbox, hostile, concurrency
):
    """Each request in flight may hold up to the cap, so a run's worst case is its
    ``oneroster_concurrency`` (at most 5) times ``HTTP_MAX_RESPONSE_BYTES``, never the body."""
    settings.ALLOW_PRIVATE_UPSTREAMS = True
    assert settings.HTTP_MAX_RESPONSE_BYTES == HTTP_MAX_RESPONSE_BYTES  # the shipped default
    district = district_for(
        loopback_sandbox,
        oneroster_base_url=f"http://127.0.0.1:{hostile.server_port}/ims/oneroster/v1p1",
        oneroster_concurrency=concurrency,
    )

    with PeakRss() as rss:
        run = sync(district)

    assert run.status == SyncRun.Status.FAILED
    assert run.error.startswith(f"OneRoster sent more than {HTTP_MAX_RESPONSE_BYTES:,} bytes")
    assert run.error.endswith("or raise HTTP_MAX_RESPONSE_BYTES.")
    assert hostile.sent < HOSTILE_BYTES  # no answer was read to its end
    bound = concurrency * HTTP_MAX_RESPONSE_BYTES + SLACK
    assert rss.growth < bound, f"grew {rss.growth:,} bytes"


def test_the_default_cap_holds_the_largest_legitimate_page(settings):
    """50,000 users in the heaviest shape the sandbox models (metadata on every record,
    several userIds, empty strings sent): the biggest page a district may send."""
    settings.ALLOW_PRIVATE_UPSTREAMS = True
    heaviest = Shape(metadata=True, several_user_ids=True, empty_strings=True)
    running = start_sandbox(
        schools=20, students=LARGEST_PAGE_RECORDS, seed=7, canvas=False, shape=heaviest
    )
    session = UpstreamSession(retry=RetryPolicy(attempts=1))
    try:
        info = running.info
        response = session.request(
            "POST",
            info["token_url"],
            data={"grant_type": "client_credentials"},
            auth=(info["client_id"], info["client_secret"]),
        )
        token = session.decode_json(response)["access_token"]
        page = session.request(
            "GET",
            f"{info['oneroster_url']}/users",
            params={"limit": LARGEST_PAGE_RECORDS},
            headers={"Authorization": f"Bearer {token}"},
        )
    finally:
        session.close()
        running.stop()

    assert len(session.decode_json(page)["users"]) == LARGEST_PAGE_RECORDS
    size = len(page.content)
    assert size > 30_000_000  # a real measurement, not an empty page
    assert size * 1.5 < HTTP_MAX_RESPONSE_BYTES, f"{size:,} bytes"
