"""``manage.py demo`` as a newcomer runs it (``make demo``), twice, with Ctrl-C in between.

The demo runs on an embedded instance of its own; the test gives it another name than the
real demo's (``rosterbridge_demotest``) and its own env file, so a demo a developer has open
is left alone.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from tests.subprocess_env import subprocess_env
from tests.workers import ROOT

pytestmark = pytest.mark.slow

INSTANCE = "rosterbridge_demotest"
READY_SECONDS = 120
#: What ``make demo`` adds to a shell with no database or Redis variables.
MAKE_DEMO = {
    "EMBEDDED_NAME": INSTANCE,
    "DEBUG": "true",
    "SANDBOX_ENABLED": "true",
    "ALLOW_PRIVATE_UPSTREAMS": "true",
    "ALLOW_HTTP_UPSTREAMS": "true",
}
#: A newcomer's shell: nothing of the tests' settings.
BARE = dict.fromkeys(
    (
        "DATABASE_URL",
        "REDIS_URL",
        "DJANGO_SETTINGS_MODULE",
        "DEBUG",
        "ALLOW_PRIVATE_UPSTREAMS",
        "ALLOW_HTTP_UPSTREAMS",
        "CELERY_TASK_DEFAULT_QUEUE",
    )
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_demo(env_file: Path, log_path: Path) -> subprocess.Popen:
    command = [sys.executable, "manage.py", "demo", "--no-story", "--students", "20",
               "--schools", "1", "--port", str(_free_port()),
               "--sandbox-port", str(_free_port())]  # fmt: skip
    env = subprocess_env(**{**BARE, **MAKE_DEMO, "ENV_FILE": str(env_file)})
    with log_path.open("w") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
    deadline = time.monotonic() + READY_SECONDS
    while not env_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the demo did not start:\n{log_path.read_text()}")
        time.sleep(0.2)
    return process


def _ctrl_c(process: subprocess.Popen, log_path: Path) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail(f"the demo did not stop on Ctrl-C:\n{log_path.read_text()}")


def _manage(env_file: Path, *args: str) -> subprocess.CompletedProcess:
    """A README command in another terminal: a bare shell, the demo's env file."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=subprocess_env(**BARE, ENV_FILE=str(env_file)),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


LEAVE_A_HELD_RUN = """
from runs.models import SyncRun
from tenants.models import District
district = District.objects.get(slug="demo")
SyncRun.objects.create(district=district, kind="full", trigger="manual", status="held",
                       held_reason="left for the user")
"""
COUNT_RUNS = """
from runs.models import SyncRun
print(SyncRun.objects.filter(district__slug="demo").count())
"""


def test_a_second_demo_starts_cleanly_and_ctrl_c_stops_what_the_demo_started(tmp_path):
    env_file = tmp_path / "demo.env"
    first_log = tmp_path / "first.log"
    first = _start_demo(env_file, first_log)
    try:
        listed = _manage(env_file, "district", "list", "--json")
        assert listed.returncode == 0, listed.stderr
        (district,) = json.loads(listed.stdout)["districts"]  # stdout is the object only
        assert district["slug"] == "demo"
        left = _manage(env_file, "shell", "-c", LEAVE_A_HELD_RUN)
        assert left.returncode == 0, left.stderr
        redis_url = dict(
            line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line
        )["REDIS_URL"]
    finally:
        _ctrl_c(first, first_log)
    assert first.returncode == 0, first_log.read_text()
    assert not env_file.exists()
    # The demo's Redis was started by the demo, so Ctrl-C stopped it.
    with pytest.raises((redis.ConnectionError, FileNotFoundError)):
        redis.Redis.from_url(redis_url).ping()
    # Without the demo, the README's commands say plainly that there is nothing to reach.
    refused = _manage(env_file, "district", "list", "--json")
    assert refused.returncode == 1
    assert refused.stderr.strip().count("\n") == 0
    assert refused.stderr.startswith("error: ")

    second_log = tmp_path / "second.log"
    second = _start_demo(env_file, second_log)
    try:
        counted = _manage(env_file, "shell", "-c", COUNT_RUNS)
        assert counted.returncode == 0, counted.stderr
        assert counted.stdout.split()[-1] == "0"  # the held run of the first demo is gone
    finally:
        _ctrl_c(second, second_log)
    assert second.returncode == 0, second_log.read_text()
    assert "Traceback" not in second_log.read_text()
