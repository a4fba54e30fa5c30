"""A real Celery worker process for the tests, on this session's test database and Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TypeVar

import pytest
import redis
from django.conf import settings

from tests.subprocess_env import subprocess_env

ROOT = Path(__file__).resolve().parents[1]
#: A worker is ready in a few seconds; more means something is wrong, not slow.
READY_SECONDS = 60
T = TypeVar("T")


@contextmanager
def celery_worker(
    log_path: Path,
    *,
    settings_module: str = "integration.settings.test",
    pool: str = "prefork",
    concurrency: int = 1,
    env: dict[str, str] | None = None,
) -> Iterator[subprocess.Popen]:
    """Start ``celery worker`` on the test queue, wait until it is ready, kill it after.

    ``env`` adds variables to the worker's environment (``subprocess_env``)."""
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    # Messages left by an earlier, interrupted session would name runs of another database.
    # The broker's keys carry the deployment namespace (``global_keyprefix``).
    prefix = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("global_keyprefix", "")
    redis.Redis.from_url(settings.REDIS_URL).delete(prefix + queue)
    command = [
        str(Path(sys.executable).with_name("celery")), "-A", "integration", "worker",
        f"--pool={pool}", f"--concurrency={concurrency}", "--queues", queue, "--loglevel=INFO",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=subprocess_env(settings_module, **(env or {})),
            stdout=log,
            stderr=subprocess.STDOUT,
            # A process group of its own: the worker and its pool processes end together.
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + READY_SECONDS
        while "ready." not in log_path.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the Celery worker did not start:\n{log_path.read_text()}")
            time.sleep(0.1)
        yield process
    finally:
        # Killed, not shut down: a warm (or cold) shutdown takes seconds even when idle, and
        # nothing of the worker is checked after its tests. What it leaves is harmless: its
        # database sessions end with it, and the next worker starts on an emptied queue.
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_for(
    predicate: Callable[[], T],
    *,
    worker: subprocess.Popen,
    log_path: Path,
    timeout: float = 60.0,
) -> T:
    """``predicate()`` once it is truthy; fails at once if the worker died, with its log."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if worker.poll() is not None:
            pytest.fail(f"the worker exited ({worker.returncode}):\n{log_path.read_text()}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s; worker log:\n{log_path.read_text()}")
        time.sleep(0.1)
