"""Encryption keys for stored secrets: rotation to the newest key, and which key holds what.

``FERNET_KEYS`` lists keys newest first: the first encrypts, every key decrypts. To retire a
key: put the new key first, run ``manage.py rotate_credential_keys`` (which re-encrypts every
secret with the newest key), confirm the old key protects nothing any more, then drop it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from cryptography.fernet import Fernet, InvalidToken
from django.apps import apps
from django.conf import settings
from django.db import connection, models, transaction
from fernet_fields import EncryptedField
from fernet_fields.hkdf import derive_fernet_key

from tenants.models import AuditEvent
from tenants.services.audit import audit_record

#: Cached properties django-fernet-fields keeps per field instance, computed from settings.
_FIELD_CACHES = ("keys", "fernet_keys", "fernet")


@dataclass
class RotationReport:
    """What a rotation did: values re-encrypted per ``app_label.Model``."""

    rows: dict[str, int] = field(default_factory=dict)
    values: int = 0


def encrypted_fields() -> list[tuple[type[models.Model], list[EncryptedField]]]:
    """Every model with encrypted fields, and those fields (District, PartnerCredential, …)."""
    found = []
    for model in apps.get_models():
        fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedField)]
        if fields:
            found.append((model, fields))
    return found


def fernet_caches_clear() -> None:
    """Make every encrypted field re-read ``FERNET_KEYS``.

    django-fernet-fields builds its ``MultiFernet`` once per field and caches it on the field
    instance, so a changed setting (tests, or a long-lived shell) would otherwise go unseen.
    """
    for _model, fields in encrypted_fields():
        for f in fields:
            for name in _FIELD_CACHES:
                f.__dict__.pop(name, None)


def key_fingerprint(key: str) -> str:
    """A short, non-reversible name for a key, safe to print."""
    return hashlib.sha256(key.encode()).hexdigest()[:8]


def _fernet_for(key: str) -> Fernet:
    if getattr(settings, "FERNET_USE_HKDF", True):
        return Fernet(derive_fernet_key(key))
    return Fernet(key)


def credential_key_usage() -> dict[str, int]:
    """How many stored secrets each configured key decrypts, by fingerprint, newest first.

    A key at 0 can be removed from ``FERNET_KEYS``; ``"unreadable"`` counts values no
    configured key opens (a key was dropped too early).
    """
    keys = list(settings.FERNET_KEYS)
    fernets = [(key_fingerprint(k), _fernet_for(k)) for k in keys]
    usage = {fingerprint: 0 for fingerprint, _ in fernets}
    usage["unreadable"] = 0
    for model, fields in encrypted_fields():
        # Raw ciphertext: the ORM would decrypt through the field and hide which key it was.
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        table = connection.ops.quote_name(model._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {columns} FROM {table}")  # noqa: S608 - names from model meta
            for raw in cursor.fetchall():
                for token in raw:
                    if token is not None:
                        usage[_key_of(bytes(token), fernets)] += 1
    return usage


def _key_of(token: bytes, fernets: list[tuple[str, Fernet]]) -> str:
    for fingerprint, fernet in fernets:
        try:
            fernet.decrypt(token)
        except InvalidToken:
            continue
        return fingerprint
    return "unreadable"


def credential_keys_rotate() -> RotationReport:
    """Re-encrypt every stored secret with the newest key, in one transaction.

    Writes one ``credentials.rotated`` audit row with the counts (never a value). Saving goes
    through ``QuerySet.update`` so ``updated_at`` and other fields stay as they were.
    """
    fernet_caches_clear()
    report = RotationReport()
    with transaction.atomic():
        for model, fields in encrypted_fields():
            label = model._meta.label
            names = [f.name for f in fields]
            queryset = model._default_manager.select_for_update().order_by("pk")
            for row in queryset.values("pk", *names).iterator():
                present = {name: row[name] for name in names if row[name] is not None}
                if not present:
                    continue
                model._default_manager.filter(pk=row["pk"]).update(**present)
                report.rows[label] = report.rows.get(label, 0) + 1
                report.values += len(present)
        audit_record(
            actor=None,
            actor_label="system",
            action=AuditEvent.Action.CREDENTIALS_ROTATED,
            target=f"newest key {key_fingerprint(settings.FERNET_KEYS[0])}",
            changes={"rows": report.rows, "values": report.values},
        )
    return report
