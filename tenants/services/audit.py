"""The audit log writer. Every service that changes something a person cares about calls it
inside its own transaction, so a change never exists without its row (and vice versa)."""

from __future__ import annotations

import datetime as dt
import decimal
import getpass
from typing import TYPE_CHECKING, Any

from tenants.models import SECRET_FIELDS, AuditEvent

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from tenants.models import District

#: What a secret's before/after shows in an audit row: that it changed, never the value.
SECRET_CHANGED = "(changed)"  # noqa: S105


def audit_value(value: Any) -> Any:
    """A JSON-safe rendering of a field value for ``AuditEvent.changes``."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [audit_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): audit_value(v) for k, v in value.items()}
    return str(value)


def audit_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """``field → [before, after]`` for the fields that differ; secrets as ``"(changed)"``."""
    changes: dict[str, Any] = {}
    for name in after:
        if before.get(name) == after[name]:
            continue
        if name in SECRET_FIELDS:
            changes[name] = SECRET_CHANGED
        else:
            changes[name] = [audit_value(before.get(name)), audit_value(after[name])]
    return changes


def actor_label_for(user: AbstractBaseUser | None, *, default: str = "system") -> str:
    """The words that identify an actor after the account is gone: the username."""
    if user is None or not user.is_authenticated:
        return default
    return user.get_username()


def cli_actor_label() -> str:
    """The actor of a management command: ``cli (<login>)``, or ``cli`` when the process has
    no login name (a container started with a bare numeric uid)."""
    try:
        return f"cli ({getpass.getuser()})"
    except (KeyError, OSError):
        return "cli"


def audit_record(
    *,
    actor: AbstractBaseUser | None,
    actor_label: str,
    action: str,
    district: District | None = None,
    target: str = "",
    changes: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit row. Call it inside the transaction of the change it records.

    ``changes`` must already be free of secret values (build it with ``audit_changes``).
    """
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_label=actor_label or actor_label_for(actor),
        action=action,
        district=district,
        target=target[:200],
        changes=audit_value(changes or {}),
    )
