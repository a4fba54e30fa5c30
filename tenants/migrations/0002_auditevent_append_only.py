from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION tenants_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER tenants_auditevent_no_update_or_delete
    BEFORE UPDATE OR DELETE ON tenants_auditevent
    FOR EACH ROW EXECUTE FUNCTION tenants_auditevent_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS tenants_auditevent_no_update_or_delete ON tenants_auditevent;
DROP FUNCTION IF EXISTS tenants_auditevent_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("tenants", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
