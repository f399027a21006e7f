"""Database-side rules that no ORM constraint can express.

1. `jumlah_anggota` and `jumlah_ats` on a household follow its members. Statement-level
   triggers with transition tables recompute them once per statement for the households
   touched, so a COPY of 400,000 members costs one set-based UPDATE, not 400,000.
2. A household's survey date is the reference date for ages, so changing it recomputes
   `jumlah_ats` too.
3. Exactly one head of household (SHDK 1) per household. The partial unique index allows
   at most one; this deferred constraint trigger demands at least one when the
   transaction commits (so a household and its members can be written in any order).
"""

from django.db import migrations

FORWARD = r"""
CREATE FUNCTION households_member_counts(ids bigint[])
RETURNS void LANGUAGE sql AS $$
    UPDATE households_household h
    SET jumlah_anggota = c.n, jumlah_ats = c.ats
    FROM (
        SELECT hh.id,
               count(m.id) AS n,
               count(m.id) FILTER (
                   WHERE m.partisipasi_sekolah IN (1, 3)
                     AND extract(year FROM age(hh.tanggal_survei, m.tanggal_lahir)) BETWEEN 7 AND 18
               ) AS ats
        FROM households_household hh
        LEFT JOIN households_member m ON m.household_id = hh.id
        WHERE hh.id = ANY(ids)
        GROUP BY hh.id
    ) c
    WHERE h.id = c.id
      AND (h.jumlah_anggota, h.jumlah_ats) IS DISTINCT FROM (c.n, c.ats);
$$;

CREATE FUNCTION households_members_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM households_member_counts(ARRAY(SELECT DISTINCT household_id FROM new_rows));
    RETURN NULL;
END $$;

CREATE FUNCTION households_members_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM households_member_counts(ARRAY(
        SELECT household_id FROM new_rows UNION SELECT household_id FROM old_rows));
    RETURN NULL;
END $$;

CREATE FUNCTION households_members_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM households_member_counts(ARRAY(SELECT DISTINCT household_id FROM old_rows));
    RETURN NULL;
END $$;

CREATE TRIGGER households_member_counts_ins AFTER INSERT ON households_member
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION households_members_inserted();
CREATE TRIGGER households_member_counts_upd AFTER UPDATE ON households_member
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION households_members_updated();
CREATE TRIGGER households_member_counts_del AFTER DELETE ON households_member
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION households_members_deleted();

CREATE FUNCTION households_survey_date_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT count(*) FILTER (
               WHERE m.partisipasi_sekolah IN (1, 3)
                 AND extract(year FROM age(NEW.tanggal_survei, m.tanggal_lahir)) BETWEEN 7 AND 18)
    INTO NEW.jumlah_ats
    FROM households_member m WHERE m.household_id = NEW.id;
    RETURN NEW;
END $$;

CREATE TRIGGER households_survey_date_changed BEFORE UPDATE OF tanggal_survei
    ON households_household FOR EACH ROW
    WHEN (OLD.tanggal_survei IS DISTINCT FROM NEW.tanggal_survei)
    EXECUTE FUNCTION households_survey_date_changed();

CREATE FUNCTION households_assert_one_head(hid bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    kk varchar;
    heads integer;
BEGIN
    SELECT h.no_kk, (SELECT count(*) FROM households_member m
                     WHERE m.household_id = h.id AND m.hubungan_keluarga = 1)
    INTO kk, heads
    FROM households_household h WHERE h.id = hid;
    -- A household deleted in the same transaction has nothing left to check.
    IF FOUND AND heads <> 1 THEN
        RAISE EXCEPTION 'Rumah tangga KK % harus punya tepat satu kepala keluarga (ada %).', kk, heads
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'household_exactly_one_head',
                  HINT = 'A household must have exactly one head of family (SHDK 1).';
    END IF;
END $$;

CREATE FUNCTION households_household_head_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM households_assert_one_head(NEW.id);
    RETURN NULL;
END $$;

CREATE FUNCTION households_member_head_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM households_assert_one_head(OLD.household_id);
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER household_exactly_one_head
    AFTER INSERT ON households_household
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION households_household_head_check();
-- Only losing a head can break the rule: a second head is refused at once by the partial
-- unique index, and a new household is checked by the trigger above. Firing just for head
-- rows keeps a bulk load of members from queueing one check per member.
CREATE CONSTRAINT TRIGGER member_head_removed
    AFTER DELETE ON households_member
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (OLD.hubungan_keluarga = 1)
    EXECUTE FUNCTION households_member_head_check();
CREATE CONSTRAINT TRIGGER member_head_changed
    AFTER UPDATE OF hubungan_keluarga, household_id ON households_member
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (OLD.hubungan_keluarga = 1
                       AND (NEW.hubungan_keluarga <> 1 OR NEW.household_id <> OLD.household_id))
    EXECUTE FUNCTION households_member_head_check();

-- Room on each page for HOT updates: the member-count triggers rewrite every household
-- they touch, and without free space each rewrite would touch all its indexes.
ALTER TABLE households_household SET (fillfactor = 90);
"""

BACKWARD = r"""
ALTER TABLE households_household RESET (fillfactor);
DROP TRIGGER IF EXISTS member_head_changed ON households_member;
DROP TRIGGER IF EXISTS member_head_removed ON households_member;
DROP TRIGGER IF EXISTS household_exactly_one_head ON households_household;
DROP FUNCTION IF EXISTS households_member_head_check();
DROP FUNCTION IF EXISTS households_household_head_check();
DROP FUNCTION IF EXISTS households_assert_one_head(bigint);
DROP TRIGGER IF EXISTS households_survey_date_changed ON households_household;
DROP FUNCTION IF EXISTS households_survey_date_changed();
DROP TRIGGER IF EXISTS households_member_counts_del ON households_member;
DROP TRIGGER IF EXISTS households_member_counts_upd ON households_member;
DROP TRIGGER IF EXISTS households_member_counts_ins ON households_member;
DROP FUNCTION IF EXISTS households_members_deleted();
DROP FUNCTION IF EXISTS households_members_updated();
DROP FUNCTION IF EXISTS households_members_inserted();
DROP FUNCTION IF EXISTS households_member_counts(bigint[]);
"""


class Migration(migrations.Migration):
    dependencies = [("households", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
