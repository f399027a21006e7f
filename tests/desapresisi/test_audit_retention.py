"""Personal-data duties: the audit log is kept AUDIT_RETENTION_DAYS and then purged by the
maintenance role only (never under 180 days, the purge itself recorded), and the data
protection officer's report says who viewed, exported or unmasked named records."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from openpyxl import load_workbook

from desapresisi import audit
from desapresisi.models import AuditAction, AuditEntry
from tests.conftest import make_user
from tests.factories import PENAJAM_KELURAHAN, HouseholdFactory

pytestmark = pytest.mark.django_db


def _entry(days_ago: int, action=AuditAction.UNMASK, username="analis-a", rows=3, **extra):
    entry = audit.record(action=action, rows=rows, **extra)
    # `at` is set on insert; moving it back needs an UPDATE, which the table refuses: the
    # test writes its past entries with the trigger's permission instead (as the owner).
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE desapresisi_auditentry DISABLE TRIGGER audit_append_only")
        cursor.execute(
            "UPDATE desapresisi_auditentry SET at = %s, username = %s WHERE id = %s",
            [timezone.now() - dt.timedelta(days=days_ago), username, entry.pk],
        )
        cursor.execute("ALTER TABLE desapresisi_auditentry ENABLE TRIGGER audit_append_only")
    return entry


def test_the_audit_log_refuses_a_plain_delete():
    _entry(1000)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.all().delete()
    # Setting the purge flag oneself does not help: only the purge function may delete.
    # A role that may delete rows but does not own the table: the web role of docs/database.md.
    with connection.cursor() as cursor:
        cursor.execute("CREATE ROLE uji_peran_web")
        cursor.execute("GRANT SELECT, DELETE ON desapresisi_auditentry TO uji_peran_web")
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SET LOCAL ROLE uji_peran_web")
        cursor.execute("SELECT set_config('desapresisi.audit_purge', 'on', true)")
        cursor.execute("DELETE FROM desapresisi_auditentry")
    with (  # nor may it run the purge
        pytest.raises(DatabaseError, match="permission denied"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SET LOCAL ROLE uji_peran_web")
        cursor.execute("SELECT desapresisi_audit_purge(365)")


def test_purge_deletes_only_what_is_older_than_the_retention_and_says_so(settings):
    settings.AUDIT_RETENTION_DAYS = 365
    old, recent = _entry(400), _entry(300)
    out = io.StringIO()
    call_command("purge_audit", stdout=out)
    assert "older than 365 days deleted: 1" in out.getvalue()
    assert not AuditEntry.objects.filter(pk=old.pk).exists()
    assert AuditEntry.objects.filter(pk=recent.pk).exists()
    purge = AuditEntry.objects.get(action=AuditAction.PURGE)
    assert (purge.rows, purge.detail) == (1, "retensi 365 hari")


def test_purge_never_keeps_less_than_180_days():
    _entry(200)
    with pytest.raises(CommandError, match="at least 180 days"):
        call_command("purge_audit", keep_days=90, stdout=io.StringIO())
    assert AuditEntry.objects.count() == 1


def test_the_officer_report_lists_named_record_access_in_the_period(tmp_path):
    make_user("analis-a", role="analis", areas=["64.09"])
    _entry(40, action=AuditAction.EXPORT, rows=120, filters={"region": ["64.09.01"]})
    _entry(10, action=AuditAction.UNMASK, rows=4)
    _entry(10, action=AuditAction.LOGIN_FAILED, rows=0)  # not named-record access
    _entry(10, action=AuditAction.UNMASK, username="operator-b", rows=2)
    today = timezone.localdate()
    start = (today - dt.timedelta(days=20)).isoformat()
    output = tmp_path / "akses.csv"
    out = io.StringIO()
    call_command("audit_report", "--from", start, "--to", today.isoformat(),
                 "--output", str(output), stdout=out)  # fmt: skip
    rows = list(csv.reader(output.open(encoding="utf-8")))
    assert rows[0][:5] == ["Waktu", "Pengguna", "Peran", "Alamat IP", "Tindakan"]
    assert sorted((r[1], r[4], r[7]) for r in rows[1:]) == [
        ("analis-a", "Membuka NIK/KK", "4"),
        ("operator-b", "Membuka NIK/KK", "2"),
    ]
    assert oct(output.stat().st_mode & 0o777) == "0o600"
    # Producing the report is itself in the audit log.
    assert AuditEntry.objects.filter(detail__startswith="laporan akses").count() == 1
    xlsx = tmp_path / "akses.xlsx"
    call_command("audit_report", "--from", start, "--to", today.isoformat(), "--user", "analis-a",
                 "--output", str(xlsx), "--language", "en", stdout=io.StringIO())  # fmt: skip
    sheet = load_workbook(xlsx).active
    values = list(sheet.values)
    assert values[0][:2] == ("Time", "User") and len(values) == 2 and values[1][1] == "analis-a"


def test_the_officer_report_names_what_is_wrong_with_its_arguments(tmp_path):
    with pytest.raises(CommandError, match="not a date"):
        call_command("audit_report", "--from", "kemarin", "--to", "2026-12-01",
                     "--output", str(tmp_path / "a.csv"))  # fmt: skip
    with pytest.raises(CommandError, match="unknown action"):
        call_command("audit_report", "--from", "2026-11-01", "--to", "2026-12-01",
                     "--actions", "lihat", "--output", str(tmp_path / "a.csv"))  # fmt: skip
    with pytest.raises(CommandError, match=r"\.csv or \.xlsx"):
        call_command("audit_report", "--from", "2026-11-01", "--to", "2026-12-01",
                     "--output", str(tmp_path / "a.pdf"))  # fmt: skip


def test_every_answer_with_names_is_a_view_in_the_officer_report(tmp_path, client):
    household = HouseholdFactory(region_id=PENAJAM_KELURAHAN)
    analyst = make_user("analis-laporan", role="analis", areas=["64.09"])
    official = make_user("pejabat-laporan", role="pejabat", areas=["64.09"])
    client.force_login(analyst)
    assert client.get(f"/api/v1/households/{household.pk}/").status_code == 200
    assert client.get("/api/v1/members/").status_code == 200
    client.force_login(official)  # no names: nothing to record
    assert client.get("/api/v1/households/").status_code == 200
    views = AuditEntry.objects.filter(action=AuditAction.VIEW)
    assert sorted((v.username, v.rows) for v in views) == [
        ("analis-laporan", 1),
        ("analis-laporan", 2),
    ]
    output = tmp_path / "lihat.csv"
    today = timezone.localdate().isoformat()
    call_command("audit_report", "--from", today, "--to", today, "--actions", "view",
                 "--output", str(output), stdout=io.StringIO())  # fmt: skip
    rows = list(csv.reader(output.open(encoding="utf-8")))[1:]
    assert {r[5] for r in rows} == {f"/api/v1/households/{household.pk}/", "/api/v1/members/"}
