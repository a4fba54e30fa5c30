"""``make audit`` (.ci/audit) says why it cannot audit when no vulnerability database answers,
and CI (AUDIT_SKIP_OFFLINE=1) moves on. Only loopback is contacted here."""

from __future__ import annotations

import os
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


class _NoAdvisories(BaseHTTPRequestHandler):
    """A package index mirror that has no per-release (advisory) pages."""

    def do_GET(self):
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def mirror():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _NoAdvisories)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}/pypi/pip/24.0/json"
    httpd.shutdown()
    httpd.server_close()


def _audit(probe: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "AUDIT_SKIP_OFFLINE"}
    environment.update(AUDIT_PROBE=probe, **env)
    return subprocess.run(
        [str(ROOT / ".ci" / "audit")],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.parametrize("where", ["mirror", "closed port"])
def test_without_a_database_the_audit_fails_saying_why(mirror, where):
    probe = mirror if where == "mirror" else "http://127.0.0.1:9/pypi/pip/24.0/json"
    result = _audit(probe)
    assert result.returncode == 1
    assert "dependency audit skipped: no vulnerability database" in result.stderr


def test_ci_skips_the_audit_with_the_reason(mirror):
    result = _audit(mirror, AUDIT_SKIP_OFFLINE="1")
    assert result.returncode == 0
    assert result.stdout.startswith("dependency audit skipped: no vulnerability database")
