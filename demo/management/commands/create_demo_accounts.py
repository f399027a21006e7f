import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from desapresisi.models import AccessProfile, Role

PASSWORD_FILE = Path(settings.BASE_DIR) / ".local" / "demo_password"

# One account per role, for the synthetic demo census of PPU (64.09).
DEMO_ACCOUNTS = [
    ("admin", None, [], False, "administrator: everything, the Django admin, the audit log"),
    ("analis", Role.ANALYST, ["64.09"], True,
     "SKPD analyst for all of PPU: named records (NIK/KK masked, may unmask), exports"),
    ("pejabat", Role.OFFICIAL, ["64.09"], False,
     "official: dashboards and household points, no names and no NIK/KK"),
    ("operator", Role.OPERATOR, ["64.09.01.1001"], False,
     "operator of Kelurahan Tanjung Tengah: reads and edits that village only"),
]  # fmt: skip


class Command(BaseCommand):
    help = (
        "Create (or reset) one demo account per role for the synthetic demo census. The "
        "password comes from DEMO_PASSWORD, or is generated once and kept in "
        ".local/demo_password (never in the code)."
    )

    @transaction.atomic
    def handle(self, *args, **options):
        password = os.environ.get("DEMO_PASSWORD") or self._stored_password()
        user_model = get_user_model()
        self.stdout.write("Demo accounts (for the SYNTHETIC demo data only):")
        for username, role, areas, can_unmask, description in DEMO_ACCOUNTS:
            user, _ = user_model.objects.get_or_create(username=username)
            user.is_staff = user.is_superuser = role is None
            user.set_password(password)
            user.save()
            if role is None:
                AccessProfile.objects.filter(user=user).delete()
            else:
                AccessProfile.objects.update_or_create(
                    user=user,
                    defaults={"role": role, "areas": areas, "can_unmask": can_unmask},
                )
            self.stdout.write(f"  {username:<9} / {password}   {description}")
        self.stdout.write("The anonymous public sees aggregate village indicators only.")

    def _stored_password(self) -> str:
        if PASSWORD_FILE.exists():
            return PASSWORD_FILE.read_text().strip()
        PASSWORD_FILE.parent.mkdir(parents=True, exist_ok=True)
        password = secrets.token_urlsafe(12)
        PASSWORD_FILE.write_text(password + "\n")
        PASSWORD_FILE.chmod(0o600)
        return password
