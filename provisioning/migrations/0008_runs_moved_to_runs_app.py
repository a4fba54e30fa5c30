"""SyncRun and SyncRunLog now belong to the ``runs`` app (``runs.0001``); their tables stay.

State only: the conflicts' foreign key points at the same table under its new model, and
the two models leave this app's state. Runs after every app that pointed at them moved.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("provisioning", "0007_64_bit_row_fingerprints"),
        ("runs", "0001_initial"),
        ("gradepassback", "0002_runs_moved_to_runs_app"),
        ("tenants", "0005_evaluation_report_run_in_runs_app"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="conflict",
                    name="last_run",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="runs.syncrun",
                    ),
                ),
                migrations.DeleteModel(name="SyncRunLog"),
                migrations.DeleteModel(name="SyncRun"),
            ],
            database_operations=[],
        ),
    ]
