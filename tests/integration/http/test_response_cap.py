"""Upstream answers are read under ``HTTP_MAX_RESPONSE_BYTES``: past the cap the call fails
with a typed error, nothing more is read, and the session carries on."""

from __future__ import annotations

import gzip
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from integration.http import RetryPolicy, UpstreamResponseTooLarge, UpstreamSession

CAP = 64 * 1024
CHUNK = b"x" * 8192


class _Hostile(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.server.requests += 1
        if self.path == "/fits":
            self._send(b"[" + b"0," * ((CAP - 3) // 2) + b"0]")
        elif self.path == "/declared":
            # Announces 10 GiB, then stalls: only a client that reads the body would wait.
            self.send_response(200)
            self.send_header("Content-Length", str(10 * 1024 * 1024 * 1024))
            self.end_headers()
            self.wfile.write(CHUNK)
            self.server.release.wait(5)
            self.close_connection = True
        elif self.path == "/undeclared":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self._pour(limit=1024 * 1024)
        elif self.path == "/gzip":
            body = gzip.compress(b" " * (4 * CAP))
            self._send(body, {"Content-Encoding": "gzip"})
        elif self.path == "/error":
            self.send_response(500)
            self.send_header("Connection", "close")
            self.end_headers()
            self._pour(limit=1024 * 1024)

    def _send(self, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(200)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _pour(self, *, limit: int) -> None:
        """Write until the client hangs up (or ``limit``: a stand-in for gigabytes)."""
        sent = 0
        try:
            while sent < limit:
                self.wfile.write(CHUNK)
                sent += len(CHUNK)
        except OSError:
            pass
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def hostile(settings):
    settings.HTTP_MAX_RESPONSE_BYTES = CAP
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    httpd.requests = 0
    httpd.release = threading.Event()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd, f"http://127.0.0.1:{httpd.server_port}"
    httpd.release.set()
    httpd.shutdown()
    httpd.server_close()


def _session() -> UpstreamSession:
    return UpstreamSession(allow_private=True, retry=RetryPolicy(attempts=3), sleep=lambda _: 0)


@pytest.mark.parametrize("path", ["/declared", "/undeclared", "/gzip", "/error"])
def test_an_answer_past_the_cap_fails_once_with_a_typed_error(hostile, path):
    httpd, base = hostile
    with pytest.raises(UpstreamResponseTooLarge) as caught:
        _session().request("GET", base + path)
    assert caught.value.limit == CAP
    assert "HTTP_MAX_RESPONSE_BYTES" in str(caught.value)
    assert httpd.requests == 1  # never retried: the next answer would be as large


def test_a_declared_oversize_answer_is_refused_without_reading_the_body(hostile):
    _, base = hostile
    session = UpstreamSession(allow_private=True, read_timeout=1, retry=RetryPolicy(attempts=1))
    with pytest.raises(UpstreamResponseTooLarge):  # not UpstreamTimeout: the stall is not read
        session.request("GET", base + "/declared")


def test_an_answer_at_the_cap_is_read_and_the_session_keeps_working(hostile):
    _, base = hostile
    session = _session()
    with pytest.raises(UpstreamResponseTooLarge):
        session.request("GET", base + "/undeclared")
    data, response = session.get_json(base + "/fits")
    assert len(response.content) == CAP - 1
    assert len(data) == (CAP - 3) // 2 + 1
