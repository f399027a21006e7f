import csv
import datetime as dt
import os
from collections import Counter
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override
from openpyxl import Workbook

from desapresisi import audit
from desapresisi.access import role_of
from desapresisi.models import AuditAction, AuditEntry

User = get_user_model()
# Named-record access by default: what the data protection officer answers for.
DEFAULT_ACTIONS = [AuditAction.VIEW, AuditAction.EXPORT, AuditAction.UNMASK, AuditAction.IMPORT]


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"{text!r} is not a date (YYYY-MM-DD)") from exc


class Command(BaseCommand):
    help = (
        "For the data protection officer (UU PDP 27/2022): who viewed, exported, unmasked or "
        "imported named records in a period, from the audit log, as CSV or XLSX (the file "
        "is created readable by its owner only). Producing the report is itself audited."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD")
        parser.add_argument("--to", dest="end", required=True, help="last day, YYYY-MM-DD")
        parser.add_argument("--user", help="only this user name")
        parser.add_argument(
            "--actions",
            default=",".join(DEFAULT_ACTIONS),
            help=f"comma-separated, of: {', '.join(AuditAction.values)}",
        )
        parser.add_argument("--output", required=True, help="a .csv or .xlsx file to write")
        parser.add_argument("--language", default="id", choices=["id", "en"])

    def handle(self, *args, start, end, user, actions, output, language, **options):
        first, last = _day(start), _day(end)
        if last < first:
            raise CommandError("--to is before --from")
        wanted = [action.strip() for action in actions.split(",") if action.strip()]
        unknown = sorted(set(wanted) - set(AuditAction.values))
        if unknown:
            raise CommandError(f"unknown action(s): {', '.join(unknown)}")
        path = Path(output)
        if path.suffix.lower() not in (".csv", ".xlsx"):
            raise CommandError("--output must end in .csv or .xlsx")
        zone = timezone.get_current_timezone()
        entries = AuditEntry.objects.filter(
            at__gte=dt.datetime.combine(first, dt.time.min, tzinfo=zone),
            at__lt=dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min, tzinfo=zone),
            action__in=wanted,
        ).order_by("at", "id")
        if user:
            entries = entries.filter(username=user)
        with override(language):
            header = [_("Waktu"), _("Pengguna"), _("Peran"), _("Alamat IP"), _("Tindakan"),
                      _("Halaman"), _("Filter"), _("Jumlah baris"), _("Keterangan")]  # fmt: skip
            labels = dict(AuditAction.choices)
            rows, counts = [], Counter()
            roles: dict[int | None, str] = {}
            for entry in entries.iterator():
                if entry.user_id not in roles:
                    # The user may have been deleted since: the entry keeps the name.
                    account = User.objects.filter(pk=entry.user_id).first()
                    roles[entry.user_id] = (role_of(account) or "") if account else ""
                counts[(entry.username, entry.action)] += entry.rows
                rows.append([
                    timezone.localtime(entry.at).strftime("%Y-%m-%d %H:%M:%S"), entry.username,
                    roles[entry.user_id], entry.address or "", str(labels[entry.action]),
                    entry.path, _filters(entry.filters), entry.rows, entry.detail,
                ])  # fmt: skip
            sheet = _("Akses data pribadi")
        self._write(path, header, rows, sheet)
        audit.record(
            action=AuditAction.EXPORT,
            rows=len(rows),
            filters={"from": start, "to": end, "user": user or "", "actions": wanted},
            detail="laporan akses data pribadi (audit_report)",
        )
        self.stdout.write(f"{len(rows)} entries written to {path}")
        for (username, action), total in sorted(counts.items()):
            self.stdout.write(f"  {username or '-'}: {action} {total} rows")

    def _write(self, path: Path, header: list, rows: list, title: str) -> None:
        # Created 0600: the report names users and addresses.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        if path.suffix.lower() == ".csv":
            with os.fdopen(descriptor, "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(header)
                writer.writerows(rows)
            return
        book = Workbook(write_only=True)
        sheet = book.create_sheet(title)
        sheet.append(header)
        for row in rows:
            sheet.append(row)
        with os.fdopen(descriptor, "wb") as handle:
            book.save(handle)


def _filters(filters: dict) -> str:
    return "; ".join(
        f"{key}={','.join(map(str, value)) if isinstance(value, list) else value}"
        for key, value in sorted((filters or {}).items())
    )
