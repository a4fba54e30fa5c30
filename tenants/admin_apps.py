"""The admin app config that makes ``admin.site`` our OTP-aware site for every app."""

from __future__ import annotations

from django.contrib.admin.apps import AdminConfig


class ConsoleAdminConfig(AdminConfig):
    default_site = "tenants.admin_site.ConsoleAdminSite"
