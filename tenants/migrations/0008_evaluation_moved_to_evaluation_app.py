"""EvaluationReport and EvaluationRow now belong to the ``evaluation`` app
(``evaluation.0001``); their tables stay. State only."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("tenants", "0007_district_validation_guard"),
        ("evaluation", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="EvaluationRow"),
                migrations.DeleteModel(name="EvaluationReport"),
            ],
            database_operations=[],
        ),
    ]
