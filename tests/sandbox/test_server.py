"""The sandbox server: start/stop, dispatch, HTTP details, and ``manage.py sandbox``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import pytest
import requests
from django.core.management import call_command

from sandbox.server import start_sandbox
from tests.subprocess_env import subprocess_env

DESIGN_KEYS = {
    "oneroster_url",
    "token_url",
    "client_id",
    "client_secret",
    "vendor_key",
    "vendor_secret",
    "canvas_url",
    "canvas_account_id",
    "canvas_token",
}
ROOT = Path(__file__).resolve().parents[2]


def test_start_and_stop_as_a_context_manager():
    with start_sandbox(schools=1, students=10, seed=1, canvas=False) as running:
        info = running.info
        assert set(info) == DESIGN_KEYS
        assert info["oneroster_url"].endswith("/ims/oneroster/v1p1")
        assert info["oneroster_url"].startswith(f"http://127.0.0.1:{running.port}/campus/api/")
        assert "appName=" in info["token_url"]
        assert running.canvas is None
        assert running.generated.counts()["students"] == 10
        assert requests.get(f"{running.url}/api/v1/users/self", timeout=5).status_code == 404
    with pytest.raises(requests.ConnectionError):
        requests.get(info["oneroster_url"] + "/orgs", timeout=2)


def test_latency_holds_each_api_answer_back_and_leaves_the_controls_alone():
    """``latency`` models a real service's network and work (the scale-out benchmark)."""
    with start_sandbox(schools=1, students=5, seed=1, canvas=False, latency=0.3) as running:
        started = time.monotonic()
        answer = requests.get(f"{running.url}/api/v1/users/self", timeout=5)
        assert answer.status_code == 404  # the answer itself is the usual one
        assert time.monotonic() - started >= 0.3
        assert running.server.latency == 0.3
    with start_sandbox(schools=1, students=5, seed=1, canvas=False) as running:
        assert running.server.latency == 0.0


def test_secrets_are_random_unless_fixed_for_a_demo():
    with (
        start_sandbox(schools=1, students=5, seed=9, canvas=False) as a,
        start_sandbox(schools=1, students=5, seed=9, canvas=False) as b,
    ):
        assert a.info["client_secret"] != b.info["client_secret"]
    with (
        start_sandbox(schools=1, students=5, seed=9, canvas=False, fixed_secrets=True) as a,
        start_sandbox(schools=1, students=5, seed=9, canvas=False, fixed_secrets=True) as b,
    ):
        assert a.info["client_secret"] == b.info["client_secret"]
        assert a.info["vendor_secret"] == b.info["vendor_secret"]


def test_canvas_paths_go_to_the_simulated_canvas():
    pytest.importorskip("sandbox.canvas.app")
    with start_sandbox(schools=1, students=5, seed=2) as running:
        info = running.info
        assert running.canvas is not None
        assert info["canvas_token"]
        assert info["canvas_account_id"]
        response = requests.get(
            f"{info['canvas_url']}/api/v1/users/self",
            headers={"Authorization": f"Bearer {info['canvas_token']}"},
            timeout=5,
        )
        assert response.status_code == 200
        token = requests.post(
            info["token_url"],
            data={"grant_type": "client_credentials"},
            auth=(info["client_id"], info["client_secret"]),
            timeout=5,
        )
        assert token.status_code == 200


def test_http_details_keep_alive_chunked_bodies_and_head():
    with start_sandbox(schools=1, students=5, seed=3, canvas=False) as running:
        secret = running.info["client_secret"]
        session = requests.Session()
        url = f"{running.url}/_sandbox/oneroster/info"
        headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
        first = session.post(url, data=b"{}", headers=headers, timeout=5)
        second = session.post(url, data=iter([b"{", b"}"]), headers=headers, timeout=5)  # chunked
        assert first.status_code == second.status_code == 200
        assert first.raw.version == 11
        assert first.headers["Content-Length"] == str(len(first.content))
        head = session.head(f"{running.info['oneroster_url']}/orgs", timeout=5)
        assert head.status_code == 401
        assert head.content == b""
        session.close()


def test_manage_py_sandbox_serve_prints_one_json_line_and_stops_on_sigterm():
    env = subprocess_env()
    command = [sys.executable, str(ROOT / "manage.py"), "sandbox", "serve", "--students", "12",
               "--schools", "1", "--seed", "4", "--no-canvas"]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, env=env, text=True, cwd=ROOT)
    try:
        info = json.loads(process.stdout.readline())
        assert set(info) == DESIGN_KEYS
        os.environ["SANDBOX_TEST_SECRET"] = info["client_secret"]
        out = StringIO()
        call_command(
            "sandbox", "info", "--url", info["oneroster_url"], "--secret-env",
            "SANDBOX_TEST_SECRET", stdout=out,
        )  # fmt: skip
        assert json.loads(out.getvalue())["counts"]["students"] == 12
        out = StringIO()
        call_command(
            "sandbox", "mutate", "--url", info["canvas_url"], "--secret-env",
            "SANDBOX_TEST_SECRET", "--drops", "2", stdout=out,
        )  # fmt: skip
        assert len(json.loads(out.getvalue())["changed"]["dropped_enrollments"]) == 2
        out = StringIO()
        call_command(
            "sandbox", "window", "--url", info["canvas_url"], "--secret-env",
            "SANDBOX_TEST_SECRET", "--close", stdout=out,
        )  # fmt: skip
        assert json.loads(out.getvalue())["windowsClosedByDefault"] is True
    finally:
        os.environ.pop("SANDBOX_TEST_SECRET", None)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0


def test_serve_refuses_when_the_sandbox_is_disabled(settings):
    from django.core.management.base import CommandError

    settings.SANDBOX_ENABLED = False
    with pytest.raises(CommandError, match="SANDBOX_ENABLED"):
        call_command("sandbox", "serve", "--students", "1")
