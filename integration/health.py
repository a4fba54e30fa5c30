"""``/healthz`` for load balancers and the compose healthcheck.

Answered before the security and host checks on purpose: the probe comes over plain HTTP
from inside the container with a Host header no deployment lists in ALLOWED_HOSTS. It says
only whether the database and Redis answer, nothing about districts.
"""

from __future__ import annotations

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path != "/healthz":
            return self.get_response(request)
        checks = {"database": _database_ok(), "redis": _redis_ok()}
        status = 200 if all(checks.values()) else 503
        return JsonResponse(checks, status=status)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # noqa: BLE001 - any failure means "not healthy"
        return False
    return True


def _redis_ok() -> bool:
    try:
        cache.get("healthz")
    except Exception:  # noqa: BLE001 - any failure means "not healthy"
        return False
    return True
