"""Absolute session lifetime: sign out a session ``SESSION_ABSOLUTE_AGE`` after sign-in.

``SESSION_COOKIE_AGE`` with ``SESSION_SAVE_EVERY_REQUEST`` gives the idle timeout; Django
has no cap on a session kept alive by activity, which ASVS 3.3.2 asks for.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

SESSION_LOGIN_AT_KEY = "rosterbridge_login_at"


class SessionAbsoluteTimeoutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            login_at = request.session.get(SESSION_LOGIN_AT_KEY)
            if login_at is None or time.time() - login_at > settings.SESSION_ABSOLUTE_AGE:
                logout(request)
        return self.get_response(request)
