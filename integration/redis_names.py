"""One namespace for every Redis name this deployment writes, and the client that writes them.

Two deployments on one Redis (or a test run beside a running demo) must never share a lock,
a gate or a cached value: each would refuse the other's runs. ``settings.REDIS_NAMESPACE``
(default: the database name, which already tells deployments apart) prefixes every key:
the keys written here by name (``redis_key``), the Django cache (``KEY_PREFIX``) and
Celery's broker keys (``global_keyprefix``), so queues are kept apart too.
"""

from __future__ import annotations

from functools import cache

import redis
from django.conf import settings


@cache
def redis_client() -> redis.Redis:
    """The process's client of this deployment's Redis (``settings.REDIS_URL``; one
    connection pool), for the locks and gates that keep their keys under ``redis_key``
    names."""
    return redis.Redis.from_url(settings.REDIS_URL)


def redis_key(*parts: object) -> str:
    """``<namespace>:part:part…``, the name of a key this deployment owns."""
    return ":".join([settings.REDIS_NAMESPACE, *(str(part) for part in parts)])
