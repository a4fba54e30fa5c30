"""The shared HTTP layer over real loopback HTTP: retries, typed errors, the address guard."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from integration.http import (
    RestrictedAddress,
    RetryPolicy,
    UpstreamAuthFailed,
    UpstreamNotFound,
    UpstreamProtocolError,
    UpstreamRateLimited,
    UpstreamServerError,
    UpstreamSession,
    UpstreamTimeout,
)
from integration.http.session import parse_retry_after, safe_url


class _Script:
    """Answers requests from a list of (status, headers, body) in order; the last repeats."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.seen: list[str] = []


@pytest.fixture
def server():
    script = _Script([(200, {}, b"{}")])

    class Handler(BaseHTTPRequestHandler):
        def _answer(self):
            script.seen.append(self.command)
            status, headers, body = (
                script.answers.pop(0) if len(script.answers) > 1 else script.answers[0]
            )
            if status == "hang":
                threading.Event().wait(2)
                status, headers, body = 200, {}, b"{}"
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = _answer

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield script, f"http://127.0.0.1:{httpd.server_port}/ims/oneroster/v1p1/orgs"
    httpd.shutdown()
    httpd.server_close()


def _session(**kwargs) -> UpstreamSession:
    slept: list[float] = []
    session = UpstreamSession(
        retry=RetryPolicy(attempts=4, base_delay=0.01, max_wait=0.05),
        allow_private=True,
        sleep=slept.append,
        **kwargs,
    )
    session.slept = slept
    return session


def test_get_retries_server_errors_then_succeeds(server):
    script, url = server
    script.answers = [(503, {}, b""), (502, {}, b""), (200, {}, b'{"ok": true}')]
    data, _ = _session().get_json(url)
    assert data == {"ok": True}
    assert script.seen == ["GET", "GET", "GET"]


def test_retry_after_is_honoured_up_to_the_cap(server):
    script, url = server
    script.answers = [(429, {"Retry-After": "0.04"}, b""), (200, {}, b"{}")]
    session = _session()
    session.get_json(url)
    assert session.slept
    assert session.slept[0] >= 0.04


def test_rate_limiting_beyond_the_budget_is_a_typed_error(server):
    script, url = server
    script.answers = [(429, {}, b"")]
    with pytest.raises(UpstreamRateLimited):
        _session().get_json(url)
    assert len(script.seen) == 4


def test_post_is_never_retried_and_raises_the_typed_error(server):
    script, url = server
    script.answers = [(503, {}, b""), (200, {}, b"{}")]
    with pytest.raises(UpstreamServerError):
        _session().request("POST", url)
    assert script.seen == ["POST"]


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, UpstreamAuthFailed), (404, UpstreamNotFound), (500, UpstreamServerError)],
)
def test_non_retryable_statuses_raise_at_once(server, status, error):
    script, url = server
    script.answers = [(status, {}, b'{"imsx_codeMajor": "failure"}')]
    with pytest.raises(error):
        _session().get_json(url)
    assert len(script.seen) == 1


def test_malformed_json_is_a_protocol_error_without_the_body_in_the_message(server):
    script, url = server
    script.answers = [(200, {}, b'{"student": "Secret Name", ')]
    with pytest.raises(UpstreamProtocolError) as caught:
        _session().get_json(url)
    assert "Secret" not in str(caught.value)


def test_read_timeout_is_typed(server):
    script, url = server
    script.answers = [("hang", {}, b"")]
    session = _session(read_timeout=0.2)
    session.retry = RetryPolicy(attempts=1)
    with pytest.raises(UpstreamTimeout):
        session.get_json(url)


def test_loopback_hosts_are_refused_unless_allowed():
    session = UpstreamSession(allow_private=False)
    with pytest.raises(RestrictedAddress):
        session.request("GET", "http://127.0.0.1:9/ims/oneroster/v1p1/orgs")


def test_messages_never_carry_query_strings():
    assert safe_url("https://u:p@host.example/a/b?token=x") == "https://host.example/a/b"


def test_retry_after_accepts_seconds_and_dates():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after("soon") is None
