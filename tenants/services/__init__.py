"""Tenant services: every change to a district goes through here and is audited.

Submodules: ``audit`` (the audit writer), ``districts`` (create, settings, credentials),
``intake`` (one-time credential links), ``connection_check``, ``keys`` (encryption key
rotation), ``validation`` (upstream address rules), ``ratelimit``.
"""

from tenants.services.audit import actor_label_for, audit_record
from tenants.services.connection_check import CheckReport, CheckStep, district_check
from tenants.services.districts import (
    district_create,
    district_credentials_set,
    district_update,
    mask_secret,
    partner_credentials_set,
)
from tenants.services.intake import (
    IntakeLinkClosed,
    intake_link_create,
    intake_link_revoke,
    intake_link_submit,
    intake_link_url,
)
from tenants.services.keys import credential_key_usage, credential_keys_rotate

__all__ = [
    "CheckReport",
    "CheckStep",
    "IntakeLinkClosed",
    "actor_label_for",
    "audit_record",
    "credential_key_usage",
    "credential_keys_rotate",
    "district_check",
    "district_create",
    "district_credentials_set",
    "district_update",
    "intake_link_create",
    "intake_link_revoke",
    "intake_link_submit",
    "intake_link_url",
    "mask_secret",
    "partner_credentials_set",
]
