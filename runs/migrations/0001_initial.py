"""SyncRun and SyncRunLog move here from ``provisioning`` (state only).

The tables keep their names (``db_table``), so an existing database keeps every run and log
line: nothing is copied. The content types follow the models, so permissions granted on
``provisioning.syncrun`` (start, approve) stay granted as ``runs.syncrun``.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def _content_types_follow(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    for model in ("syncrun", "syncrunlog"):
        if content_type.objects.filter(app_label="runs", model=model).exists():
            continue
        content_type.objects.filter(app_label="provisioning", model=model).update(app_label="runs")


def _content_types_back(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    content_type.objects.filter(app_label="runs", model__in=("syncrun", "syncrunlog")).update(
        app_label="provisioning"
    )


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("provisioning", "0007_64_bit_row_fingerprints"),
        ("tenants", "0004_evaluation_report"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='SyncRun',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('delta', 'Delta (changes since the last run)'), ('full', 'Full (everything; what disappeared is dropped)'), ('dry_run', 'Dry run (plan and zip, nothing sent)'), ('passback', 'Grade passback'), ('evaluation', 'Conversion evaluation')], max_length=16)),
                        ('trigger', models.CharField(choices=[('schedule', 'Schedule'), ('manual', 'Manual (console)'), ('cli', 'Command line'), ('api', 'API')], max_length=16)),
                        ('requested_label', models.CharField(blank=True, max_length=150)),
                        ('status', models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('held', 'Held for approval'), ('applying', 'Applying'), ('succeeded', 'Succeeded'), ('failed', 'Failed'), ('discarded', 'Discarded')], default='queued', max_length=16)),
                        ('full_read', models.BooleanField(default=False)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('started_at', models.DateTimeField(blank=True, null=True)),
                        ('finished_at', models.DateTimeField(blank=True, null=True)),
                        ('heartbeat_at', models.DateTimeField(blank=True, null=True)),
                        ('attempts', models.PositiveSmallIntegerField(default=0)),
                        ('since', models.DateTimeField(blank=True, null=True)),
                        ('source_high_water', models.DateTimeField(blank=True, null=True)),
                        ('counts', models.JSONField(blank=True, default=dict)),
                        ('plan_summary', models.JSONField(blank=True, default=dict)),
                        ('held_reason', models.TextField(blank=True)),
                        ('decided_at', models.DateTimeField(blank=True, null=True)),
                        ('canvas_import_id', models.CharField(blank=True, max_length=32)),
                        ('canvas_import_state', models.CharField(blank=True, max_length=32)),
                        ('canvas_messages', models.JSONField(blank=True, default=list)),
                        ('error', models.TextField(blank=True)),
                        ('dry_run_zip', models.FileField(blank=True, upload_to='provisioning/dry-runs/')),
                        ('decided_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('district', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='sync_runs', to='tenants.district')),
                        ('requested_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'provisioning_syncrun',
                        'ordering': ['-created_at', '-id'],
                        'permissions': [('start_syncrun', 'Can start a sync from the console'), ('approve_syncrun', 'Can approve or discard a held sync')],
                        'indexes': [
                            models.Index(fields=['district', '-created_at'], name='syncrun_district_recent'),
                            models.Index(condition=models.Q(('status__in', ['queued', 'running', 'applying'])), fields=['status', 'heartbeat_at'], name='syncrun_live_by_heartbeat'),
                        ],
                        'constraints': [
                            models.UniqueConstraint(condition=models.Q(('status__in', ['queued', 'running', 'held', 'applying'])), fields=('district',), name='syncrun_one_active_per_district'),
                            models.CheckConstraint(condition=models.Q(('kind__in', ['delta', 'full', 'dry_run', 'passback', 'evaluation'])), name='syncrun_kind_known'),
                            models.CheckConstraint(condition=models.Q(('status__in', ['queued', 'running', 'held', 'applying', 'succeeded', 'failed', 'discarded'])), name='syncrun_status_known'),
                        ],
                    },
                ),
                migrations.CreateModel(
                    name='SyncRunLog',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('level', models.CharField(choices=[('info', 'Info'), ('warning', 'Warning'), ('error', 'Error')], default='info', max_length=8)),
                        ('message', models.TextField()),
                        ('run', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='log_lines', to='runs.syncrun')),
                    ],
                    options={
                        'db_table': 'provisioning_syncrunlog',
                        'ordering': ['id'],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(_content_types_follow, _content_types_back),
    ]
