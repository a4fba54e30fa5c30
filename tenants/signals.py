"""Signal receivers, connected in ``TenantsConfig.ready``."""

from __future__ import annotations

import time
from typing import Any

from tenants.middleware import SESSION_LOGIN_AT_KEY


def settings_changed(*, setting: str, **kwargs: Any) -> None:
    """Tests override ``FERNET_KEYS``; encrypted fields must stop using the cached keys."""
    if setting in ("FERNET_KEYS", "FERNET_USE_HKDF", "SECRET_KEY"):
        from tenants.services.keys import fernet_caches_clear

        fernet_caches_clear()


def otp_failed(*, user: Any, **kwargs: Any) -> None:
    """A wrong second-factor code is a security event (ASVS 7.2.1): audit it."""
    from tenants.models import AuditEvent
    from tenants.services.audit import actor_label_for, audit_record

    audit_record(
        actor=user,
        actor_label=actor_label_for(user),
        action=AuditEvent.Action.STAFF_OTP_FAILED,
        target="sign-in",
    )


def logged_in(*, request: Any, **kwargs: Any) -> None:
    """Remember when this session signed in, for the absolute session lifetime."""
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_LOGIN_AT_KEY] = int(time.time())


# Receivers with no AppConfig of their own. ``TenantsConfig.ready`` imports this module, so
# importing them here connects the run notifications in every process, workers included.
from tenants.services import notifications  # noqa: E402, F401
