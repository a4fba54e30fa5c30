"""Tenant services: every change to a district goes through here and is audited.

Submodules: ``audit`` (the audit writer), ``districts`` (create, settings, credentials),
``intake`` (one-time credential links), ``connection_check``, ``clients`` (a district's
upstream clients), ``keys`` (encryption key rotation), ``validation`` (upstream address
rules), ``ratelimit``. Import from the submodule: the package loads none of them, so a
submodule never drags in the others (and no import circle runs through here).
"""
