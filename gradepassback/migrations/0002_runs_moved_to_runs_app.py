"""The run rows moved to the ``runs`` app (same table): the foreign keys follow, state only."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("gradepassback", "0001_initial"),
        ("runs", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="passbackrun",
                    name="run",
                    field=models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="passback",
                        serialize=False,
                        to="runs.syncrun",
                    ),
                ),
                migrations.AlterField(
                    model_name="passbackconflict",
                    name="last_run",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="runs.syncrun",
                    ),
                ),
                migrations.AlterField(
                    model_name="passbackcursor",
                    name="last_run",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="runs.syncrun",
                    ),
                ),
            ],
            database_operations=[],
        ),
    ]
