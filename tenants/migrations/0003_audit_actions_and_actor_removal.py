from django.db import migrations, models

# Deleting a staff account makes Django SET NULL the actor of that person's audit rows, an
# UPDATE the 0002 trigger refused, so no account with history could ever be deleted. Allow
# exactly that UPDATE (actor_id to NULL, nothing else changed); actor_label keeps the name.
FORWARD = """
CREATE OR REPLACE FUNCTION tenants_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND OLD.actor_id IS NOT NULL AND NEW.actor_id IS NULL
       AND (to_jsonb(NEW) - 'actor_id') = (to_jsonb(OLD) - 'actor_id') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit events are append-only';
END;
$$ LANGUAGE plpgsql;
"""

BACKWARD = """
CREATE OR REPLACE FUNCTION tenants_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only';
END;
$$ LANGUAGE plpgsql;
"""


class Migration(migrations.Migration):
    dependencies = [("tenants", "0002_auditevent_append_only")]

    operations = [
        migrations.AlterField(
            model_name="auditevent",
            name="action",
            field=models.CharField(
                choices=[
                    ("district.created", "District Created"),
                    ("district.settings_changed", "Settings Changed"),
                    ("district.credentials_changed", "Credentials Changed"),
                    ("credentials.rotated", "Credentials Rotated"),
                    ("intake.created", "Intake Created"),
                    ("intake.submitted", "Intake Submitted"),
                    ("intake.revoked", "Intake Revoked"),
                    ("district.check_run", "Check Run"),
                    ("sync.requested", "Sync Requested"),
                    ("sync.approved", "Sync Approved"),
                    ("sync.discarded", "Sync Discarded"),
                    ("passback.requested", "Passback Requested"),
                    ("evaluation.requested", "Evaluation Requested"),
                    ("conflict.resolved", "Conflict Resolved"),
                    ("staff.otp_enrolled", "Staff Otp Enrolled"),
                    ("staff.otp_failed", "Staff Otp Failed"),
                ],
                max_length=40,
            ),
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
