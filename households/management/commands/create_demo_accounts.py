import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

PASSWORD_FILE = Path(settings.BASE_DIR) / ".local" / "demo_password"


class Command(BaseCommand):
    help = (
        "Create (or reset) the demo accounts used with the synthetic demo census. The "
        "password comes from DEMO_PASSWORD, or is generated once and kept in "
        ".local/demo_password (never in the code)."
    )

    def handle(self, *args, **options):
        password = os.environ.get("DEMO_PASSWORD") or self._stored_password()
        user_model = get_user_model()
        admin, _ = user_model.objects.get_or_create(username="admin")
        admin.is_staff = admin.is_superuser = True
        admin.set_password(password)
        admin.save()
        self.stdout.write("Demo accounts (for the SYNTHETIC demo data only):")
        self.stdout.write(f"  admin    / {password}   administrator: everything")

    def _stored_password(self) -> str:
        if PASSWORD_FILE.exists():
            return PASSWORD_FILE.read_text().strip()
        PASSWORD_FILE.parent.mkdir(parents=True, exist_ok=True)
        password = secrets.token_urlsafe(12)
        PASSWORD_FILE.write_text(password + "\n")
        PASSWORD_FILE.chmod(0o600)
        return password
