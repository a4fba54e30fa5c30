"""The client's address, for login throttling and the intake rate limit.

Behind ``TRUSTED_PROXY_COUNT`` reverse proxies, each proxy appends the address it received
the request from to ``X-Forwarded-For``; the client is the entry that many places from the
right. Entries further left are whatever the client sent and cannot be trusted. With no
proxies configured the header is ignored, so a client cannot spoof its address.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR")
