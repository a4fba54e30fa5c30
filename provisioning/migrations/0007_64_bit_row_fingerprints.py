"""Row fingerprints as 64-bit PostgreSQL hashes of the typed values instead of MD5 text.

The roster mirror gets its ``content_hash`` back as a ``bigint``; the Canvas mirror's
``row_hash`` changes type, each existing row re-hashed (the plan compares it with the
projection's hash, so old MD5 values would make every row look changed once).
"""

from django.db import migrations, models

ROSTER_FIELDS = {
    "rosterorg": "name, type, identifier, parent",
    "rostersession": "title, type, start_date, end_date, school_year, parent",
    "rostercourse": "title, course_code, org, school_year",
    "rosterclass": "title, class_code, class_type, course, school, terms",
    "rosteruser": (
        "enabled_user, username, given_name, family_name, role, orgs, identifier, email, agents"
    ),
    "rosterenrollment": (
        "user_sid, class_sid, school, role, is_primary, begin_date, end_date"
    ),
}


def _roster_hash(model: str, fields: str) -> list:
    table = f"provisioning_{model}"
    return [
        migrations.AddField(
            model_name=model,
            name="content_hash",
            field=models.BigIntegerField(default=0),
            preserve_default=False,
        ),
        migrations.RunSQL(
            f"UPDATE {table} SET content_hash = hash_record_extended(ROW({fields}), 0)",
            migrations.RunSQL.noop,
        ),
    ]


class Migration(migrations.Migration):
    dependencies = [
        ("provisioning", "0006_roster_without_content_hash"),
    ]

    operations = [
        *(op for model, fields in ROSTER_FIELDS.items() for op in _roster_hash(model, fields)),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="canvasrow",
                    name="row_hash",
                    field=models.BigIntegerField(),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    "ALTER TABLE provisioning_canvasrow ALTER COLUMN row_hash TYPE bigint "
                    "USING hash_array_extended(row, 0)",
                    "ALTER TABLE provisioning_canvasrow ALTER COLUMN row_hash TYPE varchar(32) "
                    "USING md5(row::text)",
                ),
            ],
        ),
    ]
