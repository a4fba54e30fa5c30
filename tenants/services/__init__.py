"""Tenant services: every change to a district goes through here and is audited.

Submodules: ``audit`` (the audit writer), ``districts`` (create, settings, credentials),
``intake`` (one-time credential links), ``connection_check``, ``keys`` (encryption key
rotation), ``validation`` (upstream address rules), ``ratelimit``.
"""

from tenants.services.audit import actor_label_for, audit_record
from tenants.services.districts import (
    district_create,
    district_credentials_set,
    district_update,
    mask_secret,
    partner_credentials_set,
)
from tenants.services.keys import credential_key_usage, credential_keys_rotate

__all__ = [
    "actor_label_for",
    "audit_record",
    "credential_key_usage",
    "credential_keys_rotate",
    "district_create",
    "district_credentials_set",
    "district_update",
    "mask_secret",
    "partner_credentials_set",
]
