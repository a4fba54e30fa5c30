"""The one environment every test subprocess gets: worker, beat, server or ``manage.py``.

A subprocess must reach this session's services exactly: the test database pytest-django
created (``test_<name>``) on the same server, and the same Redis. The URLs are copied from the
settings and only the database name is replaced, so whatever else they carry survives: the
embedded PostgreSQL's socket folder (``?host=/…/.local/pgdata``), a password, a Unix-socket
Redis. Rebuilding a URL from host and port drops the socket folder, and the subprocess then
talks to another server (or none).
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.db import connection

#: Playwright's permission to use the ORM from its event loop is for this process only.
_NOT_INHERITED = ("DJANGO_ALLOW_ASYNC_UNSAFE",)


def test_database_url() -> str:
    """``DATABASE_URL`` of the database the tests use now (the test database once created)."""
    parts = urlsplit(settings.DATABASE_URL)
    return urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))


def subprocess_env(
    settings_module: str = "integration.settings.test", **extra: str | None
) -> dict[str, str]:
    """This process's environment pointed at the test database, Redis and queue.

    ``extra`` adds or overrides variables; a value of ``None`` removes one.
    """
    env = {key: value for key, value in os.environ.items() if key not in _NOT_INHERITED}
    env.update(
        DJANGO_SETTINGS_MODULE=settings_module,
        DATABASE_URL=test_database_url(),
        REDIS_URL=settings.REDIS_URL,
        CELERY_TASK_DEFAULT_QUEUE=settings.CELERY_TASK_DEFAULT_QUEUE,
        # A subprocess of a test reads only what the test gives it, never the demo's env file.
        ENV_FILE="",
    )
    for key, value in extra.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env
