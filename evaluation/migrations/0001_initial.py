"""EvaluationReport and EvaluationRow move here from ``tenants`` (state only).

The tables keep their names (``db_table``), so an existing database keeps every report and
row: nothing is copied. The content types follow the models, so the permission granted as
``tenants.start_evaluation`` stays granted, now as ``evaluation.start_evaluation``.
"""

import django.db.models.deletion
from django.db import migrations, models

MODELS = ("evaluationreport", "evaluationrow")


def _content_types_follow(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    for model in MODELS:
        if content_type.objects.filter(app_label="evaluation", model=model).exists():
            continue
        content_type.objects.filter(app_label="tenants", model=model).update(
            app_label="evaluation"
        )


def _content_types_back(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    content_type.objects.filter(app_label="evaluation", model__in=MODELS).update(
        app_label="tenants"
    )


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("runs", "0001_initial"),
        ("tenants", "0007_district_validation_guard"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='EvaluationReport',
                    fields=[
                        ('run', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='evaluation', serialize=False, to='runs.syncrun')),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('summary', models.JSONField(blank=True, default=dict)),
                        ('risks', models.JSONField(blank=True, default=list)),
                        ('district', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='evaluation_reports', to='tenants.district')),
                    ],
                    options={
                        'db_table': 'tenants_evaluationreport',
                        'ordering': ['-created_at'],
                        'permissions': [('start_evaluation', 'Can start a conversion evaluation')],
                    },
                ),
                migrations.CreateModel(
                    name='EvaluationRow',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('object_type', models.CharField(choices=[('user', 'User'), ('course', 'Course'), ('section', 'Section')], max_length=8)),
                        ('match', models.CharField(choices=[('matched_sis_id', 'Same SIS id'), ('matched_login', 'Same login under another SIS id'), ('matched_email', 'Same e-mail only'), ('ambiguous', 'Several candidates'), ('new', 'New to Canvas'), ('orphan', 'Only in Canvas')], max_length=16)),
                        ('source_id', models.CharField(blank=True, max_length=255)),
                        ('target_sis_id', models.TextField(blank=True)),
                        ('source_login', models.TextField(blank=True)),
                        ('source_email', models.TextField(blank=True)),
                        ('source_name', models.TextField(blank=True)),
                        ('school', models.CharField(blank=True, max_length=255)),
                        ('canvas_id', models.BigIntegerField(blank=True, null=True)),
                        ('canvas_sis_id', models.TextField(blank=True)),
                        ('canvas_login', models.TextField(blank=True)),
                        ('canvas_email', models.TextField(blank=True)),
                        ('canvas_name', models.TextField(blank=True)),
                        ('note', models.TextField(blank=True)),
                        ('report', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='rows', to='evaluation.evaluationreport')),
                    ],
                    options={
                        'db_table': 'tenants_evaluationrow',
                        'ordering': ['id'],
                        'indexes': [models.Index(fields=['report', 'object_type', 'match'], name='evaluationrow_by_class')],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(_content_types_follow, _content_types_back),
    ]
