"""Test settings: real PostgreSQL and Redis (from the environment or the embedded default)."""

import os

os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("ALLOW_PRIVATE_UPSTREAMS", "true")
os.environ.setdefault("ALLOW_HTTP_UPSTREAMS", "true")

from integration.settings.base import *  # noqa: F403
from integration.settings.base import (
    CACHES,
    CELERY_BROKER_TRANSPORT_OPTIONS,
    DATABASES,
    env,
)

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
OTP_REQUIRED = env.bool("OTP_REQUIRED", default=False)
# Tests use the database "test_<name>": their Redis names follow it, away from a running demo.
# A worker started by a test is given "test_<name>" itself; both name the same namespace.
_TEST_DATABASE = DATABASES["default"]["NAME"] or "default"
if not _TEST_DATABASE.startswith("test_"):
    _TEST_DATABASE = f"test_{_TEST_DATABASE}"
REDIS_NAMESPACE = env("REDIS_NAMESPACE", default=None) or f"rb-{_TEST_DATABASE}"
CACHES["default"]["KEY_PREFIX"] = REDIS_NAMESPACE
CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] = f"{REDIS_NAMESPACE}:"
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", default="tests")
AXES_ENABLED = env.bool("AXES_ENABLED", default=False)
SILENCED_SYSTEM_CHECKS = ["axes.W002"]
