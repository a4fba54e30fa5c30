"""A small fixed-window request counter in the shared cache (Redis), for public endpoints."""

from __future__ import annotations

import hashlib
import time

from django.core.cache import cache


def rate_limit_hit(*, scope: str, key: str, limit: int, window_seconds: int) -> bool:
    """Count one request for ``key``; ``True`` when it is over ``limit`` in this window.

    Fixed windows allow a burst of up to twice the limit across a boundary, which is fine
    for slowing down guessing; the key is hashed so client addresses do not sit in Redis.
    """
    window = int(time.time() // window_seconds)
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    cache_key = f"ratelimit:{scope}:{digest}:{window}"
    # add() is a no-op when the key exists, so concurrent first requests do not reset it.
    cache.add(cache_key, 0, timeout=window_seconds + 1)
    try:
        count = cache.incr(cache_key)
    except ValueError:
        # The key expired between add() and incr(): this request opens a fresh window.
        cache.set(cache_key, 1, timeout=window_seconds + 1)
        count = 1
    return count > limit
