"""Retention of the audit log (UU PDP 27/2022: no longer than needed). The log stays
append-only for everyone; `desapresisi_audit_purge(keep_days)` alone may delete entries
older than `keep_days` (never fewer than 180): SECURITY DEFINER, owned by the role that runs
the migrations, EXECUTE revoked from PUBLIC, and it leaves an entry saying who purged how
many. The append-only trigger lets a DELETE through only inside it (the transaction-local
flag it sets, while running as the table's owner, which a web role never is)."""

from django.db import migrations, models

APPEND_ONLY = r"""
CREATE OR REPLACE FUNCTION desapresisi_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'desapresisi_auditentry'
       AND current_setting('desapresisi.audit_purge', true) = 'on'
       AND current_user = (SELECT tableowner FROM pg_tables
                           WHERE schemaname = TG_TABLE_SCHEMA AND tablename = TG_TABLE_NAME) THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
"""

PURGE = r"""
CREATE FUNCTION desapresisi_audit_purge(keep_days integer) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    purged bigint;
BEGIN
    IF keep_days IS NULL OR keep_days < 180 THEN
        RAISE EXCEPTION 'audit entries are kept at least 180 days (asked: % days)', keep_days
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM set_config('desapresisi.audit_purge', 'on', true);
    DELETE FROM public.desapresisi_auditentry
    WHERE at < now() - make_interval(days => keep_days);
    GET DIAGNOSTICS purged = ROW_COUNT;
    PERFORM set_config('desapresisi.audit_purge', 'off', true);
    INSERT INTO public.desapresisi_auditentry (at, username, action, path, filters, rows, detail)
    VALUES (now(), session_user, 'purge', '', '{}'::jsonb, purged,
            format('retensi %s hari', keep_days));
    RETURN purged;
END $$;
REVOKE ALL ON FUNCTION desapresisi_audit_purge(integer) FROM PUBLIC;
"""

APPEND_ONLY_BEFORE = r"""
CREATE OR REPLACE FUNCTION desapresisi_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [("desapresisi", "0003_worker_heartbeat")]

    operations = [
        migrations.AlterField(
            model_name="auditentry",
            name="action",
            field=models.CharField(
                choices=[
                    ("unmask", "Membuka NIK/KK"),
                    ("export", "Ekspor data bernama"),
                    ("import", "Impor data"),
                    ("view", "Melihat data bernama"),
                    ("login_failed", "Gagal masuk"),
                    ("denied", "Akses ditolak"),
                    ("purge", "Penghapusan log audit (retensi)"),
                ],
                max_length=20,
                verbose_name="tindakan",
            ),
        ),
        migrations.RunSQL(APPEND_ONLY, APPEND_ONLY_BEFORE),
        migrations.RunSQL(PURGE, "DROP FUNCTION IF EXISTS desapresisi_audit_purge(integer);"),
    ]
