"""The operations console: the pages CSM staff and district admins work in.

``views`` are thin: reads go through ``selectors`` (and the apps' own selectors), changes
through the tenants, provisioning, grade passback and evaluation services, which validate
and audit. ``access`` keeps every page staff-only with a verified second factor.
"""
