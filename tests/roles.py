"""The staff role groups (CSM, Operator, Viewer) for tests.

A data migration creates them, but a test on ``transactional_db`` empties every table when
it ends: permissions come back (``post_migrate``), the groups do not. So a later test in the
same process, on ``db``, gets them here, made from the migration's own table of roles.
"""

from __future__ import annotations

import importlib

from django.contrib.auth.models import Group, Permission

ROLES = importlib.import_module("console.migrations.0001_staff_roles").ROLES


def role_group(name: str) -> Group:
    group, created = Group.objects.get_or_create(name=name)
    if created:
        group.permissions.add(
            *(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
                for app_label, codename in ROLES[name]
            )
        )
    return group
