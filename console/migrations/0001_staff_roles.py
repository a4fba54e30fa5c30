"""The staff roles as groups: CSM, Operator and Viewer (tenants.permissions says what each
capability needs). Re-running keeps a group's other permissions; it only adds the role's.

Permissions are normally created after migrations (post_migrate), so this creates them first
for the apps it needs.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

VIEW = [
    ("tenants", "view_district"),
    ("tenants", "view_intakelink"),
    ("tenants", "view_auditevent"),
    ("tenants", "view_stagedcredentials"),
    ("runs", "view_syncrun"),
    ("runs", "view_syncrunlog"),
    ("provisioning", "view_conflict"),
    ("gradepassback", "view_passbackrun"),
    ("gradepassback", "view_passbackcourse"),
    ("gradepassback", "view_passbackconflict"),
    ("gradepassback", "view_categoryoverride"),
    ("evaluation", "view_evaluationreport"),
]
ROLES = {
    # Onboarding: districts, intake links, the connection check, credential reviews and the
    # conversion evaluation (whose detail export is student-level, so CSMs may download it).
    "CSM": VIEW
    + [
        ("tenants", "add_district"),
        ("tenants", "change_district"),
        ("tenants", "check_district"),
        ("tenants", "add_intakelink"),
        ("tenants", "change_intakelink"),
        ("tenants", "approve_stagedcredentials"),
        ("tenants", "export_student_data"),
        ("evaluation", "start_evaluation"),
    ],
    # Running: syncs and passback, approving held runs, conflicts, run zips.
    "Operator": VIEW
    + [
        ("runs", "start_syncrun"),
        ("runs", "approve_syncrun"),
        ("gradepassback", "start_passback"),
        ("provisioning", "change_conflict"),
        ("gradepassback", "change_passbackconflict"),
        ("tenants", "export_student_data"),
    ],
    # Read-only, and no student-level export.
    "Viewer": VIEW,
}
APPS = ("tenants", "runs", "provisioning", "gradepassback", "evaluation")


def create_roles(apps, schema_editor):
    for label in APPS:
        config = apps.get_app_config(label)
        config.models_module = True
        create_permissions(config, verbosity=0, apps=apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, wanted in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        for app_label, codename in wanted:
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )


def drop_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("tenants", "0009_staged_credentials_permissions_scoping"),
        ("runs", "0002_phase_progress_cancelled"),
        ("provisioning", "0009_conflict_observer_unknown_student"),
        ("gradepassback", "0002_runs_moved_to_runs_app"),
        ("evaluation", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, drop_roles)]
