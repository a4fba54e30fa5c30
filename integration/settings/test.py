"""Test settings: real PostgreSQL and Redis (from the environment or the embedded default)."""

import os

os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("ALLOW_PRIVATE_UPSTREAMS", "true")
os.environ.setdefault("ALLOW_HTTP_UPSTREAMS", "true")

from integration.settings.base import *  # noqa: F403
from integration.settings.base import (
    BASE_DIR,
    CACHES,
    CELERY_BROKER_TRANSPORT_OPTIONS,
    DATABASES,
    EMBEDDED_NAME,
    _celery_broker_url,
    env,
)

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
OTP_REQUIRED = env.bool("OTP_REQUIRED", default=False)
# Tests use the database "test_<name>": their Redis names follow it, away from a running demo.
# A worker started by a test is given "test_<name>" itself; both name the same namespace.
# Under pytest-xdist (make test) each process ("gw0", "gw1", …) has a database of its own,
# "test_<name>_gw0", and so a namespace of its own.
_XDIST_PROCESS = os.environ.get("PYTEST_XDIST_WORKER", "")
_TEST_DATABASE = DATABASES["default"]["NAME"] or "default"
#: The embedded Redis instance the tests use (``integration.embedded.redis_url``), if any.
TEST_REDIS_INSTANCE = EMBEDDED_NAME if "REDIS_URL" not in env.ENVIRON else None
if not _TEST_DATABASE.startswith("test_"):
    _TEST_DATABASE = f"test_{_TEST_DATABASE}"
    if _XDIST_PROCESS:
        _TEST_DATABASE = f"{_TEST_DATABASE}_{_XDIST_PROCESS}"
        # On the embedded default each process also gets a Redis of its own: a test that
        # stops Redis (the fault drill) or empties the cache (``flushdb``) must not pull it
        # from under the other process's tests. Its subprocesses are handed this URL.
        if TEST_REDIS_INSTANCE:
            from integration import embedded

            TEST_REDIS_INSTANCE = f"{TEST_REDIS_INSTANCE}_{_XDIST_PROCESS}"
            REDIS_URL = embedded.redis_url(BASE_DIR, TEST_REDIS_INSTANCE)
            CACHES["default"]["LOCATION"] = REDIS_URL
            CELERY_BROKER_URL = _celery_broker_url(REDIS_URL)
REDIS_NAMESPACE = env("REDIS_NAMESPACE", default=None) or f"rb-{_TEST_DATABASE}"
CACHES["default"]["KEY_PREFIX"] = REDIS_NAMESPACE
CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] = f"{REDIS_NAMESPACE}:"
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", default="tests")
AXES_ENABLED = env.bool("AXES_ENABLED", default=False)
SILENCED_SYSTEM_CHECKS = ["axes.W002"]
