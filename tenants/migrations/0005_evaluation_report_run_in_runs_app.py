"""The run rows moved to the ``runs`` app (same table): the report's key follows, state only."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("tenants", "0004_evaluation_report"),
        ("runs", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="evaluationreport",
                    name="run",
                    field=models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="evaluation",
                        serialize=False,
                        to="runs.syncrun",
                    ),
                ),
            ],
            database_operations=[],
        ),
    ]
