from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from desapresisi.errors import NotReady

from ...fieldwork.jobs import central_pull
from ...models import ImportJob


class Command(BaseCommand):
    help = (
        "Pull the submissions of the configured ODK Central forms (ODK_CENTRAL_* settings) "
        "and import them as import jobs: approved submissions not imported before. For cron; "
        "--user names the account whose rights the import runs with (default: administrator "
        "rights, every village)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--user", help="username whose import rights apply")
        parser.add_argument("--dry-run", action="store_true", help="validate and count only")

    def handle(self, *args, user: str | None, dry_run: bool, **options):
        account = None
        if user:
            account = get_user_model().objects.filter(username=user).first()
            if account is None:
                raise CommandError(f"No user {user!r}.")
        try:
            jobs = central_pull(user=account, commit=not dry_run)
        except NotReady as exc:
            raise CommandError(str(exc)) from exc
        for job in ImportJob.objects.filter(pk__in=jobs).order_by("pk"):
            self.stdout.write(f"{job.file_name}: {job.status} {job.counts.get('submissions', {})}")
