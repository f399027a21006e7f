"""Every write to households or members marks its village's indicator values stale.

Statement-level triggers with transition tables add the touched villages to
`households_dirtyregion` once per statement, so a COPY of a census costs one INSERT;
`indicators_refresh` recomputes those villages (and their ancestors) and clears them.
An edit through the admin, the API, an import or raw SQL is never missed.
"""

from django.db import migrations

FORWARD = r"""
CREATE FUNCTION households_dirty_from_households() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO households_dirtyregion (region_id)
    SELECT DISTINCT region_id FROM changed ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

CREATE FUNCTION households_dirty_from_household_updates() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO households_dirtyregion (region_id)
    SELECT region_id FROM old_rows UNION SELECT region_id FROM new_rows
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

CREATE FUNCTION households_dirty_from_members() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO households_dirtyregion (region_id)
    SELECT DISTINCT h.region_id FROM changed c JOIN households_household h ON h.id = c.household_id
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

CREATE FUNCTION households_dirty_from_member_updates() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO households_dirtyregion (region_id)
    SELECT h.region_id FROM households_household h
    WHERE h.id IN (SELECT household_id FROM old_rows UNION SELECT household_id FROM new_rows)
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

CREATE TRIGGER households_dirty_ins AFTER INSERT ON households_household
    REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION households_dirty_from_households();
CREATE TRIGGER households_dirty_del AFTER DELETE ON households_household
    REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION households_dirty_from_households();
CREATE TRIGGER households_dirty_upd AFTER UPDATE ON households_household
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION households_dirty_from_household_updates();

CREATE TRIGGER members_dirty_ins AFTER INSERT ON households_member
    REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION households_dirty_from_members();
CREATE TRIGGER members_dirty_del AFTER DELETE ON households_member
    REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION households_dirty_from_members();
CREATE TRIGGER members_dirty_upd AFTER UPDATE ON households_member
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION households_dirty_from_member_updates();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS members_dirty_upd ON households_member;
DROP TRIGGER IF EXISTS members_dirty_del ON households_member;
DROP TRIGGER IF EXISTS members_dirty_ins ON households_member;
DROP TRIGGER IF EXISTS households_dirty_upd ON households_household;
DROP TRIGGER IF EXISTS households_dirty_del ON households_household;
DROP TRIGGER IF EXISTS households_dirty_ins ON households_household;
DROP FUNCTION IF EXISTS households_dirty_from_member_updates();
DROP FUNCTION IF EXISTS households_dirty_from_members();
DROP FUNCTION IF EXISTS households_dirty_from_household_updates();
DROP FUNCTION IF EXISTS households_dirty_from_households();
"""


class Migration(migrations.Migration):
    dependencies = [("households", "0003_indicators")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
